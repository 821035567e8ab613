"""Augmentations with one interface: aug(images, labels, classifier, training, seed).

Latent (on-manifold, through a LatentModel such as a Glow): LatentRandom,
LatentAdversarial. Image space: Standard (pad-crop-flip), Mixup, Cutout, RandAugment,
ImagePGD, NoAugmentation. Compose chains them (Standard first, as the paper does; a latent
perturbation first lets the trainer cache the clean images' latents). By name and
spec: tfaug.augment.registry. FixMatch: consistency training on unlabelled images, a
part of a spec like any other (its views are augmentations themselves).
"""

from tfaug.augment.base import (Augmentation, Compose, Examples, FreeGradients,
                                LatentModel, NoAugmentation, PartialAugmentation,
                                bind_classes)
from tfaug.augment.consistency import FixMatch
from tfaug.augment.image import Cutout, ImagePGD, Mixup, Standard
from tfaug.augment.latent import LatentAdversarial, LatentRandom
from tfaug.augment.randaugment import RandAugment

__all__ = ["Augmentation", "Compose", "Cutout", "Examples", "FixMatch", "FreeGradients",
           "ImagePGD", "LatentAdversarial", "LatentModel", "LatentRandom", "Mixup",
           "NoAugmentation", "PartialAugmentation", "RandAugment", "Standard",
           "bind_classes"]
