"""Classifiers (all return logits): ResNet-18 (CIFAR variant), a small CNN,
LeNet-5 (the paper's MNIST classifier), or a Keras model file of the user's own."""

from tfaug.errors import ConfigError
from tfaug.models.common import PRECISIONS, ends_in_softmax, with_precision
from tfaug.models.keras_file import check_file, from_file, is_model_file, load_trained
from tfaug.models.lenet import lenet
from tfaug.models.resnet import resnet18
from tfaug.models.small_cnn import small_cnn

MODELS = {"lenet": lenet, "resnet18": resnet18, "small_cnn": small_cnn}


def check(name: str, width: float = 1.0, saved_weights: bool = False) -> None:
    """ConfigError unless `name` is a built-in model or an existing .keras file (a
    file if `saved_weights`: built-in models have none)."""
    if saved_weights and not is_model_file(name):
        raise ConfigError(f"Saved weights come from a Keras model file; {name!r} is not "
                          "one: give --model=PATH.keras, or model_weights=fresh.")
    if is_model_file(name):
        check_file(name, width)
    elif name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}; choose one of "
                          f"{', '.join(sorted(MODELS))}, or a Keras model file "
                          "(PATH.keras).")


def build(name: str, input_shape, num_classes: int, width: float = 1.0,
          saved_weights: bool = False, **kwargs):
    """The classifier `name` (lenet, resnet18, small_cnn, or PATH.keras: that
    architecture with fresh weights, or with its own if `saved_weights`)."""
    check(name, width, saved_weights)
    if is_model_file(name):
        return from_file(name, input_shape, num_classes, saved_weights)
    return MODELS[name](tuple(input_shape), num_classes, width=width, **kwargs)


__all__ = ["MODELS", "PRECISIONS", "build", "check", "lenet", "load_trained", "resnet18",
           "small_cnn", "with_precision"]
