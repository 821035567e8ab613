"""Each bijector's log-det against the brute-force Jacobian, and its inverse."""

import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import brute_force_log_det, randomize
from tfaug.flows.actnorm import ActNorm
from tfaug.flows.conv1x1 import Invertible1x1Conv
from tfaug.flows.coupling import Coupling
from tfaug.flows.preprocess import Logit
from tfaug.flows.split import SplitPrior
from tfaug.flows.squeeze import Squeeze

SHAPE = (2, 4, 4, 4)


def _layers():
    return {
        "actnorm": lambda: ActNorm(4),
        "conv1x1_lu": lambda: Invertible1x1Conv(4, "lu", seed=1),
        "conv1x1_plain": lambda: Invertible1x1Conv(4, "plain", seed=1),
        "coupling_sigmoid": lambda: Coupling(4, 8, "sigmoid"),
        "coupling_tanh": lambda: Coupling(4, 8, "tanh"),
        "coupling_additive": lambda: Coupling(4, 8, "additive"),
        "squeeze": lambda: Squeeze((4, 4, 4)),
        "unsqueeze": lambda: Squeeze((8, 8, 1), inverse=True),
        "split_prior": lambda: SplitPrior(4, [Squeeze((4, 4, 2)),
                                              Coupling(8, 8, "sigmoid"),
                                              Squeeze((4, 4, 2), inverse=True)]),
    }


@pytest.mark.parametrize("name", sorted(_layers()))
def test_log_det_matches_brute_force_jacobian(name):
    layer = _layers()[name]()
    randomize(layer, seed=3)
    x = tf.random.stateless_normal(SHAPE, seed=(1, 2))
    expected = brute_force_log_det(lambda t: layer.bijector().forward(t), x)
    actual = layer.bijector().forward_log_det_jacobian(x, event_ndims=3)
    actual = np.broadcast_to(actual.numpy(), (SHAPE[0],))
    np.testing.assert_allclose(actual, expected.numpy(), rtol=1e-3, atol=1e-3)
    if name not in ("squeeze", "unsqueeze", "coupling_additive"):
        assert np.abs(expected.numpy()).max() > 0.1  # the test is not trivial


@pytest.mark.parametrize("name", sorted(_layers()))
def test_inverse_undoes_forward_on_fresh_tensor(name):
    layer = _layers()[name]()
    randomize(layer, seed=4)
    x = tf.random.stateless_normal(SHAPE, seed=(3, 4))
    z = layer.bijector().forward(x)
    fresh = tf.constant(z.numpy())  # TFP caches by tensor identity
    np.testing.assert_allclose(layer.bijector().inverse(fresh).numpy(), x.numpy(),
                               atol=1e-5)


def test_logit_log_det_matches_brute_force():
    x = tf.random.stateless_uniform((2, 2, 2, 1), seed=(5, 6))
    expected = brute_force_log_det(lambda t: Logit().bijector().forward(t), x)
    actual = Logit().bijector().forward_log_det_jacobian(x, event_ndims=3)
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-4)


def test_actnorm_data_init_standardises_and_is_done_once():
    layer = ActNorm(3)
    x = 5.0 + 2.0 * tf.random.stateless_normal((16, 4, 4, 3), seed=(7, 8))
    layer.initialize(x)
    z = layer.bijector().forward(x).numpy()
    np.testing.assert_allclose(z.mean((0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(z.std((0, 1, 2)), 1, atol=1e-3)
    before = layer.bias.numpy().copy()
    layer.initialize(x * 3.0)
    np.testing.assert_array_equal(layer.bias.numpy(), before)


def test_couplings_start_as_identity():
    layer = Coupling(4, 8, "sigmoid")
    x = tf.random.stateless_normal(SHAPE, seed=(9, 9))
    # sigmoid(0 + 2) scales xb; the zero-initialised net gives shift 0
    xa, xb = np.split(x.numpy(), 2, axis=-1)
    z = layer.bijector().forward(x).numpy()
    np.testing.assert_allclose(z[..., :2], xa)
    np.testing.assert_allclose(z[..., 2:], xb / (1 + np.exp(-2.0)), rtol=1e-6)


def test_decode_gradient_is_finite_far_off_the_manifold():
    # TFP's Sigmoid gives NaN gradients for inputs > ~88 (tf.where over exp(x) = inf);
    # the logit pre-processing must not, or latent attacks turn images into NaN.
    s = tf.constant([[[[-200.0], [-50.0]], [[50.0], [200.0]]]])
    with tf.GradientTape() as tape:
        tape.watch(s)
        y = Logit().bijector().inverse(s)
    grad = tape.gradient(y, s)
    assert np.all(np.isfinite(grad.numpy())) and np.all(np.isfinite(y.numpy()))
