"""Per-example norms, projections and steepest-ascent directions (L2 and Linf).

Every tensor is a batch; norms run over all non-batch axes.
"""

import tensorflow as tf

from tfaug.errors import ConfigError

NORMS = ("l2", "linf")


def check_norm(norm, allow_none=False):
    if norm not in NORMS and not (allow_none and norm is None):
        raise ConfigError(f"norm must be one of {NORMS}{' or None' if allow_none else ''}"
                          f", got {norm!r}.")


def _axes(t):
    return list(range(1, t.shape.rank))


def l2_norm(t):
    """(B, 1, ..., 1) L2 norms, broadcastable against t."""
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=_axes(t), keepdims=True))


def project(delta, eps, norm):
    """The closest point of the eps-ball (of `norm`) to each example of delta."""
    if norm == "linf":
        return tf.clip_by_value(delta, -eps, eps)
    if norm == "l2":
        return delta * tf.minimum(1.0, eps / tf.maximum(l2_norm(delta), 1e-12))
    return delta


def ascent_direction(grad, norm):
    """The unit-norm steepest-ascent step: sign(g) for Linf, g / ||g|| for L2."""
    if norm == "linf":
        return tf.sign(grad)
    return grad / tf.maximum(l2_norm(grad), 1e-12)


def uniform_start(shape, eps, norm, seed):
    """Uniform in [-eps, eps]^D, rescaled into the L2 ball for L2 (reference code)."""
    delta = tf.random.stateless_uniform(shape, seed, minval=-eps, maxval=eps)
    return project(delta, eps, norm)
