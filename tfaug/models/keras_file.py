"""A classifier of the user's own, from a Keras model file (`model.save("x.keras")`):
its architecture, with fresh weights drawn from Keras' seeded generators, so every
run of a study or a search starts as a built-in model does; or with the weights it
has, to fine-tune them."""

import os
import zipfile

import keras
import numpy as np

from tfaug.errors import CheckpointError, ConfigError, first_line
from tfaug.models.common import ends_in_softmax

SUFFIX = ".keras"


def is_model_file(name: str) -> bool:
    return name.endswith(SUFFIX)


def check_file(path: str, width: float = 1.0) -> None:
    """ConfigError unless `path` is a Keras model file that exists (width 1)."""
    if not os.path.isfile(path):
        raise ConfigError(f"No Keras model file {path!r}: save one with "
                          f"model.save({path!r}), or name a built-in model.")
    if width != 1.0:
        raise ConfigError(f"model_width {width:g} applies to the built-in models only; "
                          f"{path} is taken as it is: leave model_width at 1.")


def _first_sentence(error: Exception) -> str:
    """Keras' message up to its first full stop (its messages run to whole configs)."""
    return first_line(error, limit=None).split(". ")[0].rstrip(".")


def _load(path: str) -> keras.Model:
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path} is not a Keras model file (a .keras zip archive); "
                          "it may be cut short: save it again with model.save().")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises many kinds for a file it cannot read
        raise ConfigError(
            f"Cannot load the Keras model {path}: {_first_sentence(e)}. Entry points "
            "take models of Keras' own layers (saved with model.save); a model with "
            "custom layers or Lambda code trains in Python with "
            "tfaug.AugmentedModel.") from None


def from_file(path: str, input_shape, num_classes: int,
              saved_weights: bool = False) -> keras.Model:
    """The architecture saved at `path` with freshly initialised weights (or with its
    saved ones, to fine-tune), checked to map images of `input_shape` to
    `num_classes` logits."""
    saved = _load(path)  # build() checked the path
    if saved_weights:
        return _check_fit(saved, path, input_shape, num_classes)
    try:
        model = keras.models.clone_model(saved)  # new layers, new initial weights
    except Exception as e:
        raise ConfigError(f"Cannot rebuild the Keras model {path} with fresh weights "
                          f"({_first_sentence(e)}): save a Sequential or "
                          "functional model, or train a subclassed one in Python "
                          "with tfaug.AugmentedModel.") from None
    return _check_fit(model, path, input_shape, num_classes)


def _check_fit(model, path: str, input_shape, num_classes: int) -> keras.Model:
    """`model` (Sequential as functional), checked to map images of `input_shape` to
    `num_classes` logits."""
    shape = tuple(input_shape)

    def does_not_take(reason):
        return ConfigError(f"The Keras model {path} does not take images of shape "
                           f"{shape} ({reason}): give it keras.Input({shape}), or "
                           "convert the data with --image_size or --channels.")
    takes = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if takes is not None and (len(takes) != len(shape) or any(
            t not in (None, s) for t, s in zip(takes, shape))):
        raise does_not_take(f"it takes {takes}")
    try:
        if isinstance(model, keras.Sequential):  # as functional, like the built-ins
            inputs = x = keras.Input(shape)
            for layer in model.layers:
                x = layer(x)
            model = keras.Model(inputs, x, name=model.name)
        logits = model(np.zeros((1, *shape), np.float32))
    except Exception as e:
        raise does_not_take(_first_sentence(e)) from None
    if tuple(logits.shape) != (1, num_classes):
        raise ConfigError(f"The Keras model {path} outputs shape "
                          f"{tuple(logits.shape)[1:]} per image; the data has "
                          f"{num_classes} classes: end it in "
                          f"keras.layers.Dense({num_classes}).")
    if ends_in_softmax(model):
        raise ConfigError(f"The Keras model {path} ends in a softmax; tfaug trains on "
                          "logits (the attack and the loss take them): drop the "
                          "softmax activation of its last layer.")
    return model


def load_trained(path: str, build, input_shape, num_classes: int) -> keras.Model:
    """A trained classifier: a .keras file as it is (checked against the data), or
    `.weights.h5` weights loaded into `build()`, the architecture they came from."""
    if not os.path.isfile(path):
        raise CheckpointError(f"No trained classifier at {path}: give a train_classifier "
                              "run's classifier.keras or classifier.weights.h5.")
    if is_model_file(path):
        return _check_fit(_load(path), path, input_shape, num_classes)
    model = build()
    try:
        model.load_weights(path)
    except Exception as e:
        raise CheckpointError(f"Cannot load {path} into the classifier "
                              f"({_first_sentence(e)}): give the --model (and "
                              "width) it was trained with, or its classifier.keras.") \
            from None
    return model
