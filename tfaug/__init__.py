"""tfaug: semantic, on-manifold data augmentation with normalizing flows."""

__version__ = "0.1.0"
