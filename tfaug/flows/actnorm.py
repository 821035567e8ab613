"""ActNorm (Kingma & Dhariwal 2018): a per-channel affine map, z = (x + b) * exp(s).

Built from TFP's Shift and Scale; log|det| = H * W * sum(s). Followed by a 1x1 conv
(as in every Glow step) the two are one per-pixel affine map (`fused_with`). Data-dependent
initialisation makes the first batch's outputs zero-mean, unit-variance per channel;
the `initialized` flag is a variable, so it travels with checkpoints and a restored
flow is never re-initialised.
"""

import keras
import tensorflow as tf

from tfaug.flows.base import FlowLayer, tfb


class ActNorm(FlowLayer):

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros",
                                         name="log_scale")
        self.initialized = self.add_weight(shape=(), initializer="zeros",
                                           trainable=False, name="initialized")

    def bijector(self):
        return tfb.Chain([tfb.Scale(log_scale=tf.convert_to_tensor(self.log_scale)),
                          tfb.Shift(tf.convert_to_tensor(self.bias))])

    def fused_with(self, following):
        from tfaug.flows.conv1x1 import Invertible1x1Conv, PixelwiseAffine
        if not isinstance(following, Invertible1x1Conv):
            return None
        w, log_abs_det_w = following.matrix_and_log_abs_det()
        s, b = tf.convert_to_tensor(self.log_scale), tf.convert_to_tensor(self.bias)
        scale = tf.exp(s)
        return PixelwiseAffine(w * scale, tf.linalg.matvec(w, b * scale),  # W diag(e^s)
                               tf.reduce_sum(s) + log_abs_det_w)

    def initialize(self, x):
        if float(self.initialized.numpy()) > 0:
            return
        mean, var = tf.nn.moments(x, axes=[0, 1, 2])
        self.bias.assign(-mean)
        self.log_scale.assign(-0.5 * tf.math.log(var + 1e-6))
        self.initialized.assign(1.0)


keras.saving.register_keras_serializable("tfaug")(ActNorm)
