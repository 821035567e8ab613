"""tfaug.AugmentedModel and the augmentations on a user's own Keras model and
tf.data pipeline: labels as ids or one-hot, sample and class weights, uint8 images,
partial batches, bad pixel ranges, mixed precision, dataset.map and a Keras layer."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfaug
from flow_helpers import toy_images
from tfaug import augment, flows
from tfaug.errors import ConfigError, DataError

SHAPE = (8, 8, 1)


@pytest.fixture(scope="module")
def flow():
    glow = flows.Glow(flows.GlowConfig(SHAPE, levels=2, steps=1, width=8))
    glow.initialize(toy_images(32) / np.float32(255))
    return glow


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Conv2D(4, 3),
                             keras.layers.Flatten(), keras.layers.Dense(3)])


def _data(n=10):
    images = toy_images(n)
    return images, np.arange(n) % 3


LOSSES = {"sparse": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
          "one-hot": keras.losses.CategoricalCrossentropy(from_logits=True)}


def _train(flow, x, y, *extra, batch=4, augmentation="latent_random(eps=0.5)",
           loss="sparse", seed=0, **fit_kwargs):
    model = tfaug.AugmentedModel(_model(seed), augmentation, flow=flow, seed=seed)
    model.compile(keras.optimizers.SGD(0.1), LOSSES[loss], metrics=["accuracy"])
    ds = tf.data.Dataset.from_tensor_slices((x, y, *extra)).batch(batch)
    history = model.fit(ds, epochs=1, verbose=0, **fit_kwargs)
    return model, history


def _weights(model):
    return [w.numpy() for w in model.classifier.weights]


def test_integer_labels_and_a_partial_last_batch_train(flow):
    x, y = _data(10)  # batches of 4, 4 and 2
    model, history = _train(flow, x, y, augmentation="standard(pad=1)+latent_random")
    assert int(model.optimizer.iterations.numpy()) == 3
    assert np.isfinite(history.history["loss"]).all()
    assert any(np.abs(a - b).max() > 0 for a, b in zip(_weights(model),
                                                       _weights(tfaug.AugmentedModel(
                                                           _model(), "none"))))


def test_one_hot_labels_train_like_integer_labels(flow):
    x, y = _data(8)
    sparse, _ = _train(flow, x / np.float32(255), y)
    dense, _ = _train(flow, x / np.float32(255), np.eye(3, dtype=np.float32)[y],
                      loss="one-hot")
    for a, b in zip(_weights(sparse), _weights(dense)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_uint8_images_train_like_floats_in_unit_range(flow):
    x, y = _data(8)
    pixels, _ = _train(flow, x, y)
    floats, _ = _train(flow, x / np.float32(255), y)
    for a, b in zip(_weights(pixels), _weights(floats)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert pixels.predict(x[:2], verbose=0) == pytest.approx(
        pixels.predict(x[:2] / np.float32(255), verbose=0), abs=1e-5)


def test_zero_sample_weights_and_zero_class_weights_leave_the_model_unchanged(flow):
    x, y = _data(8)
    initial = _weights(tfaug.AugmentedModel(_model(), "none"))
    weighted, _ = _train(flow, x, y, np.zeros(8, np.float32))
    by_class, _ = _train(flow, x, y, class_weight={0: 0.0, 1: 0.0, 2: 0.0})
    some, _ = _train(flow, x, y, np.float32(y == 0))
    for model in (weighted, by_class):
        for a, b in zip(_weights(model), initial):
            np.testing.assert_array_equal(a, b)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(_weights(some), initial))


@pytest.mark.parametrize("scale, message", [(255.0, "must be in \\[0, 1\\]"),
                                            (np.nan, "NaN or inf")])
def test_float_images_outside_the_unit_range_are_an_error_before_training(flow, scale,
                                                                          message):
    x, y = _data(8)
    model = tfaug.AugmentedModel(_model(), "latent_random", flow=flow)
    model.compile("sgd", LOSSES["sparse"])
    before = _weights(model)
    bad = x.astype(np.float32) / 255 * scale
    with pytest.raises(DataError, match=message):
        model.fit(tf.data.Dataset.from_tensor_slices((bad, y)).batch(4), verbose=0)
    with pytest.raises(DataError, match=message):
        model.fit(bad, y, batch_size=4, verbose=0)
    for a, b in zip(_weights(model), before):
        np.testing.assert_array_equal(a, b)


def test_mixup_needs_a_loss_for_soft_labels(flow):
    x, y = _data(8)
    with pytest.raises(ConfigError, match="mixed soft labels.*CategoricalCrossentropy"):
        _train(flow, x, y, augmentation="mixup")
    model, history = _train(flow, x, np.eye(3, dtype=np.float32)[y],
                            augmentation="mixup", loss="one-hot")
    assert np.isfinite(history.history["loss"]).all()


def test_a_mixed_policy_set_before_the_flow_leaves_the_flow_float32(tmp_path, flow):
    flows.save(flow, str(tmp_path / "flow"))
    keras.config.set_dtype_policy("mixed_float16")
    try:
        loaded = flows.load(str(tmp_path / "flow"))
        assert not {v.dtype for v in loaded.weights} & {"float16", "bfloat16"}
        assert {layer.compute_dtype for layer in loaded._flatten_layers()} == {"float32"}
        x, y = _data(8)
        z = loaded.encode(x / np.float32(255))
        assert z.dtype == tf.float32
        model, history = _train(loaded, x, y, augmentation=(
            "latent_adversarial(eps=0.5,alpha=0.25,steps=1)"))
        assert model.classifier.layers[0].compute_dtype == "float16"
        assert np.isfinite(history.history["loss"]).all()
    finally:
        keras.config.set_dtype_policy("float32")
    np.testing.assert_allclose(loaded.decode(z), x / np.float32(255), atol=1e-4)


def test_latent_random_in_dataset_map_without_a_classifier(flow):
    x, y = _data(6)
    aug = augment.LatentRandom(flow, eps=1.0)
    one = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda i, l: (aug(i), l))
    batched = tf.data.Dataset.from_tensor_slices((x, y)).batch(3).map(
        lambda i, l: (aug(i), l))
    images = np.stack([i for i, _ in one.as_numpy_iterator()])
    assert images.shape == (6, *SHAPE) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    clean = x / np.float32(255)
    assert np.abs(images - clean).max() > 0.01  # perturbed
    first = next(iter(batched))[0].numpy()
    assert first.shape == (3, *SHAPE) and np.abs(first - clean[:3]).max() > 0.01


def test_an_augmentation_as_a_layer_applies_only_in_training(flow):
    layer = augment.LatentRandom(flow, eps=1.0).as_layer()
    net = keras.Sequential([keras.Input(SHAPE, dtype="uint8"), layer])
    x = _data(4)[0]
    np.testing.assert_allclose(net(x, training=False), x / np.float32(255), atol=1e-7)
    assert np.abs(net(x, training=True) - x / np.float32(255)).max() > 0.01
    assert not any(w is v for w in net.weights for v in flow.weights)
    with pytest.raises(ConfigError, match="classifier"):
        augment.LatentAdversarial(flow).as_layer()(x, training=True)


def test_the_plain_classifier_reloads_without_tfaug(tmp_path, flow):
    x, y = _data(8)
    model, _ = _train(flow, x, y)
    path = str(tmp_path / "classifier.keras")
    model.classifier.save(path)
    expected = model.classifier.predict(x / np.float32(255), verbose=0)
    np.save(tmp_path / "x.npy", x / np.float32(255))
    script = (f"import sys, numpy as np, keras\n"
              f"m = keras.models.load_model({path!r})\n"
              f"assert 'tfaug' not in sys.modules\n"
              f"np.save({str(tmp_path / 'out.npy')!r}, m.predict(np.load("
              f"{str(tmp_path / 'x.npy')!r}), verbose=0))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, cwd=str(tmp_path), timeout=300,
                            env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


def test_a_spec_without_its_flow_and_a_non_model_are_clear_errors(flow):
    with pytest.raises(ConfigError, match="needs a flow"):
        tfaug.AugmentedModel(_model(), "latent_random")
    with pytest.raises(ConfigError, match="wraps a keras.Model"):
        tfaug.AugmentedModel(lambda x: x, "none")
    with pytest.raises(ConfigError, match="models 8x8x1 images but these are 4x4x1"):
        model = tfaug.AugmentedModel(keras.Sequential([
            keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]),
            "latent_random", flow=flow)
        model.compile("sgd", LOSSES["sparse"])
        model.fit(np.zeros((4, 4, 4, 1), np.float32), np.zeros(4), verbose=0)


@pytest.mark.parametrize("last", [
    lambda: keras.layers.Dense(3, activation="softmax"), keras.layers.Softmax,
    lambda: keras.layers.Activation("softmax"),
    lambda: keras.Sequential([keras.layers.Dense(3), keras.layers.Softmax()])])
def test_a_model_ending_in_a_softmax_is_refused(flow, last):
    probabilities = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                                      keras.layers.Dense(3), last()])
    with pytest.raises(ConfigError, match="ends in a softmax: drop that activation"):
        tfaug.AugmentedModel(probabilities, "latent_adversarial(eps=1)", flow=flow)
    tfaug.AugmentedModel(_model(), "latent_adversarial(eps=1)", flow=flow)  # logits


def test_copies_train_on_the_grown_batch_with_one_hot_labels_only(flow):
    x, y = _data(8)
    one_hot = np.eye(3, dtype=np.float32)[y]
    model, history = _train(flow, x, one_hot, augmentation="latent_random(eps=0.5,"
                            "copies=2)", loss="one-hot")
    assert np.isfinite(history.history["loss"]).all()
    images, labels = model.augment(tf.constant(x[:4]), tf.constant(one_hot[:4]))
    assert images.shape[0] == labels.shape[0] == 8
    with pytest.raises(ConfigError, match="labels of its own .*CategoricalCross"):
        _train(flow, x, y, augmentation="latent_random(copies=2)")
    with pytest.raises(ConfigError, match="sample weights do not cover"):
        _train(flow, x, one_hot, np.ones(8, np.float32),
               augmentation="latent_random(copies=2)", loss="one-hot")
