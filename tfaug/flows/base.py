"""FlowLayer: a Keras layer that owns variables and builds a TFP bijector from them.

Keras 3 variables are not tf.Variables, and a TFP bijector handed one converts it to a
constant. So every flow layer keeps its variables and builds its bijector anew from
their current values on each call (`bijector()`); inside a tf.function this costs
nothing after tracing. Direction throughout tfaug.flows: `forward` normalises,
mapping data (event shape (H, W, C)) to latent; `inverse` generates.
"""

import keras
import tensorflow_probability as tfp

tfb = tfp.bijectors


class FlowLayer(keras.layers.Layer):
    """A step of a flow: holds variables, gives a bijector, may initialise from data."""

    def bijector(self) -> tfb.Bijector:
        raise NotImplementedError

    def initialize(self, x) -> None:
        """Data-dependent initialisation from a batch `x` of this layer's inputs."""

    def fused_with(self, following: "FlowLayer"):
        """One bijector doing this layer then `following`, when cheaper than the two
        (e.g. ActNorm + 1x1 conv as one matmul); None otherwise."""
        return None


def chain(layers) -> tfb.Bijector:
    """The bijector applying `layers` in order (TFP's Chain applies the last first),
    with adjacent layers fused where a layer knows how (`fused_with`)."""
    bijectors, i = [], 0
    while i < len(layers):
        fused = layers[i].fused_with(layers[i + 1]) if i + 1 < len(layers) else None
        bijectors.append(fused if fused is not None else layers[i].bijector())
        i += 2 if fused is not None else 1
    return tfb.Chain(bijectors[::-1])


def initialize_sequence(layers, x):
    """Initialises `layers` in order, each from the output of those before it."""
    for layer in layers:
        layer.initialize(x)
        x = layer.bijector().forward(x)
    return x


class IdentityMemo:
    """Caches f(tensor) by tensor identity for the life of one bijector.

    TFP asks a bijector for its mapping and its log-det separately; a coupling would
    run its network twice. Bijectors are rebuilt for every call, so this memo lives
    exactly as long as one encode/decode/log-prob computation.
    """

    def __init__(self, fn):
        self._fn, self._store = fn, {}

    def __call__(self, tensor):
        hit = self._store.get(id(tensor))
        if hit is None or hit[0] is not tensor:
            hit = (tensor, self._fn(tensor))
            self._store[id(tensor)] = hit
        return hit[1]
