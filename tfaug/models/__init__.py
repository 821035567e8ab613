"""Classifiers (all return logits): ResNet-18 (CIFAR variant), a small CNN and
LeNet-5 (the paper's MNIST classifier)."""

from tfaug.errors import ConfigError
from tfaug.models.common import PRECISIONS, with_precision
from tfaug.models.lenet import lenet
from tfaug.models.resnet import resnet18
from tfaug.models.small_cnn import small_cnn

MODELS = {"lenet": lenet, "resnet18": resnet18, "small_cnn": small_cnn}


def build(name: str, input_shape, num_classes: int, **kwargs):
    """The classifier `name` (lenet, resnet18 or small_cnn)."""
    if name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}; choose one of "
                          f"{', '.join(sorted(MODELS))}.")
    return MODELS[name](tuple(input_shape), num_classes, **kwargs)


__all__ = ["MODELS", "PRECISIONS", "build", "lenet", "resnet18", "small_cnn",
           "with_precision"]
