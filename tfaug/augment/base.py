"""The augmentation interface and its plumbing.

An augmentation maps a batch to a batch inside a compiled training step:

    images, labels = aug(images, labels, classifier, training, seed, examples)

images: float32 (B, H, W, C) in [0, 1]; labels: one-hot (or soft) float32 (B, K);
classifier: the Keras model being trained (adversarial augmentations attack it, in
inference mode); seed: int tensor of shape [2] for stateless randomness (the trainer
derives it from the step, so a resumed run draws the same noise; without one, an
internal keras SeedGenerator is used); examples: what the trainer knows of the batch
beyond its pixels (`Examples`: positions in the training set, cached latents).

Per-example state (an amortised attack's perturbations) lives in variables the
training model owns (`build_state`), so checkpoints and tf.distribute treat it like any
weight.
"""

import dataclasses
from typing import Optional, Protocol

import keras
import tensorflow as tf

from tfaug.errors import ConfigError


class LatentModel(Protocol):
    """An encoder/decoder pair: a Glow exactly, a VAE-GAN approximately."""

    latent_shape: tuple  # shape of one example's latent

    def encode(self, x, validate: bool = True): ...

    def decode(self, z): ...


@dataclasses.dataclass(frozen=True)
class Examples:
    """A batch's examples beyond their pixels, as the trainer feeds them.

    index: (B,) int positions in the training set (keys of per-example state).
    latents: (B, ...) latents of the clean images, cached before training; only the
        first augmentation of a chain sees them (later ones get changed images).
    """
    index: Optional[tf.Tensor] = None
    latents: Optional[tf.Tensor] = None

    def head(self, n):
        """The first n examples."""
        cut = lambda t: None if t is None else t[:n]
        return Examples(cut(self.index), cut(self.latents))

    def without_latents(self):
        return Examples(self.index)


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

    def __call__(self, images, labels, classifier=None, training=True, seed=None,
                 examples: Examples = None):
        if not training:
            return images, labels
        if seed is None:
            if self._seed_generator is None:
                self._seed_generator = keras.random.SeedGenerator(self._fallback_seed)
            seed = tf.cast(self._seed_generator.next()[:2], tf.int32)
        return self.augment(images, labels, classifier, seed, examples or Examples())

    def augment(self, images, labels, classifier, seed, examples):
        return images, labels

    def latent_model_of_clean_images(self):
        """The latent model that encodes this augmentation's (clean) input images, if
        it starts by encoding them: their latents can then be cached."""
        return None

    def build_state(self, num_examples: int, make_variable) -> None:
        """Creates per-example state with make_variable(name, shape) (zero-filled
        variables the training model owns). Stateless augmentations have none."""

    def stateless(self) -> "Augmentation":
        """This augmentation without per-example state (for images outside the
        training set, e.g. TensorBoard grids of validation images)."""
        return self

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

    def augment(self, images, labels, classifier, seed, examples):
        seeds = tf.random.experimental.stateless_split(seed, len(self.augmentations))
        for i, (aug, s) in enumerate(zip(self.augmentations, tf.unstack(seeds))):
            images, labels = aug.augment(images, labels, classifier, s,
                                         examples if i == 0 else
                                         examples.without_latents())
        return images, labels

    def latent_model_of_clean_images(self):
        return self.augmentations[0].latent_model_of_clean_images()

    def build_state(self, num_examples, make_variable):
        for aug in self.augmentations:
            aug.build_state(num_examples, make_variable)

    def stateless(self):
        return Compose(*(aug.stateless() for aug in self.augmentations))


class PartialAugmentation(Augmentation):
    """Perturbs the first `ratio` of each batch and leaves the rest clean (the batch
    is shuffled already); `perturb` sees only the part it replaces."""

    def __init__(self, ratio: float = 1.0, seed: int = 0):
        super().__init__(seed)
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(f"ratio must be in [0, 1], got {ratio}.")
        self.ratio = ratio

    def augment(self, images, labels, classifier, seed, examples):
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        if isinstance(batch, int):
            n = int(round(self.ratio * batch))
            if n == 0:
                return images, labels
        else:
            n = tf.cast(tf.round(self.ratio * tf.cast(batch, tf.float32)), tf.int32)
        perturbed = self.perturb(images[:n], labels[:n], classifier, seed,
                                 examples.head(n))
        return tf.concat([perturbed, images[n:]], axis=0), labels

    def perturb(self, images, labels, classifier, seed, examples):
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
