"""tfaug: semantic, on-manifold data augmentation with normalizing flows.

The public API (what README shows):
    tfaug.AugmentedModel        any Keras classifier, trained with an augmentation
    tfaug.AugmentationLayer     an augmentation as a training-only Keras layer
    tfaug.data                  datasets by name: load("folder:PATH"), pipelines
    tfaug.flows                 Glow; load(DIR), pretrained(NAME)
    tfaug.augment               LatentRandom, LatentAdversarial, Standard, ...
    tfaug.models                the classifiers the studies use

Names load on first use, so `import tfaug` alone does not import TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {"AugmentedModel": "tfaug.trainers.augmented",
            "AugmentationLayer": "tfaug.augment.layer"}
_SUBPACKAGES = ("augment", "data", "flows", "models")
__all__ = [*_EXPORTS, *_SUBPACKAGES]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tfaug.{name}")
    raise AttributeError(f"module 'tfaug' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
