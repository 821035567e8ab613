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
    """Coupling over event shape (H, W, C), C even; `params(xa) -> (t, raw)`, raw the
    scale's pre-activation (None when additive), turned into the scale, its inverse
    and its log by each subclass (so mapping never computes a log it does not need)."""

    def __init__(self, params, additive: bool, name="coupling"):
        super().__init__(forward_min_event_ndims=3, is_constant_jacobian=additive,
                         validate_args=False, name=name)
        self._params = IdentityMemo(lambda x: params(tf.split(x, 2, axis=-1)[0]))

    def _forward(self, x):
        xa, xb = tf.split(x, 2, axis=-1)
        shift, raw = self._params(x)
        return tf.concat([xa, self._apply(xb, shift, raw)], axis=-1)

    def _inverse(self, z):
        za, zb = tf.split(z, 2, axis=-1)
        shift, raw = self._params(z)  # za == xa: same network input
        return tf.concat([za, self._undo(zb, shift, raw)], axis=-1)

    def _forward_log_det_jacobian(self, x):
        _, raw = self._params(x)
        if raw is None:
            return tf.zeros(tf.shape(x)[:-3], x.dtype)
        return tf.reduce_sum(self._log_scale(raw), axis=[-3, -2, -1])

    def _inverse_log_det_jacobian(self, z):
        return -self._forward_log_det_jacobian(z)


class _ShiftThenScale(AffineCouplingBijector):
    """scale = sigmoid(raw): 1 / scale = 1 + exp(-raw), log scale = log_sigmoid(raw)."""

    def _apply(self, xb, shift, raw):
        return (xb + shift) * tf.sigmoid(raw)

    def _undo(self, zb, shift, raw):
        return zb * (1.0 + tf.exp(-raw)) - shift

    def _log_scale(self, raw):
        return tf.math.log_sigmoid(raw)


class _ScaleThenShift(AffineCouplingBijector):
    """log scale = raw (already a * tanh(.))."""

    def _apply(self, xb, shift, raw):
        return xb * tf.exp(raw) + shift

    def _undo(self, zb, shift, raw):
        return (zb - shift) * tf.exp(-raw)

    def _log_scale(self, raw):
        return raw


class _Additive(AffineCouplingBijector):
    def _apply(self, xb, shift, raw):
        return xb + shift

    def _undo(self, zb, shift, raw):
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
            return shift, raw + 2.0
        return shift, tf.convert_to_tensor(self.tanh_scale) * tf.tanh(raw)

    def bijector(self):
        cls = {"sigmoid": _ShiftThenScale, "tanh": _ScaleThenShift,
               "additive": _Additive}[self.kind]
        return cls(self._params, additive=self.kind == "additive")
