"""RandAugment, the strong view of FixMatch (Cubuk et al. 2020; Sohn et al. 2020),
batched, stateless and XLA-compatible (the warps gather; no ImageProjectiveTransform).

Per image and per round, one operation is drawn uniformly from OPS and applied at a
magnitude m drawn uniformly from [0, strength] of its range, with a random sign where
the operation has one. At strength 1 the ranges are FixMatch's: enhancement factors
1 +- 0.95 (brightness, colour, contrast, sharpness), posterize to 4..8 bits, solarize
above a threshold 1..0, rotate +-30 degrees, shear +-0.3, translate +-30% of the
side; autocontrast, equalize and identity take no magnitude. Colour is the identity
on grayscale images. Images outside the warped frame are filled with 0.
"""

import math

import tensorflow as tf

from tfaug.augment.base import Augmentation, check_positive
from tfaug.errors import ConfigError

TONE_OPS = ("identity", "autocontrast", "equalize", "brightness", "color", "contrast",
            "sharpness", "posterize", "solarize")
WARP_OPS = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
OPS = TONE_OPS + WARP_OPS


class RandAugment(Augmentation):
    """`ops` operations per image, each drawn from OPS at a magnitude uniform in
    [0, strength] of its range (FixMatch's RandAugment at strength 1)."""

    def __init__(self, ops: int = 2, strength: float = 1.0, seed: int = 0):
        super().__init__(seed)
        if not isinstance(ops, int) or isinstance(ops, bool) or ops < 1:
            raise ConfigError(f"randaugment ops must be an integer >= 1 (operations per "
                              f"image), got {ops!r}.")
        check_positive("randaugment strength", strength)
        if strength > 1:
            raise ConfigError(f"randaugment strength must be in [0, 1] (the share of "
                              f"each operation's range), got {strength!r}.")
        self.ops, self.strength = ops, float(strength)

    def augment(self, images, labels, classifier, seed, examples):
        for round_seed in tf.unstack(tf.random.experimental.stateless_split(
                seed, self.ops)):
            images = self._one_round(images, round_seed)
        return images, labels

    def _one_round(self, images, seed):
        b = tf.shape(images)[0]
        s_op, s_mag, s_sign = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
        op = tf.random.stateless_uniform(tf.stack([b]), s_op, 0, len(OPS), tf.int32)
        magnitude = tf.random.stateless_uniform(tf.stack([b]), s_mag) * self.strength
        sign = tf.where(tf.random.stateless_uniform(tf.stack([b]), s_sign) < 0.5,
                        -1.0, 1.0)
        signed = sign * magnitude
        toned = tf.einsum("kb,kbhwc->bhwc",
                          tf.transpose(tf.one_hot(op, len(OPS))[:, :len(TONE_OPS)]),
                          tf.stack(tone_candidates(images, magnitude, signed)))
        is_warp = op >= len(TONE_OPS)
        warp_choice = tf.one_hot(op - len(TONE_OPS), len(WARP_OPS))  # 0 for tones
        matrices = tf.einsum("bk,kbij->bij", warp_choice,
                             tf.stack(warp_matrices(signed, images.shape[1:3])))
        return tf.where(is_warp[:, None, None, None], warp(images, matrices), toned)


def tone_candidates(x, magnitude, signed):
    """Every tone operation of TONE_OPS applied to every image, in that order."""
    per_image = lambda t: t[:, None, None, None]
    factor = per_image(1.0 + 0.95 * signed)
    blend = lambda base: tf.clip_by_value(base + factor * (x - base), 0.0, 1.0)
    gray = _grayscale(x)
    shift = per_image(tf.pow(2.0, tf.round(4.0 * magnitude)))  # keeps 8..4 bits
    threshold = per_image(1.0 - magnitude)
    return [x, autocontrast(x), equalize(x), blend(tf.zeros_like(x)), blend(gray),
            blend(tf.reduce_mean(gray, [1, 2, 3], keepdims=True)), blend(_smoothed(x)),
            tf.floor(tf.round(x * 255.0) / shift) * shift / 255.0,
            tf.where(x >= threshold, 1.0 - x, x)]


def warp_matrices(signed, size):
    """(B, 2, 3) maps from an output pixel to where it samples the input (centred
    coordinates, pixels), one per operation of WARP_OPS."""
    h, w = float(size[0]), float(size[1])
    zeros, ones = tf.zeros_like(signed), tf.ones_like(signed)
    angle = signed * math.radians(30.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    shear = 0.3 * signed
    rows = lambda a, b: tf.stack([tf.stack(a, -1), tf.stack(b, -1)], 1)
    return [rows([cos, -sin, zeros], [sin, cos, zeros]),
            rows([ones, shear, zeros], [zeros, ones, zeros]),
            rows([ones, zeros, zeros], [shear, ones, zeros]),
            rows([ones, zeros, 0.3 * w * signed], [zeros, ones, zeros]),
            rows([ones, zeros, zeros], [zeros, ones, 0.3 * h * signed])]


def warp(images, matrices):
    """Bilinear resampling: output pixel (y, x) takes the input at
    matrices @ (x, y, 1) in coordinates centred on the image; 0 outside it."""
    b = tf.shape(images)[0]
    h, w, c = images.shape[1:]
    ys, xs = tf.meshgrid(tf.range(h, dtype=tf.float32) - (h - 1) / 2,
                         tf.range(w, dtype=tf.float32) - (w - 1) / 2, indexing="ij")
    grid = tf.stack([xs, ys, tf.ones_like(xs)], -1)  # (H, W, 3)
    source = tf.einsum("bij,hwj->bhwi", matrices, grid)
    sx, sy = source[..., 0] + (w - 1) / 2, source[..., 1] + (h - 1) / 2
    x0, y0 = tf.floor(sx), tf.floor(sy)
    flat = tf.reshape(images, [-1, c])
    base = tf.range(b)[:, None, None] * (h * w)
    out = 0.0
    for dy in (0.0, 1.0):
        for dx in (0.0, 1.0):
            px, py = x0 + dx, y0 + dy
            weight = (1.0 - tf.abs(sx - px)) * (1.0 - tf.abs(sy - py))
            inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
            index = base + tf.cast(tf.clip_by_value(py, 0, h - 1), tf.int32) * w \
                + tf.cast(tf.clip_by_value(px, 0, w - 1), tf.int32)
            weight = tf.where(inside, weight, 0.0)[..., None]
            out += weight * tf.gather(flat, index)
    return out


def autocontrast(x):
    """Each image and channel stretched so its darkest pixel is 0 and its brightest 1
    (unchanged where it is flat)."""
    low = tf.reduce_min(x, [1, 2], keepdims=True)
    high = tf.reduce_max(x, [1, 2], keepdims=True)
    span = high - low
    return tf.where(span > 0, (x - low) / tf.where(span > 0, span, 1.0), x)


def equalize(x):
    """Histogram equalisation of each image and channel on 256 levels: a pixel
    becomes the share of the image's pixels at or below its level, rescaled so the
    darkest level maps to 0 and the brightest to 1 (unchanged where it is flat)."""
    b, (h, w, c) = tf.shape(x)[0], x.shape[1:]
    levels = tf.reshape(tf.transpose(tf.cast(tf.round(x * 255.0), tf.int32),
                                     [0, 3, 1, 2]), [-1, h * w])
    rows = tf.shape(levels)[0]
    histogram = tf.math.unsorted_segment_sum(
        tf.ones_like(levels, tf.float32), levels + 256 * tf.range(rows)[:, None],
        rows * 256)
    cumulative = tf.cumsum(tf.reshape(histogram, tf.stack([rows, 256])), axis=-1)
    at_or_below = tf.gather(cumulative, levels, batch_dims=1)
    darkest = tf.gather(cumulative, tf.reduce_min(levels, -1, keepdims=True),
                        batch_dims=1)
    span = h * w - darkest
    equalized = tf.where(span > 0, (at_or_below - darkest) / tf.maximum(span, 1.0),
                         tf.cast(levels, tf.float32) / 255.0)
    return tf.transpose(tf.reshape(equalized, tf.stack([b, c, h, w])), [0, 2, 3, 1])


def _grayscale(x):
    if x.shape[-1] != 3:
        return x
    return tf.reduce_sum(x * tf.constant([0.299, 0.587, 0.114]), -1, keepdims=True) \
        + tf.zeros_like(x)


def _smoothed(x):
    """PIL's smoothing filter (1 1 1 / 1 5 1 / 1 1 1, over 13) inside the image,
    the border pixels unchanged: the base sharpness blends away from."""
    c = x.shape[-1]
    kernel = tf.constant([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, c, 1])
    smooth = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")
    return tf.pad(smooth - x[:, 1:-1, 1:-1], [[0, 0], [1, 1], [1, 1], [0, 0]]) + x
