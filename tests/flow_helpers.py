"""Helpers for flow tests: random weights, brute-force log-determinants, toy images."""

import numpy as np
import tensorflow as tf

from tfaug.data.labeled import DatasetInfo, LabeledImages


def randomize(layer, seed=0, scale=0.1):
    """Gives every float variable of `layer` random values (so no step is the
    identity), keeping LU diagonals away from zero."""
    rng = np.random.default_rng(seed)
    for v in layer.variables:
        if "float" not in str(v.dtype) or v.name == "initialized":
            continue
        value = scale * rng.standard_normal(v.shape)
        if v.name == "lower_upper":
            value += np.eye(v.shape[0])
        v.assign(value.astype(np.float32))


def brute_force_log_det(fn, x):
    """log|det J| of fn at each example of x, from the full Jacobian."""
    shape = x.shape
    flat = tf.reshape(x, (shape[0], -1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(flat)
        out = tf.reshape(fn(tf.reshape(flat, shape)), (shape[0], -1))
    jac = tape.batch_jacobian(out, flat, experimental_use_pfor=False)
    return tf.linalg.slogdet(tf.cast(jac, tf.float64))[1]


def toy_images(n=64, shape=(8, 8, 1), seed=0):
    """Structured uint8 images (blurred blobs plus noise): learnable by a flow."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w]
    centres = rng.uniform(0, h, (n, 2))
    blobs = np.exp(-((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2)
                   / 6.0)
    images = 200 * blobs[..., None] + rng.uniform(0, 40, (n, h, w, c))
    return np.clip(images, 0, 255).astype(np.uint8)


def toy_split(n=64, shape=(8, 8, 1), seed=0, split="train"):
    info = DatasetInfo("toy", split, shape, tuple("ab"), n, "memory")
    return LabeledImages(toy_images(n, shape, seed), np.arange(n) % 2, info)


def toy_flow():
    """A frozen 2-level Glow on 8x8x1, initialised on toy images."""
    from tfaug.flows import Glow, GlowConfig
    glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
    glow.initialize(toy_split(32).images / np.float32(255))
    glow.trainable = False
    return glow


def toy_batch(n=16, seed=0):
    """(images in [0, 1], one-hot labels) of n toy examples."""
    data = toy_split(n, seed=seed)
    return tf.constant(data.images / np.float32(255)), tf.one_hot(data.labels, 2)
