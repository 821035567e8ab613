"""Pre-processing between images and the flow's input.

Images x in [0, 1] hold 256 levels. The likelihood is that of y = (255 x + u) / 256
with u ~ U(0, 1) (uniform dequantisation; training loss and bits/dim only). Encoding is
deterministic: u = 1/2, the centre of x's bin, and decoding undoes it exactly.
The flow starts with the logit transform of y squeezed into [a, 1 - a] (a = 0.05, the
reference code's bound 0.9), whose log|det| counts in the likelihood:
    s = logit(a + (1 - 2a) y),   log|det| = sum log(1 - 2a) - log p - log(1 - p).
Unlike the reference code, decoding inverts the bound too, so it returns no
contrast-compressed images.
"""

import math

import tensorflow as tf

from tfaug.flows.base import FlowLayer, tfb

LEVELS = 256.0
ALPHA = 0.05


def centre(x):
    """Images in [0, 1] -> the centres of their dequantisation bins in (0, 1)."""
    return (x * (LEVELS - 1.0) + 0.5) / LEVELS


def uncentre(y):
    """Inverse of `centre`, clipped back to [0, 1]."""
    return tf.clip_by_value((y * LEVELS - 0.5) / (LEVELS - 1.0), 0.0, 1.0)


def dequantize(x, seed):
    """y = (255 x + u) / 256, u ~ U(0, 1), stateless given `seed` (shape [2] int)."""
    u = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
    return (x * (LEVELS - 1.0) + u) / LEVELS


class LogitBijector(tfb.Bijector):
    """y in (0, 1) -> logit(a + (1 - 2a) y), elementwise.

    Written out rather than as Invert(Sigmoid()) because TFP's Sigmoid computes
    tf.where(x < -9, exp(x), sigmoid(x)): for large x the unselected exp(x) is inf and
    its gradient inf * 0 = NaN, which breaks attacks differentiating through decode.
    """

    def __init__(self, alpha: float):
        super().__init__(forward_min_event_ndims=0, validate_args=False, name="logit")
        self.alpha = alpha

    def _forward(self, y):
        p = self.alpha + (1.0 - 2.0 * self.alpha) * y
        return tf.math.log(p) - tf.math.log1p(-p)

    def _inverse(self, s):
        return (tf.math.sigmoid(s) - self.alpha) / (1.0 - 2.0 * self.alpha)

    def _forward_log_det_jacobian(self, y):
        p = self.alpha + (1.0 - 2.0 * self.alpha) * y
        return math.log(1.0 - 2.0 * self.alpha) - tf.math.log(p) - tf.math.log1p(-p)


class Logit(FlowLayer):
    """The logit pre-processing as a (variable-free) flow layer."""

    def __init__(self, alpha: float = ALPHA, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def bijector(self):
        return LogitBijector(self.alpha)
