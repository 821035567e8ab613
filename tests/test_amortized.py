"""The latent cache and the amortised latent attack: cached latents are the encoder's,
the cached path augments like the uncached one, the per-example perturbation stays
in its ball, persists for its example only, and survives a checkpoint/resume."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import toy_batch, toy_flow, toy_split
from tfaug import augment, config as cfglib, flows, models
from tfaug.augment import Examples, norms
from tfaug.errors import ConfigError
from tfaug.flows import Glow, GlowConfig
from tfaug.trainers.augmented import AugmentedModel
from tfaug.trainers.classifier import (ClassifierTrainConfig, Splits,
                                       encode_all, train_classifier)

SEED = tf.constant([3, 4])


@pytest.fixture(scope="module")
def flow():
    return toy_flow()


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    model = models.small_cnn((8, 8, 1), 2, width=0.25)
    model.build((None, 8, 8, 1))
    return model


_batch = toy_batch


def _state_model(aug, classifier, num_examples):
    """An AugmentedModel owning `aug`'s per-example state."""
    model = AugmentedModel(classifier, aug, num_examples=num_examples)
    return model


def test_cached_latents_equal_encode_for_every_training_example(flow):
    data = toy_split(300, seed=5)  # more than one encoding batch of 256
    cached = encode_all(flow, data)
    assert cached.shape == (300, 8, 8, 1)
    for start in range(0, 300, 64):
        x = tf.constant(data.images[start:start + 64] / np.float32(255))
        np.testing.assert_allclose(cached[start:start + 64], flow.encode(x).numpy(),
                                   atol=1e-5)


def test_encoding_for_one_run_after_another_compiles_the_flow_once(flow, monkeypatch):
    traced = []  # encode runs in Python only while a tf.function traces it
    encode = flow.encode
    monkeypatch.setattr(flow, "encode",
                        lambda *a, **k: traced.append(1) or encode(*a, **k))
    for n in (300, 280, 290):  # a run, a trial, a pool: last batches of every size
        encode_all(flow, toy_split(n, seed=n))
    assert len(traced) <= 2


@pytest.mark.parametrize("make", [
    lambda f: augment.LatentRandom(f, eps=2.0, ratio=0.75),
    lambda f: augment.LatentAdversarial(f, eps=1.0, alpha=0.5, steps=2),
    lambda f: augment.Compose(augment.LatentRandom(f, eps=1.0), augment.Standard(pad=1)),
])
def test_cached_path_gives_the_same_augmented_batch(flow, classifier, make):
    x, y = _batch()
    aug = make(flow)
    uncached, _ = aug(x, y, classifier, seed=SEED)
    latents = flow.encode(x + 0.0)  # a fresh tensor: TFP caches by identity
    cached, _ = aug(x, y, classifier, seed=SEED, examples=Examples(latents=latents))
    np.testing.assert_allclose(cached.numpy(), uncached.numpy(), atol=1e-5)


def test_only_the_first_augmentation_of_a_chain_gets_the_cache(flow, classifier):
    x, y = _batch()
    wrong = tf.zeros_like(x)  # latents that do not belong to the images
    aug = augment.Compose(augment.Standard(pad=1), augment.LatentRandom(flow, eps=0.0))
    with_cache, _ = aug(x, y, classifier, seed=SEED, examples=Examples(latents=wrong))
    without, _ = aug(x, y, classifier, seed=SEED)
    np.testing.assert_allclose(with_cache.numpy(), without.numpy(), atol=1e-6)
    assert aug.latent_model_of_clean_images() is None
    assert augment.Compose(augment.LatentRandom(flow), augment.Standard()) \
        .latent_model_of_clean_images() is flow


def _amortized(flow, classifier, num_examples=32, **kwargs):
    aug = augment.LatentAdversarial(flow, **{"eps": 0.8, "alpha": 0.5, "steps": 1,
                                             "amortized": True, **kwargs})
    model = _state_model(aug, classifier, num_examples)
    state = {v.name: v for v in model.non_trainable_variables
             if v.name.startswith("latent_perturbation")}
    return aug, state["latent_perturbation"], state["latent_perturbation_written"]


def test_first_visit_equals_the_plain_attack_from_the_same_start(flow, classifier):
    x, y = _batch()
    aug, _, _ = _amortized(flow, classifier)
    plain = augment.LatentAdversarial(flow, eps=0.8, alpha=0.5, steps=1)
    index = tf.range(16, dtype=tf.int64)
    out, _ = aug(x, y, classifier, seed=SEED, examples=Examples(index=index))
    expected, _ = plain(x, y, classifier, seed=SEED)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-5)


def test_perturbation_persists_for_its_example_only_and_stays_in_the_ball(flow,
                                                                           classifier):
    x, y = _batch(4)
    aug, rows, written = _amortized(flow, classifier, eps=0.8, alpha=0.5)
    index = tf.constant([3, 7, 11, 20], tf.int64)
    aug(x, y, classifier, seed=SEED, examples=Examples(index=index))
    stored = rows.numpy()
    assert written.numpy().nonzero()[0].tolist() == [3, 7, 11, 20]
    untouched = np.delete(stored, [3, 7, 11, 20], axis=0)
    assert not untouched.any()
    first = tf.constant(stored[[3, 7, 11, 20]])
    # Second visit (other seed): continues from the stored rows, one more PGD step.
    targets = augment.adversarial.predicted_targets(classifier, x)
    z = flow.encode(x + 0.0)
    expected = aug.delta(z, classifier, targets, tf.constant([9, 9]), start=first)
    aug(x, y, classifier, seed=tf.constant([9, 9]), examples=Examples(index=index))
    np.testing.assert_allclose(rows.numpy()[[3, 7, 11, 20]], expected.numpy(), atol=1e-5)
    for visit in range(6):  # many visits: always inside the eps-ball
        aug(x, y, classifier, seed=tf.constant([visit, 1]),
            examples=Examples(index=index))
        norm = norms.l2_norm(tf.constant(rows.numpy()[[3, 7, 11, 20]]))
        assert float(tf.reduce_max(norm)) <= 0.8 + 1e-5
    assert float(tf.reduce_min(norm)) > 0.7  # ascent pushed every example out to eps


def test_amortized_attack_accumulates_beyond_one_step(flow, classifier):
    """Visits accumulate: the stored perturbation keeps moving, reaching a distance
    from the start one step alone (alpha) cannot."""
    x, y = _batch(8)
    aug, rows, _ = _amortized(flow, classifier, eps=2.0, alpha=0.4, random_start=False)
    index = tf.range(8, dtype=tf.int64)
    for visit in range(4):
        aug(x, y, classifier, seed=tf.constant([visit, 0]),
            examples=Examples(index=index))
    assert float(tf.reduce_min(norms.l2_norm(rows.value[:8]))) > 0.4 + 0.3


def test_amortized_attack_without_state_or_index_is_a_clear_error(flow, classifier):
    x, y = _batch(4)
    aug = augment.LatentAdversarial(flow, amortized=True)
    with pytest.raises(ConfigError, match="AugmentedModel"):
        aug(x, y, classifier, seed=SEED, examples=Examples(index=tf.range(4)))
    _state_model(aug, classifier, 8)
    with pytest.raises(ConfigError, match="index"):
        aug(x, y, classifier, seed=SEED)
    with pytest.raises(ConfigError, match="num_examples"):
        AugmentedModel(classifier, augment.LatentAdversarial(flow, amortized=True))
    assert not aug.stateless().amortized  # what TensorBoard grids use


class _Snapshot(keras.callbacks.Callback):
    """Copies the amortised state when an epoch ends (and stops at `stop_after`) or,
    with `at_start`, right after the backup was restored."""

    def __init__(self, stop_after=None, at_start=False):
        super().__init__()
        self.stop_after, self.at_start, self.copies = stop_after, at_start, []

    def _copy(self):
        self.copies.append({v.name: v.numpy().copy()
                            for v in self.model.non_trainable_variables
                            if v.name.startswith("latent_perturbation")})

    def on_train_begin(self, logs=None):
        if self.at_start:
            self._copy()

    def on_epoch_end(self, epoch, logs=None):
        self._copy()
        if self.stop_after is not None and epoch + 1 == self.stop_after:
            raise KeyboardInterrupt


def test_amortized_state_survives_checkpoint_and_resume(tmp_path):
    glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
    glow.initialize(toy_split(32).images / np.float32(255))
    flows.save(glow, str(tmp_path / "flow"))
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="mnist", model="small_cnn", model_width=0.25, flow=str(tmp_path / "flow"),
        augmentation="latent_adversarial(eps=0.5,alpha=0.25,steps=1,amortized=true)",
        epochs=3, batch_size=16, lr=0.05, image_every=1, jit=False))
    splits = Splits(toy_split(48, seed=0), toy_split(16, seed=1, split="val"),
                    toy_split(16, seed=2, split="test"))
    before = _Snapshot(stop_after=1)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, str(tmp_path / "run"), splits, verbose=0,
                         callbacks=[before])
    saved = before.copies[-1]
    assert saved["latent_perturbation_written"].sum() == 48  # one epoch: all visited
    after = _Snapshot(at_start=True)
    report = train_classifier(config, str(tmp_path / "run"), splits, verbose=0,
                              callbacks=[after])
    restored = after.copies[0]
    for name, value in saved.items():
        np.testing.assert_array_equal(restored[name], value)
    assert report["optimizer_steps"] == 3 * 3 and report["epochs_this_run"] == 2
    assert report["latents_cached"] is True
    assert not np.array_equal(after.copies[-1]["latent_perturbation"],
                              saved["latent_perturbation"])  # training went on


def test_lenet_has_the_papers_parameter_count():
    model = models.build("lenet", (28, 28, 1), 10)
    assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == 61706
    assert model(tf.zeros((2, 28, 28, 1))).shape == (2, 10)


def test_amortized_attack_compiles_with_xla(flow, classifier):
    x, y = _batch(8)
    aug, rows, _ = _amortized(flow, classifier, eps=0.5)
    step = tf.function(lambda a, b, i: aug(a, b, classifier, seed=SEED,
                                           examples=Examples(index=i))[0],
                       jit_compile=True)
    out = step(x, y, tf.range(8, dtype=tf.int64))
    assert out.shape == x.shape and float(tf.reduce_max(tf.abs(rows.value[:8]))) > 0


class _OverflowingDecoder:
    """A latent model whose decoder overflows for latents with a positive first
    coordinate (as a flow can, far off its manifold)."""
    latent_shape = (8, 8, 1)

    def encode(self, x, validate=True):
        return x - 0.5

    def decode(self, z):
        bad = tf.reshape(z[:, 0, 0, 0] > 0, [-1, 1, 1, 1])
        return tf.where(bad, np.inf, tf.sigmoid(z))


def test_example_whose_decode_overflows_restarts_its_history(classifier):
    x, y = _batch(4)
    x = tf.concat([tf.fill([2, 8, 8, 1], 0.9), tf.fill([2, 8, 8, 1], 0.1)], 0)
    aug = augment.LatentAdversarial(_OverflowingDecoder(), eps=0.3, alpha=0.1, steps=1,
                                    random_start=False, amortized=True)
    model = _state_model(aug, classifier, 4)
    rows = next(v for v in model.non_trainable_variables
                if v.name == "latent_perturbation")
    out, _ = aug(x, y, classifier, seed=SEED, examples=Examples(index=tf.range(4)))
    np.testing.assert_array_equal(out[:2].numpy(), x[:2].numpy())  # trained clean
    assert not rows.numpy()[:2].any()      # overflowing examples restart from zero
    assert rows.numpy()[2:].any()          # the others keep their perturbation
    plain, _ = augment.LatentRandom(_OverflowingDecoder(), eps=0.0)(x, y, seed=SEED)
    np.testing.assert_array_equal(plain[:2].numpy(), x[:2].numpy())  # not white
