"""Stateless Gamma and Beta sampling that XLA can compile (TF's stateless gamma has
no XLA kernel, so Mixup could not run inside a jit-compiled training step).

Gamma(a), a >= 1, by Marsaglia & Tsang (2000): with d = a - 1/3, c = 1 / sqrt(9d),
x ~ N(0, 1), v = (1 + c x)^3 and u ~ U(0, 1), accept d v when v > 0 and
log u < x^2 / 2 + d - d v + d log v. Each draw makes `proposals` vectorised proposals
and keeps the first accepted one; a single proposal is accepted with probability
above 0.95, so all 16 fail with probability below 1e-20. For a < 1:
Gamma(a) = Gamma(a + 1) * U^(1/a).
"""

import tensorflow as tf


def stateless_gamma(shape, seed, alpha: float, proposals: int = 16):
    s_norm, s_unif, s_boost = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    a = alpha if alpha >= 1.0 else alpha + 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    rank = len(shape)  # entries may be tensors (a batch size known at run time)
    shape = tf.stack([tf.cast(n, tf.int32) for n in shape])
    x = tf.random.stateless_normal(tf.concat([[proposals], shape], 0), s_norm)
    u = tf.random.stateless_uniform(tf.concat([[proposals], shape], 0), s_unif,
                                    minval=1e-12)
    v = (1.0 + c * x) ** 3
    safe_v = tf.maximum(v, 1e-12)
    accepted = (v > 0) & (tf.math.log(u) < 0.5 * x * x + d - d * safe_v
                          + d * tf.math.log(safe_v))
    first = tf.argmax(tf.cast(accepted, tf.int32), axis=0)  # first accepted proposal
    sample = d * tf.gather(tf.transpose(safe_v, list(range(1, rank + 1)) + [0]),
                           first[..., None], batch_dims=rank)[..., 0]
    if alpha < 1.0:
        boost = tf.random.stateless_uniform(shape, s_boost, minval=1e-12)
        sample = sample * boost ** (1.0 / alpha)
    return sample


def stateless_beta(shape, seed, alpha: float):
    """Beta(alpha, alpha) as G1 / (G1 + G2), Gi ~ Gamma(alpha)."""
    s1, s2 = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    g1, g2 = stateless_gamma(shape, s1, alpha), stateless_gamma(shape, s2, alpha)
    return g1 / tf.maximum(g1 + g2, 1e-30)
