import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import brute_force_log_det, randomize, toy_images
from tfaug import flows
from tfaug.errors import ConfigError, DataError
from tfaug.flows import Glow, GlowConfig

TINY = GlowConfig((4, 4, 1), levels=2, steps=1, width=4)


def _images(n=4, shape=(8, 8, 1), seed=0):
    return tf.constant(toy_images(n, shape, seed) / np.float32(255))


def _trained_glow(config=GlowConfig((8, 8, 1), levels=2, steps=2, width=8), steps=5):
    glow = Glow(config)
    x = _images(16, config.image_shape)
    glow.initialize(x)
    opt = keras.optimizers.Adam(1e-2)
    for i in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(glow.bits_per_dim(x, seed=(i, 0)))
        opt.apply(tape.gradient(loss, glow.trainable_variables), glow.trainable_variables)
    return glow


def test_glow_log_det_matches_brute_force_jacobian():
    glow = Glow(TINY)
    randomize(glow, seed=1)
    y = tf.random.stateless_uniform((2, 4, 4, 1), seed=(1, 1), minval=0.05, maxval=0.95)
    expected = brute_force_log_det(lambda t: glow.bijector().forward(t), y)
    actual = glow.bijector().forward_log_det_jacobian(y, event_ndims=3)
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-3)


@pytest.mark.parametrize("coupling", ["sigmoid", "tanh", "additive"])
def test_decode_inverts_encode_on_fresh_tensor(coupling):
    glow = _trained_glow(GlowConfig((8, 8, 1), 2, 2, 8, coupling=coupling))
    x = _images(8, seed=5)
    z = glow.encode(x)
    x_back = glow.decode(tf.constant(z.numpy()))
    np.testing.assert_allclose(x_back.numpy(), x.numpy(), atol=1e-4)


def test_encode_inverts_decode_on_fresh_tensor():
    glow = _trained_glow()
    z = tf.constant(glow.encode(_images(8, seed=6)).numpy())
    x = glow.decode(z)
    np.testing.assert_allclose(glow.encode(tf.constant(x.numpy())).numpy(), z.numpy(),
                               atol=2e-3)


def test_bijector_forward_inverts_inverse_for_any_latent():
    glow = _trained_glow()
    z = tf.random.stateless_normal((8, 8, 8, 1), seed=(1, 3))
    y = glow.bijector().inverse(z)
    np.testing.assert_allclose(glow.bijector().forward(tf.constant(y.numpy())).numpy(),
                               z.numpy(), atol=2e-3)


def test_encode_is_deterministic_and_latent_has_image_shape():
    glow = _trained_glow()
    x = _images(4)
    z1, z2 = glow.encode(x), glow.encode(tf.constant(x.numpy()))
    assert z1.shape == x.shape
    np.testing.assert_array_equal(z1.numpy(), z2.numpy())


def test_latent_levels_partition_the_latent():
    glow = _trained_glow()
    z = glow.encode(_images(2))
    views = glow.latent_levels(z)
    assert [tuple(v.shape[1:]) for v in views] == glow.config.level_shapes()
    flat = np.sort(np.concatenate([v.numpy().reshape(2, -1) for v in views], 1), 1)
    np.testing.assert_array_equal(flat, np.sort(z.numpy().reshape(2, -1), 1))


@pytest.mark.parametrize("config", [
    GlowConfig((8, 8, 1), 2, 2, 8),
    GlowConfig((8, 8, 3), 3, 1, 4, coupling="tanh", conv="plain"),
    GlowConfig((28, 28, 1), 2, 1, 16, coupling="additive"),
])
def test_variable_count_matches_config(config):
    glow = Glow(config)
    count = sum(int(np.prod(v.shape)) for v in glow.variables)
    assert count == config.expected_variable_count()


def test_saved_flow_restores_bit_identical_log_prob(tmp_path):
    glow = _trained_glow()
    x = _images(4, seed=9)
    flows.save(glow, str(tmp_path / "flow"), {"note": "test"})
    loaded = flows.load(str(tmp_path / "flow"))
    assert len(tf.train.list_variables(str(tmp_path / "flow" / "weights"))) == \
        len(glow.variables) + 1  # + the object graph
    np.testing.assert_array_equal(loaded.log_prob(x).numpy(), glow.log_prob(x).numpy())
    assert not np.array_equal(Glow(glow.config).log_prob(x).numpy(),
                              glow.log_prob(x).numpy())


def test_missing_or_corrupt_saved_flow_is_reported(tmp_path):
    with pytest.raises(flows.CheckpointError, match="glow.json is missing"):
        flows.load(str(tmp_path))
    flows.save(_trained_glow(steps=1), str(tmp_path / "flow"))
    data_file = next(p for p in os.listdir(tmp_path / "flow") if ".data-" in p)
    (tmp_path / "flow" / data_file).write_bytes(b"garbage")
    with pytest.raises(flows.CheckpointError, match="corrupt"):
        flows.load(str(tmp_path / "flow"))
    with pytest.raises(flows.CheckpointError, match="No pretrained flow"):
        flows.pretrained("imagenet")


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 8, 8, 3), np.float32), "shape \\(batch, 8, 8, 1\\)"),
    (np.zeros((8, 8, 1), np.float32), "shape"),
    (np.full((2, 8, 8, 1), 2.0, np.float32), "in \\[0, 1\\]"),
    (np.full((2, 8, 8, 1), np.nan, np.float32), "NaN"),
])
def test_bad_images_are_clear_errors(images, message):
    glow = Glow(GlowConfig((8, 8, 1), 2, 1, 4))
    with pytest.raises(DataError, match=message):
        glow.encode(images)


def test_wrong_latent_shape_is_a_clear_error():
    with pytest.raises(DataError, match="latents must have the image shape"):
        Glow(GlowConfig((8, 8, 1), 2, 1, 4)).decode(tf.zeros((1, 64)))


def test_sides_not_divisible_by_two_to_the_levels_are_reported():
    with pytest.raises(ConfigError, match="divisible by 8.*28x28"):
        Glow(GlowConfig((28, 28, 1), levels=3))


def test_sample_and_bits_per_dim_ranges():
    glow = _trained_glow()
    samples = glow.sample(4, temperature=0.7, seed=(1, 2))
    assert samples.shape == (4, 8, 8, 1)
    assert 0.0 <= float(tf.reduce_min(samples)) <= float(tf.reduce_max(samples)) <= 1.0
    bpd = glow.bits_per_dim(_images(4), seed=(0, 1)).numpy()
    assert bpd.shape == (4,) and np.all(np.isfinite(bpd)) and np.all(bpd > 0)
