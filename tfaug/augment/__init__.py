"""Augmentations with one interface: aug(images, labels, classifier, training, seed).

Latent (on-manifold, through a LatentModel such as a Glow): LatentRandom,
LatentAdversarial. Image space: Standard (pad-crop-flip), Mixup, Cutout, ImagePGD,
NoAugmentation. Compose chains them (Standard first, as the paper does).
"""

from tfaug.augment.base import (Augmentation, Compose, LatentModel, NoAugmentation,
                                PartialAugmentation)
from tfaug.augment.image import Cutout, ImagePGD, Mixup, Standard
from tfaug.augment.latent import LatentAdversarial, LatentRandom

__all__ = ["Augmentation", "Compose", "Cutout", "ImagePGD", "LatentAdversarial",
           "LatentModel", "LatentRandom", "Mixup", "NoAugmentation",
           "PartialAugmentation", "Standard"]
