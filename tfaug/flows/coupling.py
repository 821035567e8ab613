"""Affine and additive coupling (Dinh et al. 2017; Kingma & Dhariwal 2018).

The input splits by channel into (xa, xb); xa passes unchanged and conditions a
network h = NN(xa) that transforms xb:
  "sigmoid" (openai Glow): zb = (xb + t) * sigmoid(r + 2),      log|det| = sum log sigmoid(r + 2)
  "tanh"    (reference):   zb = xb * exp(a * tanh(r)) + t,      log|det| = sum a * tanh(r)
  "additive":              zb = xb + t,                         log|det| = 0
with (t, r) the two halves of h and a a learned per-channel scale. The network is
conv3x3 -> ReLU -> conv1x1 -> ReLU -> conv3x3, the last zero-initialised so that
every coupling starts as the identity.
"""

import keras
import tensorflow as tf

from tfaug.flows.base import FlowLayer, IdentityMemo, tfb

COUPLINGS = ("sigmoid", "tanh", "additive")


class AffineCouplingBijector(tfb.Bijector):
    """Coupling over event shape (H, W, C), C even; `params(xa) -> (t, log_scale)`."""

    def __init__(self, params, additive: bool, name="coupling"):
        super().__init__(forward_min_event_ndims=3, is_constant_jacobian=additive,
                         validate_args=False, name=name)
        self._params = IdentityMemo(lambda x: params(tf.split(x, 2, axis=-1)[0]))

    def _forward(self, x):
        xa, xb = tf.split(x, 2, axis=-1)
        shift, log_scale = self._params(x)
        return tf.concat([xa, self._apply(xb, shift, log_scale)], axis=-1)

    def _inverse(self, z):
        za, zb = tf.split(z, 2, axis=-1)
        shift, log_scale = self._params(z)  # za == xa: same network input
        return tf.concat([za, self._undo(zb, shift, log_scale)], axis=-1)

    def _forward_log_det_jacobian(self, x):
        _, log_scale = self._params(x)
        if log_scale is None:
            return tf.zeros(tf.shape(x)[:-3], x.dtype)
        return tf.reduce_sum(log_scale, axis=[-3, -2, -1])

    def _inverse_log_det_jacobian(self, z):
        return -self._forward_log_det_jacobian(z)


class _ShiftThenScale(AffineCouplingBijector):
    def _apply(self, xb, shift, log_scale):
        return (xb + shift) * tf.exp(log_scale)

    def _undo(self, zb, shift, log_scale):
        return zb * tf.exp(-log_scale) - shift


class _ScaleThenShift(AffineCouplingBijector):
    def _apply(self, xb, shift, log_scale):
        return xb * tf.exp(log_scale) + shift

    def _undo(self, zb, shift, log_scale):
        return (zb - shift) * tf.exp(-log_scale)


class _Additive(AffineCouplingBijector):
    def _apply(self, xb, shift, log_scale):
        return xb + shift

    def _undo(self, zb, shift, log_scale):
        return zb - shift


class Coupling(FlowLayer):
    """Owns the coupling network (and the tanh scale) and builds the bijector."""

    def __init__(self, channels: int, width: int, kind: str = "sigmoid", seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {kind!r}.")
        if channels % 2:
            raise ValueError(f"coupling needs an even channel count, got {channels}.")
        self.kind, half = kind, channels // 2
        out = half if kind == "additive" else 2 * half
        self.net = keras.Sequential([
            keras.Input((None, None, half)),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(seed)),
            keras.layers.Conv2D(width, 1, activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(
                                    seed + 1)),
            keras.layers.Conv2D(out, 3, padding="same", kernel_initializer="zeros"),
        ])
        if kind == "tanh":
            self.tanh_scale = self.add_weight(shape=(half,), initializer="ones",
                                              name="tanh_scale")

    def _params(self, xa):
        h = self.net(xa)
        if self.kind == "additive":
            return h, None
        shift, raw = tf.split(h, 2, axis=-1)
        if self.kind == "sigmoid":
            return shift, tf.math.log_sigmoid(raw + 2.0)
        return shift, tf.convert_to_tensor(self.tanh_scale) * tf.tanh(raw)

    def bijector(self):
        cls = {"sigmoid": _ShiftThenScale, "tanh": _ScaleThenShift,
               "additive": _Additive}[self.kind]
        return cls(self._params, additive=self.kind == "additive")
