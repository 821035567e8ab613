"""The augmentation interface and its plumbing.

An augmentation maps a batch to a batch inside a compiled training step:

    images, labels = aug(images, labels, classifier, training, seed)

images: float32 (B, H, W, C) in [0, 1]; labels: one-hot (or soft) float32 (B, K);
classifier: the Keras model being trained (adversarial augmentations attack it, in
inference mode); seed: int tensor of shape [2] for stateless randomness (the trainer
derives it from the step, so a resumed run draws the same noise). Without a seed, an
internal keras SeedGenerator is used.
"""

from typing import Protocol

import keras
import tensorflow as tf

from tfaug.errors import ConfigError


class LatentModel(Protocol):
    """An encoder/decoder pair: a Glow exactly, a VAE-GAN approximately."""

    def encode(self, x, validate: bool = True): ...

    def decode(self, z): ...


def bind_classes(model, classes):
    """The LatentModel for a batch of images of (integer) `classes`: a class-specific
    model (one with `for_classes`) bound to them, any other model as it is."""
    bind = getattr(model, "for_classes", None)
    return model if bind is None else bind(classes)


class Augmentation:
    """Base class: identity. Subclasses override `augment`."""

    def __init__(self, seed: int = 0):
        self._seed_generator = None
        self._fallback_seed = seed

    def __call__(self, images, labels, classifier=None, training=True, seed=None):
        if not training:
            return images, labels
        if seed is None:
            if self._seed_generator is None:
                self._seed_generator = keras.random.SeedGenerator(self._fallback_seed)
            seed = tf.cast(self._seed_generator.next()[:2], tf.int32)
        return self.augment(images, labels, classifier, seed)

    def augment(self, images, labels, classifier, seed):
        return images, labels

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k != "flow")
        return f"{type(self).__name__}({params})"


NoAugmentation = Augmentation


class Compose(Augmentation):
    """Applies augmentations in order (e.g. Standard, then a latent perturbation)."""

    def __init__(self, *augmentations):
        super().__init__()
        self.augmentations = augmentations

    def augment(self, images, labels, classifier, seed):
        seeds = tf.random.experimental.stateless_split(seed, len(self.augmentations))
        for aug, s in zip(self.augmentations, tf.unstack(seeds)):
            images, labels = aug.augment(images, labels, classifier, s)
        return images, labels


class PartialAugmentation(Augmentation):
    """Perturbs the first `ratio` of each batch and leaves the rest clean (the batch
    is shuffled already); `perturb` sees only the part it replaces."""

    def __init__(self, ratio: float = 1.0, seed: int = 0):
        super().__init__(seed)
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(f"ratio must be in [0, 1], got {ratio}.")
        self.ratio = ratio

    def augment(self, images, labels, classifier, seed):
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        if isinstance(batch, int):
            n = int(round(self.ratio * batch))
            if n == 0:
                return images, labels
        else:
            n = tf.cast(tf.round(self.ratio * tf.cast(batch, tf.float32)), tf.int32)
        perturbed = self.perturb(images[:n], labels[:n], classifier, seed)
        return tf.concat([perturbed, images[n:]], axis=0), labels

    def perturb(self, images, labels, classifier, seed):
        raise NotImplementedError


def finite_or_clean(perturbed, clean):
    """Per image: the perturbed version if it is finite, else the clean one. A
    decoder can overflow far off its manifold, which PGD may seek out; one such
    image must not turn the classifier's weights into NaN."""
    ok = tf.reduce_all(tf.math.is_finite(perturbed), axis=[1, 2, 3], keepdims=True)
    return tf.where(ok, perturbed, clean)


def check_positive(name, value, allow_zero=True):
    if value is None or value < 0 or (not allow_zero and value == 0):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got "
                          f"{value!r}.")
