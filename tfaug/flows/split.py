"""Multi-scale factor-out with a learned conditional prior (Dinh et al. 2017).

The input (H, W, C) splits by channel into (h, z). h continues through the deeper
levels (`inner`); z is factored out with prior N(mu(h), sigma(h)^2), mu and log sigma
from a zero-initialised conv3x3 of h. The bijector standardises z,
  eps = (z - mu(h)) / sigma(h),     log|det| = inner's - sum log sigma(h),
so every latent coordinate the flow outputs has prior N(0, 1).
"""

import keras
import tensorflow as tf

from tfaug.flows.base import FlowLayer, IdentityMemo, chain, initialize_sequence, tfb


class SplitPriorBijector(tfb.Bijector):

    def __init__(self, inner: tfb.Bijector, prior, name="split_prior"):
        super().__init__(forward_min_event_ndims=3, validate_args=False, name=name)
        self._inner = inner
        self._split = IdentityMemo(lambda x: tf.split(x, 2, axis=-1))
        self._prior = IdentityMemo(lambda h: tf.split(prior(h), 2, axis=-1))

    def _forward(self, x):
        h, z = self._split(x)
        mean, log_sigma = self._prior(h)
        return tf.concat([self._inner.forward(h), (z - mean) * tf.exp(-log_sigma)], -1)

    def _inverse(self, y):
        h_out, eps = tf.split(y, 2, axis=-1)
        h = self._inner.inverse(h_out)
        mean, log_sigma = self._prior(h)
        return tf.concat([h, eps * tf.exp(log_sigma) + mean], axis=-1)

    def _forward_log_det_jacobian(self, x):
        h, _ = self._split(x)
        _, log_sigma = self._prior(h)
        return (self._inner.forward_log_det_jacobian(h, event_ndims=3)
                - tf.reduce_sum(log_sigma, axis=[-3, -2, -1]))

    def _inverse_log_det_jacobian(self, y):
        return -self._forward_log_det_jacobian(self.inverse(y))


class SplitPrior(FlowLayer):
    """Owns the prior network and the deeper levels' layers."""

    def __init__(self, channels: int, inner_layers, **kwargs):
        super().__init__(**kwargs)
        self.inner_layers = list(inner_layers)
        self.prior = keras.Sequential([
            keras.Input((None, None, channels // 2)),
            keras.layers.Conv2D(channels, 3, padding="same",
                                kernel_initializer="zeros"),
        ])

    def bijector(self):
        return SplitPriorBijector(chain(self.inner_layers), self.prior)

    def initialize(self, x):
        h, _ = tf.split(x, 2, axis=-1)
        initialize_sequence(self.inner_layers, h)
