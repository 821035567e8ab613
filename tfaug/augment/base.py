"""The augmentation interface and its plumbing.

An augmentation maps a batch to a batch inside a compiled training step:

    images, labels = aug(images, labels, classifier, training, seed, examples)

images: float32 (B, H, W, C) in [0, 1] (uint8 pixels are scaled; a single image
(H, W, C) works too); labels: one-hot (or soft) float32 (B, K), or None (then only the
images are returned: `dataset.map(lambda x, y: (aug(x), y))`); classifier: the Keras
model being trained (adversarial augmentations attack it, in
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

from tfaug.checks import as_unit_float
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
    free: the training step's `FreeGradients`, for augmentations that update their
        perturbation with the gradient the weights' backward pass gives.
    """
    index: Optional[tf.Tensor] = None
    latents: Optional[tf.Tensor] = None
    free: Optional["FreeGradients"] = None

    def head(self, n):
        """The first n examples."""
        cut = lambda t: None if t is None else t[:n]
        return Examples(cut(self.index), cut(self.latents), self.free)

    def without_latents(self):
        return Examples(self.index, free=self.free)


class FreeGradients:
    """Perturbations whose gradient the training step computes in the same backward
    pass as the weights' ("free" adversarial training, Shafahi et al. 2019): an
    augmentation has the step's tape `watch` a perturbation before using it, then
    says what to do with its gradient (`on_gradient`); the step calls `apply` with
    the gradients of `perturbations`."""

    def __init__(self, tape: tf.GradientTape):
        self.tape, self.perturbations, self._updates = tape, [], []

    def watch(self, perturbation):
        self.tape.watch(perturbation)
        return perturbation

    def on_gradient(self, perturbation, update):
        """update(gradient of the training loss w.r.t. perturbation) -> write ops."""
        self.perturbations.append(perturbation)
        self._updates.append(update)

    def apply(self, gradients) -> list:
        return [op for update, g in zip(self._updates, gradients) for op in update(g)]


def bind_classes(model, classes):
    """The LatentModel for a batch of images of (integer) `classes`, or of one-hot
    `labels` via `bind_labels`: a class-specific model (one with `for_classes`) bound
    to them, any other model as it is."""
    bind = getattr(model, "for_classes", None)
    return model if bind is None else bind(classes)


def bind_labels(model, labels):
    """`bind_classes` with one-hot (or soft) labels; a class-specific model cannot do
    without them."""
    if getattr(model, "for_classes", None) is None:
        return model
    if labels is None:
        raise ConfigError("A class-specific latent model encodes each image with its "
                          "class: pass the batch's labels.")
    return model.for_classes(tf.argmax(labels, -1))


class Augmentation:
    """Base class: identity. Subclasses override `augment`.

    Called on a batch (B, H, W, C) or a single image (H, W, C), uint8 pixels or floats
    in [0, 1]; returns float32 images in [0, 1] and the labels, or the images alone
    when no labels are given (e.g. `dataset.map(lambda x, y: (aug(x), y))`). Without
    a `seed`, each call draws a fresh one.
    """

    mixes_labels = False  # True when it returns labels other than those it is given
    uses_training_gradient = False  # True when it needs Examples.free (see FreeGradients)
    grows_batch = False  # True when it returns more images than it is given
    keeps_state = False  # True when it keeps per-example state (build_state)
    consistency = None  # a part training on unlabelled images too (FixMatch), if any

    def __init__(self, seed: int = 0):
        self._seed_generator = None
        self._fallback_seed = seed

    def __call__(self, images, labels=None, classifier=None, training=True, seed=None,
                 examples: Examples = None):
        if not training:
            return images if labels is None else (images, labels)
        images = as_unit_float(images)
        single = images.shape.rank == 3
        if single:
            images = images[None]
            labels = None if labels is None else labels[None]
        if seed is None:
            seed = self._next_seed()
        out, out_labels = self.augment(images, labels, classifier, seed,
                                       examples or Examples())
        if single:
            out = out[0]
            out_labels = None if out_labels is None else out_labels[0]
        return out if labels is None else (out, out_labels)

    def _next_seed(self):
        """A fresh seed from a keras SeedGenerator, created outside any graph (so a
        call inside dataset.map or a tf.function can use it)."""
        if self._seed_generator is None:
            with tf.init_scope():
                self._seed_generator = keras.random.SeedGenerator(self._fallback_seed)
        return tf.cast(self._seed_generator.next()[:2], tf.int32)

    def augment(self, images, labels, classifier, seed, examples):
        return images, labels

    def latent_model_of_clean_images(self):
        """The latent model that encodes this augmentation's (clean) input images, if
        it starts by encoding them: their latents can then be cached."""
        return None

    def latent_models(self) -> list:
        """The (frozen) latent models this augmentation decodes through."""
        return []

    def check_image_shape(self, image_shape) -> None:
        """A clear error when images of `image_shape` (H, W, C) do not suit it."""
        return None  # (a body AutoGraph can convert: a docstring alone it cannot)

    def build_state(self, num_examples: int, make_variable) -> None:
        """Creates per-example state with make_variable(name, shape) (zero-filled
        variables the training model owns). Stateless augmentations have none."""

    def stateless(self) -> "Augmentation":
        """This augmentation without per-example state (for images outside the
        training set, e.g. TensorBoard grids of validation images)."""
        return self

    def as_layer(self, seed: int = 0) -> "keras.layers.Layer":
        """This augmentation as a Keras layer applied only in training (for
        augmentations that need no classifier, such as LatentRandom or Standard)."""
        from tfaug.augment.layer import AugmentationLayer
        return AugmentationLayer(self, seed)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k != "flow")
        return f"{type(self).__name__}({params})"


NoAugmentation = Augmentation


class Compose(Augmentation):
    """Applies augmentations in order (e.g. Standard, then a latent perturbation)."""

    def __init__(self, *augmentations):
        super().__init__()
        if sum(aug.consistency is not None for aug in augmentations) > 1:
            raise ConfigError("An augmentation takes one consistency part (fixmatch), "
                              "got several: join its views into one fixmatch.")
        for i, aug in enumerate(augmentations):
            if aug.keeps_state and any(a.grows_batch for a in augmentations[:i]):
                raise ConfigError(f"{aug!r} keeps state per training example, so it "
                                  "cannot follow a part with copies > 1 (its batch no "
                                  "longer lines up with the examples): put it first.")
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

    @property
    def mixes_labels(self):
        return any(aug.mixes_labels for aug in self.augmentations)

    @property
    def uses_training_gradient(self):
        return any(aug.uses_training_gradient for aug in self.augmentations)

    @property
    def grows_batch(self):
        return any(aug.grows_batch for aug in self.augmentations)

    @property
    def keeps_state(self):
        return any(aug.keeps_state for aug in self.augmentations)

    @property
    def consistency(self):
        return next((aug.consistency for aug in self.augmentations
                     if aug.consistency is not None), None)

    def latent_models(self):
        return [m for aug in self.augmentations for m in aug.latent_models()]

    def check_image_shape(self, image_shape):
        for aug in self.augmentations:
            aug.check_image_shape(image_shape)

    def build_state(self, num_examples, make_variable):
        for aug in self.augmentations:
            aug.build_state(num_examples, make_variable)

    def stateless(self):
        return Compose(*(aug.stateless() for aug in self.augmentations))


class PartialAugmentation(Augmentation):
    """Perturbs the first `ratio` of each batch and leaves the rest clean (the batch
    is shuffled already); `perturb` sees only the part it replaces. `copies` k > 1:
    that part is perturbed k times, each with its own seed, and the batch grows to
    k copies of it followed by the clean rest (labels repeated alike)."""

    def __init__(self, ratio: float = 1.0, seed: int = 0, copies: int = 1):
        super().__init__(seed)
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(f"ratio must be in [0, 1], got {ratio}.")
        if not isinstance(copies, int) or copies < 1:
            raise ConfigError(f"copies must be an integer >= 1, got {copies!r}.")
        self.ratio, self.copies = ratio, copies

    @property
    def grows_batch(self):
        return self.copies > 1

    @property
    def mixes_labels(self):  # the labels of the copies are added
        return self.copies > 1

    def augment(self, images, labels, classifier, seed, examples):
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        if isinstance(batch, int):
            n = int(round(self.ratio * batch))
            if n == 0:
                return images, labels
        else:
            n = tf.cast(tf.round(self.ratio * tf.cast(batch, tf.float32)), tf.int32)
        head = None if labels is None else labels[:n]
        seeds = [seed] if self.copies == 1 else tf.unstack(
            tf.random.experimental.stateless_split(seed, self.copies))
        copies = [self.perturb(images[:n], head, classifier, s, examples.head(n))
                  for s in seeds]
        if labels is not None and self.copies > 1:
            labels = tf.concat([head] * self.copies + [labels[n:]], axis=0)
        return tf.concat([*copies, images[n:]], axis=0), labels

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
