import numpy as np
import pytest
import tensorflow as tf

from tfaug import augment
from tfaug.augment import randaugment, registry
from tfaug.errors import ConfigError

SEED = tf.constant([7, 11])


def _images(shape, seed=(3, 5)):
    """Images on the 8-bit grid, as decoded pixels are."""
    return tf.round(tf.random.stateless_uniform(shape, seed) * 255.0) / 255.0


def _warp(images, rows):
    return randaugment.warp(images, tf.constant([rows] * images.shape[0], tf.float32))


def test_warp_is_exact_for_the_identity_a_quarter_turn_and_a_whole_pixel_shift():
    x = _images((3, 9, 9, 2))
    np.testing.assert_array_equal(_warp(x, [[1, 0, 0], [0, 1, 0]]), x)
    np.testing.assert_allclose(_warp(x, [[0, -1, 0], [1, 0, 0]]),
                               tf.image.rot90(x, 1), atol=1e-6)
    shifted = _warp(x, [[1, 0, 2], [0, 1, 0]]).numpy()  # samples 2 pixels right
    np.testing.assert_array_equal(shifted[:, :, :-2], x.numpy()[:, :, 2:])
    assert (shifted[:, :, -2:] == 0).all()  # outside the frame: 0


def test_warp_interpolates_half_a_pixel_bilinearly():
    x = _images((2, 6, 6, 1))
    half = _warp(x, [[1, 0, 0.5], [0, 1, 0]]).numpy()
    np.testing.assert_allclose(half[:, :, :-1], (x[:, :, :-1] + x[:, :, 1:]) / 2,
                               atol=1e-6)


def test_equalize_spreads_distinct_levels_evenly_and_keeps_flat_images():
    levels = tf.constant(np.random.default_rng(0).permutation(16) * 9.0, tf.float32)
    x = tf.reshape(levels / 255.0, (1, 4, 4, 1))
    out = randaugment.equalize(x).numpy().ravel()
    np.testing.assert_allclose(np.sort(out), np.linspace(0, 1, 16), atol=1e-6)
    assert (np.argsort(out) == np.argsort(x.numpy().ravel())).all()  # order kept
    x = _images((3, 6, 6, 2)) * 0.1  # few levels, many repeated
    levels = np.round(x.numpy() * 255)
    out = randaugment.equalize(x).numpy()
    for i in range(3):
        for c in range(2):
            v = levels[i, :, :, c].ravel()
            darkest = (v == v.min()).sum()
            expected = ((v[:, None] >= v[None]).sum(1) - darkest) / (v.size - darkest)
            np.testing.assert_allclose(out[i, :, :, c].ravel(), expected, atol=1e-6)
    flat = tf.fill((2, 4, 4, 3), 100 / 255)
    np.testing.assert_allclose(randaugment.equalize(flat), flat, atol=1e-6)


def test_autocontrast_stretches_each_image_and_channel_to_zero_and_one():
    x = 0.2 + 0.5 * _images((3, 5, 5, 3))
    out = randaugment.autocontrast(x).numpy()
    np.testing.assert_allclose(out.min((1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(out.max((1, 2)), 1, atol=1e-6)


def test_at_magnitude_zero_every_operation_with_a_magnitude_changes_nothing():
    x = _images((4, 8, 8, 1))
    zero = tf.zeros(4)
    tones = dict(zip(randaugment.TONE_OPS, randaugment.tone_candidates(x, zero, zero)))
    for op in ("identity", "brightness", "color", "contrast", "sharpness", "posterize"):
        np.testing.assert_allclose(tones[op], x, atol=1e-6, err_msg=op)
    for matrix in randaugment.warp_matrices(zero, (8, 8)):
        np.testing.assert_allclose(matrix, tf.eye(2, 3, batch_shape=[4]))


def test_at_full_magnitude_the_ranges_are_fixmatchs():
    x = _images((2, 8, 8, 1))
    full, signs = tf.ones(2), tf.constant([-1.0, 1.0])
    tones = dict(zip(randaugment.TONE_OPS,
                     randaugment.tone_candidates(x, full, signs * full)))
    np.testing.assert_allclose(tones["brightness"][0], 0.05 * x[0], atol=1e-6)
    assert len(np.unique(tones["posterize"].numpy())) <= 16  # 4 bits
    np.testing.assert_allclose(tones["solarize"], 1 - x, atol=1e-6)  # threshold 0
    rotate = randaugment.warp_matrices(signs, (8, 8))[0].numpy()
    np.testing.assert_allclose(np.degrees(np.arctan2(rotate[:, 1, 0], rotate[:, 0, 0])),
                               [-30, 30], atol=1e-4)


def test_each_image_draws_its_own_operations_reproducibly_from_the_seed():
    x = tf.repeat(_images((1, 12, 12, 1)), 32, axis=0)
    aug = augment.RandAugment(ops=2)
    out = aug(x, None, seed=SEED)  # without labels: the images alone
    again = aug(x, None, seed=SEED)
    other = aug(x, None, seed=tf.constant([7, 12]))
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out, other)
    distinct = {o.tobytes() for o in out.numpy()}
    assert len(distinct) > 16  # not one draw for the whole batch
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 1


def test_randaugment_compiles_with_xla_and_serves_as_fixmatchs_strong_view():
    x = _images((6, 10, 10, 3))
    aug = registry.build("standard+randaugment(ops=3,strength=0.5)+cutout(size=4)")
    out = tf.function(lambda a: aug(a, None, seed=SEED), jit_compile=True)(x)
    assert out.shape == x.shape
    fixmatch = registry.build("fixmatch(strong=standard+randaugment+cutout)")
    weak, strong = fixmatch.views(x, None, SEED)
    assert strong.shape == x.shape and not np.allclose(weak, strong)


@pytest.mark.parametrize("spec, message", [
    ("randaugment(ops=0)", "ops must be an integer >= 1"),
    ("randaugment(strength=1.5)", r"strength must be in \[0, 1\]"),
    ("randaugment(strength=-0.1)", "strength must be >= 0"),
])
def test_bad_parameters_are_clear_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        registry.build(spec)
