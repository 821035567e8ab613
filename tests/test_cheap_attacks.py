"""The cheaper latent attacks: `free` (the perturbation's gradient from the weights'
backward pass) and `refresh` (perturbed images recomputed every k-th step, banked and
replayed in between). Each stays in its eps-ball, follows its definition exactly, and
refresh=1 trains as today's amortised attack."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import toy_batch, toy_flow, toy_split
from tfaug import augment, models
from tfaug.augment import Examples, norms
from tfaug.errors import ConfigError
from tfaug.trainers.augmented import AugmentedModel

SEED = tf.constant([3, 4])


@pytest.fixture(scope="module")
def flow():
    return toy_flow()


def _classifier(seed=0):
    keras.utils.set_random_seed(seed)
    model = models.small_cnn((8, 8, 1), 2, width=0.25)
    model.build((None, 8, 8, 1))
    return model


_batch = toy_batch


def _model(flow, spec, num_examples=16, classifier=None, lr=0.1):
    model = AugmentedModel(classifier or _classifier(), spec, flow=flow,
                           num_examples=num_examples)
    model.build((None, 8, 8, 1))
    model.compile(keras.optimizers.SGD(lr),
                  keras.losses.CategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    return model


def _state(model, name):
    return next(v for v in model.non_trainable_variables if v.name == name)


def _step(model, x, y, index):
    return model.train_step(({"images": x, "index": index}, y))


def test_free_step_ascends_the_training_loss_and_trains_on_the_decoded_image(flow):
    """One free step: the weights move as a plain step on decode(z + dz) would, and
    dz takes one alpha step along the training loss' own gradient w.r.t. dz."""
    x, y = _batch()
    index = tf.range(16, dtype=tf.int64)
    spec = "latent_adversarial(free=true,eps=0.6,alpha=0.25,random_start=false)"
    free = _model(flow, spec)
    rows = _state(free, "latent_perturbation")
    rows.assign(norms.project(tf.random.stateless_normal(rows.shape, [1, 2]), 0.3, "l2"))
    _state(free, "latent_perturbation_written").assign(tf.ones(16))
    start = tf.constant(rows.numpy())
    z = flow.encode(x + 0.0)
    decoded = tf.clip_by_value(flow.decode(z + start), 0.0, 1.0)
    # What the free step should do, computed by hand from the same weights.
    plain = _model(flow, "none", classifier=_classifier())
    dz = tf.Variable(start)
    with tf.GradientTape() as tape:
        logits = plain.classifier(tf.clip_by_value(flow.decode(z + dz), 0.0, 1.0),
                                  training=True)
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(
            y, logits, from_logits=True))
    expected_dz = norms.project(
        start + 0.25 * norms.ascent_direction(tape.gradient(loss, dz), "l2"), 0.6, "l2")
    _step(free, x, y, index)
    _step(plain, decoded, y, index)
    np.testing.assert_allclose(rows.numpy(), expected_dz.numpy(), atol=1e-5)
    assert float(tf.reduce_max(tf.abs(rows.value - start))) > 0.01  # it moved
    # (trainable only: the hand-made pass moved plain's BatchNorm statistics)
    for a, b in zip(free.classifier.trainable_weights,
                    plain.classifier.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_free_perturbation_stays_in_its_ball_over_many_visits(flow):
    x, y = _batch()
    model = _model(flow, "standard(pad=1)+latent_adversarial(free=true,eps=0.7,"
                         "alpha=0.3)")
    index = tf.range(16, dtype=tf.int64)
    for _ in range(6):
        _step(model, x, y, index)
    norm = norms.l2_norm(_state(model, "latent_perturbation").value)
    assert float(tf.reduce_max(norm)) <= 0.7 + 1e-5
    assert float(tf.reduce_min(norm)) > 0.6  # ascent pushed every example out to eps


def test_refresh_recomputes_every_kth_step_and_replays_the_image_in_between(flow):
    x, y = _batch(8)
    classifier = _classifier()
    aug = augment.LatentAdversarial(flow, eps=0.8, alpha=0.4, steps=1, refresh=3)
    _model(flow, aug, num_examples=8, classifier=classifier)  # builds the state
    plain = augment.LatentAdversarial(flow, eps=0.8, alpha=0.4, steps=1)
    index = tf.range(8, dtype=tf.int64)
    outputs = [aug(x, y, classifier, seed=tf.constant([v, 0]),
                   examples=Examples(index=index))[0].numpy() for v in range(4)]
    first, _ = plain(x, y, classifier, seed=tf.constant([0, 0]))
    np.testing.assert_allclose(outputs[0], first.numpy(), atol=1e-5)
    np.testing.assert_array_equal(outputs[1], outputs[0])  # steps 1, 2: replayed
    np.testing.assert_array_equal(outputs[2], outputs[0])
    fourth, _ = plain(x, y, classifier, seed=tf.constant([3, 0]))
    np.testing.assert_allclose(outputs[3], fourth.numpy(), atol=1e-5)  # step 3: new
    assert not np.allclose(outputs[3], outputs[0])


def test_between_refreshes_unbanked_examples_train_clean_and_nothing_moves(flow):
    x, y = _batch(8)
    classifier = _classifier()
    aug = augment.LatentAdversarial(flow, eps=0.8, alpha=0.4, steps=1, refresh=2,
                                    amortized=True)
    model = _model(flow, aug, num_examples=8, classifier=classifier)
    rows = _state(model, "latent_perturbation")
    banked = _state(model, "perturbed_image")
    aug(x[:4], y[:4], classifier, seed=SEED, examples=Examples(index=tf.range(4)))
    kept, images = rows.numpy().copy(), banked.numpy().copy()
    assert kept[:4].any() and not kept[4:].any()
    out, _ = aug(x, y, classifier, seed=tf.constant([5, 5]),
                 examples=Examples(index=tf.range(8)))       # step 1: no refresh
    np.testing.assert_array_equal(out.numpy()[:4], images[:4])  # replayed
    np.testing.assert_array_equal(out.numpy()[4:], x.numpy()[4:])  # never banked: clean
    np.testing.assert_array_equal(rows.numpy()[:4], kept[:4])   # not attacked
    assert _state(model, "perturbed_image_written").numpy().tolist() == [1] * 4 + [0] * 4
    out, _ = aug(x, y, classifier, seed=tf.constant([6, 6]),
                 examples=Examples(index=tf.range(8)))       # step 2: refresh
    assert not np.array_equal(out.numpy()[4:], x.numpy()[4:])
    assert _state(model, "perturbed_image_written").numpy().tolist() == [1] * 8
    assert float(_state(model, "perturbed_image_steps").numpy()) == 3
    norm = norms.l2_norm(tf.constant(rows.numpy()))
    assert float(tf.reduce_max(norm)) <= 0.8 + 1e-5


def _train(flow, spec, epochs=3):
    data = toy_split(48, seed=4)
    model = _model(flow, spec, num_examples=48, lr=0.05)
    features = {"images": data.images / np.float32(255), "index": np.arange(48)}
    ds = tf.data.Dataset.from_tensor_slices((features, tf.one_hot(data.labels, 2)))
    model.fit(ds.shuffle(48, seed=0).batch(16), epochs=epochs, verbose=0)
    return [w.numpy() for w in model.classifier.weights]


def test_refresh_one_trains_exactly_as_the_amortised_attack(flow):
    amortized = "latent_adversarial(amortized=true,eps=0.5,alpha=0.25,steps=1)"
    today = _train(flow, amortized)
    same = _train(flow, amortized.replace(")", ",refresh=1)"))
    assert all(np.array_equal(a, b) for a, b in zip(today, same))
    stale = _train(flow, amortized.replace(")", ",refresh=2)"))
    assert not all(np.array_equal(a, b) for a, b in zip(today, stale))


@pytest.mark.parametrize("spec, message", [
    ("latent_adversarial(refresh=0)", "refresh must be an integer >= 1"),
    ("latent_adversarial(refresh=1.5)", "cannot read"),
])
def test_bad_cheap_attack_parameters_are_clear_errors(flow, spec, message):
    with pytest.raises(ConfigError, match=message):
        augment.registry.validate(spec)


def test_refresh_compiles_with_xla(flow):
    x, y = _batch(8)
    classifier = _classifier()
    aug = augment.LatentAdversarial(flow, eps=0.5, steps=1, refresh=2, amortized=True)
    model = _model(flow, aug, num_examples=8, classifier=classifier)
    step = tf.function(lambda a, b, i: aug(a, b, classifier, seed=SEED,
                                           examples=Examples(index=i))[0],
                       jit_compile=True)
    first = step(x, y, tf.range(8, dtype=tf.int64))
    second = step(x, y, tf.range(8, dtype=tf.int64))
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # replayed
    assert float(tf.reduce_max(tf.abs(_state(model, "latent_perturbation").value))) > 0


def test_free_attack_needs_the_training_step(flow):
    x, y = _batch(4)
    classifier = _classifier()
    aug = augment.LatentAdversarial(flow, free=True)
    _model(flow, aug, num_examples=4, classifier=classifier)
    with pytest.raises(ConfigError, match="AugmentedModel"):
        aug(x, y, classifier, seed=SEED, examples=Examples(index=tf.range(4)))
    assert not aug.stateless().free  # what TensorBoard grids use
