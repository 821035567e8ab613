import keras
import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import toy_images
from tfaug import augment, models
from tfaug.augment import norms
from tfaug.augment.adversarial import predicted_targets
from tfaug.errors import ConfigError
from tfaug.flows import Glow, GlowConfig

SEED = tf.constant([1, 2])


@pytest.fixture(scope="module")
def flow():
    glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
    glow.initialize(_images(32))
    return glow


@pytest.fixture(scope="module")
def classifier():
    """A tiny CNN briefly trained to tell blobs in the top half from the bottom."""
    keras.utils.set_random_seed(0)
    model = models.small_cnn((8, 8, 1), 2, width=0.25)
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = _images(256, seed=3)
    y = (tf.reduce_sum(x[:, :4], [1, 2, 3]) > tf.reduce_sum(x[:, 4:], [1, 2, 3]))
    model.fit(x, tf.cast(y, tf.int32), epochs=3, batch_size=32, verbose=0)
    return model


def _images(n, seed=0):
    return tf.constant(toy_images(n, (8, 8, 1), seed) / np.float32(255))


def _labels(n, k=2):
    return tf.one_hot(tf.range(n) % k, k)


def _ce(model, x, targets):
    return keras.losses.categorical_crossentropy(targets, model(x, training=False),
                                                 from_logits=True)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_random_latent_delta_within_eps(flow, norm):
    aug = augment.LatentRandom(flow, eps=0.7, norm=norm)
    z = flow.encode(_images(16))
    dz = aug.delta(z, SEED)
    size = norms.l2_norm(dz) if norm == "l2" else tf.reduce_max(tf.abs(dz), [1, 2, 3])
    assert float(tf.reduce_max(size)) <= 0.7 + 1e-5
    assert float(tf.reduce_min(size)) > 0.6  # N(0, eps^2) in 64 dims exceeds the ball


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_adversarial_latent_delta_within_eps(flow, classifier, norm):
    aug = augment.LatentAdversarial(flow, eps=0.5, alpha=0.3, steps=3, norm=norm)
    x = _images(16)
    z = flow.encode(x)
    dz = aug.delta(z, classifier, predicted_targets(classifier, x), SEED)
    size = norms.l2_norm(dz) if norm == "l2" else tf.reduce_max(tf.abs(dz), [1, 2, 3])
    assert float(tf.reduce_max(size)) <= 0.5 + 1e-5


def test_away_variant_moves_away_from_the_centre(flow):
    z = flow.encode(_images(8))
    dz = augment.LatentRandom(flow, eps=0.3, away=True).delta(z, SEED)
    assert bool(tf.reduce_all(tf.sign(dz) * tf.sign(z) >= 0))


@pytest.mark.parametrize("make", [
    lambda f: augment.LatentRandom(f, eps=0.0, norm="l2"),
    lambda f: augment.LatentAdversarial(f, eps=0.0, alpha=0.1, steps=2),
])
def test_zero_eps_gives_back_the_inputs(flow, classifier, make):
    x = _images(8)
    out, _ = make(flow)(x, _labels(8), classifier, training=True, seed=SEED)
    np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-4)


def test_adversarial_raises_loss_more_than_random_of_same_norm(flow, classifier):
    x = _images(64, seed=7)
    targets = predicted_targets(classifier, x)
    z = flow.encode(x)
    adv = augment.LatentAdversarial(flow, eps=1.0, alpha=0.5, steps=3, norm="l2")
    dz_adv = adv.delta(z, classifier, targets, SEED)
    noise = tf.random.stateless_normal(z.shape, seed=(5, 5))
    dz_rand = noise / norms.l2_norm(noise) * norms.l2_norm(dz_adv)
    loss = lambda dz: float(tf.reduce_mean(_ce(classifier, tf.clip_by_value(
        flow.decode(z + dz), 0, 1), targets)))
    assert loss(dz_adv) > loss(dz_rand) + 0.05, (loss(dz_adv), loss(dz_rand))


def test_soft_targets_ascend_the_divergence_from_the_clean_prediction(flow,
                                                                   classifier):
    x = _images(64, seed=7)
    z = flow.encode(x)
    soft = augment.LatentAdversarial(flow, eps=1.0, alpha=0.5, steps=3,
                                     soft_targets=True)
    probs = tf.nn.softmax(classifier(x, training=False))
    targets = soft.targets(classifier, x)
    np.testing.assert_allclose(targets.numpy(), probs.numpy(), atol=1e-6)
    assert float(tf.reduce_min(tf.reduce_max(targets, -1))) < 0.999  # not one-hot
    dz_adv = soft.delta(z, classifier, targets, SEED)
    noise = tf.random.stateless_normal(z.shape, seed=(5, 5))
    dz_rand = noise / norms.l2_norm(noise) * norms.l2_norm(dz_adv)
    kl = lambda dz: float(tf.reduce_mean(keras.losses.kl_divergence(probs, tf.nn.softmax(
        classifier(tf.clip_by_value(flow.decode(z + dz), 0, 1), training=False)))))
    assert kl(dz_adv) > 2 * kl(dz_rand) + 1e-3, (kl(dz_adv), kl(dz_rand))


def test_attack_leaves_batchnorm_statistics_unchanged(flow, classifier):
    stats = [v for v in classifier.non_trainable_variables if "moving" in v.path]
    before = [v.numpy().copy() for v in stats]
    aug = augment.LatentAdversarial(flow, eps=1.0, alpha=0.5, steps=2)
    aug(_images(16), _labels(16), classifier, training=True, seed=SEED)
    assert stats and all(np.array_equal(b, v.numpy()) for b, v in zip(before, stats))


def test_image_pgd_stays_within_eps_and_range(classifier):
    x = _images(16)
    out, _ = augment.ImagePGD(eps=0.1, alpha=0.05, steps=3, norm="linf")(
        x, _labels(16), classifier, seed=SEED)
    assert float(tf.reduce_max(tf.abs(out - x))) <= 0.1 + 1e-6
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
    assert float(tf.reduce_max(tf.abs(out - x))) > 0.05


def test_ratio_perturbs_only_that_share_of_the_batch(flow):
    x = _images(8)
    out, _ = augment.LatentRandom(flow, eps=1.0, ratio=0.25)(x, _labels(8), seed=SEED)
    changed = tf.reduce_max(tf.abs(out - x), [1, 2, 3]).numpy() > 1e-3
    assert changed.tolist() == [True, True] + [False] * 6


def test_standard_is_a_shifted_or_mirrored_copy():
    x = tf.random.stateless_uniform((6, 8, 8, 1), seed=(4, 4))
    out, _ = augment.Standard(pad=2)(x, _labels(6), seed=SEED)
    padded = np.pad(x.numpy(), [(0, 0), (2, 2), (2, 2), (0, 0)])
    for i in range(6):
        windows = [padded[i, r:r + 8, c:c + 8] for r in range(5) for c in range(5)]
        assert any(np.array_equal(out[i].numpy(), w) or
                   np.array_equal(out[i].numpy(), w[:, ::-1]) for w in windows)


def test_mixup_labels_sum_to_one_and_mix_the_images():
    x = tf.random.stateless_uniform((16, 8, 8, 1), seed=(1, 1))
    out, y = augment.Mixup(alpha=0.4)(x, _labels(16, 4), seed=SEED)
    np.testing.assert_allclose(tf.reduce_sum(y, -1).numpy(), 1.0, atol=1e-6)
    assert float(tf.reduce_max(y)) <= 1.0 and float(tf.reduce_min(y)) >= 0.0
    assert not np.allclose(out.numpy(), x.numpy())


def test_cutout_masks_the_stated_area():
    mask = augment.image.cutout_mask(tf.constant([10, 0]), tf.constant([10, 0]),
                                     32, 32, 8).numpy()
    assert (mask[0] == 0).sum() == 64  # fully inside
    assert (mask[1] == 0).sum() == 16  # clipped by the corner: 4 x 4
    out, _ = augment.Cutout(size=5)(tf.ones((4, 16, 16, 1)), _labels(4), seed=SEED)
    zeros = (out.numpy() == 0).reshape(4, -1).sum(1)
    assert all(9 <= n <= 25 for n in zeros) and max(zeros) > 9


def test_compose_applies_in_order_and_eval_mode_is_identity(flow):
    x = _images(4)
    aug = augment.Compose(augment.Standard(pad=1), augment.LatentRandom(flow, 0.5))
    out, _ = aug(x, _labels(4), seed=SEED)
    assert out.shape == x.shape and not np.allclose(out.numpy(), x.numpy())
    same, _ = aug(x, _labels(4), training=False)
    assert same is x


@pytest.mark.parametrize("make, message", [
    (lambda f: augment.LatentRandom(f, eps=-1.0), "eps must be >= 0"),
    (lambda f: augment.LatentAdversarial(f, eps=1.0, alpha=0.1, steps=0), "steps"),
    (lambda f: augment.LatentAdversarial(f, 1.0, 0.1, 3, norm="l3"), "norm must be"),
    (lambda f: augment.LatentRandom(f, eps=1.0, ratio=1.5), "ratio must be in"),
    (lambda f: augment.Mixup(alpha=0.0), "alpha must be > 0"),
    (lambda f: augment.LatentAdversarial(f, random_start=False, soft_targets=True),
     "soft_targets=true needs random_start=true"),
    (lambda f: augment.ImagePGD(random_start=False, soft_targets=True),
     "soft_targets=true needs random_start=true"),
    (lambda f: augment.LatentAdversarial(f, free=True, soft_targets=True),
     "takes no soft_targets"),
])
def test_bad_parameters_are_clear_errors(flow, make, message):
    with pytest.raises(ConfigError, match=message):
        make(flow)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_xla_beta_sampler_has_the_right_moments(alpha):
    from tfaug.augment.sampling import stateless_beta
    sample = tf.function(lambda s: stateless_beta((20000,), s, alpha),
                         jit_compile=True)(tf.constant([3, 4])).numpy()
    mean, var = 0.5, 1.0 / (4.0 * (2.0 * alpha + 1.0))
    assert abs(sample.mean() - mean) < 0.01
    assert abs(sample.var() - var) < 0.01 * max(var, 0.02) * 10
    assert sample.min() >= 0.0 and sample.max() <= 1.0


def test_every_augmentation_compiles_with_xla(flow, classifier):
    x, y = _images(8), _labels(8)
    for aug in [augment.Standard(), augment.Mixup(0.4), augment.Cutout(3),
                augment.ImagePGD(0.1, 0.05, 2), augment.LatentRandom(flow, 0.5, "l2"),
                augment.LatentAdversarial(flow, 0.5, 0.25, 2)]:
        fn = tf.function(lambda a, b: aug(a, b, classifier, seed=SEED),
                         jit_compile=True)
        out, labels = fn(x, y)
        assert out.shape == x.shape and labels.shape == y.shape, aug


def test_level_weights_follow_the_multiscale_latent(flow):
    weights = flow.level_weights(0.25)
    fine, coarse = flow.latent_levels(tf.constant(weights[None]))
    assert np.all(fine.numpy() == 0.25) and np.all(coarse.numpy() == 1.0)
    assert fine.shape[1:] == flow.config.level_shapes()[0]


@pytest.mark.parametrize("make", [
    lambda flow, decay: augment.LatentRandom(flow, eps=0.7, level_decay=decay),
    lambda flow, decay: augment.LatentAdversarial(flow, eps=0.7, alpha=0.3, steps=2,
                                                  level_decay=decay)])
def test_level_decay_zero_moves_only_the_coarsest_level_and_one_changes_nothing(
        flow, classifier, make):
    x = _images(8)
    z = flow.encode(x)
    targets = predicted_targets(classifier, x)

    def delta(aug):
        if isinstance(aug, augment.LatentRandom):
            return aug.delta(z, SEED)
        return aug.delta(z, classifier, targets, SEED)
    coarse_only = delta(make(flow, 0.0))
    fine, coarse = flow.latent_levels(coarse_only)
    assert float(tf.reduce_max(tf.abs(fine))) == 0.0
    assert float(tf.reduce_min(tf.reduce_max(tf.abs(coarse), [1, 2, 3]))) > 0.0
    assert float(tf.reduce_max(norms.l2_norm(coarse_only))) <= 0.7 + 1e-5
    default = make(flow, 1.0)
    assert default._weights is None
    np.testing.assert_array_equal(delta(default), delta(
        augment.LatentRandom(flow, eps=0.7) if isinstance(default, augment.LatentRandom)
        else augment.LatentAdversarial(flow, eps=0.7, alpha=0.3, steps=2)))


def test_level_decay_outside_its_range_or_without_levels_is_a_clear_error(flow):
    with pytest.raises(ConfigError, match=r"level_decay must be in \[0, 1\]"):
        augment.LatentRandom(flow, level_decay=1.5)

    class OneScale:
        latent_shape = (8, 8, 1)
    with pytest.raises(ConfigError, match="needs a multi-scale flow"):
        augment.LatentAdversarial(OneScale(), level_decay=0.5)
    from tfaug.augment import registry
    spec = registry.canonical("latent_adversarial(level_decay=0.3)")
    assert "level_decay=0.3" in spec
    # a spec validated before any flow is loaded (every entry point's config)
    assert registry.validate(spec) == spec
    from tfaug import config as cfglib
    from tfaug.trainers.classifier import ClassifierTrainConfig
    cfglib.from_dict(ClassifierTrainConfig, {"augmentation": spec}).validate()


def test_copies_perturb_the_head_that_many_times_and_keep_the_rest_clean(flow):
    x, y = _images(8), _labels(8)
    out, labels = augment.LatentRandom(flow, eps=0.7, ratio=0.5, copies=3)(
        x, y, seed=SEED)
    assert out.shape[0] == 16 and labels.shape[0] == 16
    np.testing.assert_array_equal(labels, tf.concat([y[:4]] * 3 + [y[4:]], 0))
    np.testing.assert_array_equal(out[12:], x[4:])  # the clean rest, once
    copies = [out[4 * i:4 * i + 4] for i in range(3)]
    for i in range(3):
        for j in range(i):
            assert float(tf.reduce_max(tf.abs(copies[i] - copies[j]))) > 1e-3
    one, _ = augment.LatentRandom(flow, eps=0.7, ratio=0.5, copies=1)(x, y, seed=SEED)
    default, _ = augment.LatentRandom(flow, eps=0.7, ratio=0.5)(x, y, seed=SEED)
    np.testing.assert_array_equal(one, default)


def test_copies_refuse_per_example_state(flow):
    with pytest.raises(ConfigError, match="takes no copies > 1"):
        augment.LatentAdversarial(flow, amortized=True, copies=2)
    from tfaug.augment import registry
    with pytest.raises(ConfigError, match="cannot follow a part with copies > 1"):
        registry.build("latent_random(copies=2)+latent_adversarial(refresh=2)",
                       {"flow": flow}, (8, 8, 1))
    with pytest.raises(ConfigError, match="copies must be an integer >= 1"):
        augment.LatentRandom(flow, copies=0)
