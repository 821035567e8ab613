"""Pieces shared by the classifiers."""

import keras
import numpy as np
from keras import layers

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def ends_in_softmax(model: keras.Model) -> bool:
    """Whether `model`'s last layer (inside nested models too) is a softmax, so it
    returns probabilities where tfaug needs logits."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(last, keras.Model):
        return ends_in_softmax(last)
    if isinstance(last, keras.layers.Softmax):
        return True
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", None) == "softmax"


def standardize(inputs, mean=None, std=None):
    """(x - mean) / std per channel; defaults 0.5 / 0.25 for images in [0, 1]."""
    c = inputs.shape[-1]
    mean = np.broadcast_to(np.asarray(0.5 if mean is None else mean, np.float32), (c,))
    std = np.broadcast_to(np.asarray(0.25 if std is None else std, np.float32), (c,))
    return layers.Normalization(mean=mean, variance=np.square(std))(inputs)


def with_precision(model: keras.Model, policy: str) -> keras.Model:
    """`model` rebuilt with every layer under the Keras dtype policy `policy`
    (variables float32, computation in its low-precision type), with float32 outputs
    so losses and attack gradients stay float32. "float32" returns `model`."""
    if policy == "float32":
        return model

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = policy
        return layer.__class__.from_config(config)
    low = keras.models.clone_model(model, clone_function=clone)
    low.set_weights(model.get_weights())  # the float32 model's initial weights
    logits = layers.Activation("linear", dtype="float32", name="float32_logits")(
        low.output)
    return keras.Model(low.input, logits, name=model.name)
