"""Latent perturbations (Yuksel et al. 2021): encode, perturb z, decode.

With a Glow, encode is exact and every latent coordinate has prior N(0, 1), so eps is
measured in standard deviations of the prior, the same at every level. Both
perturbations take the latents of their clean input images from `examples.latents`
when the trainer cached them (the step then never encodes).
"""

from typing import Optional

import tensorflow as tf

from tfaug.augment import norms
from tfaug.augment.adversarial import PGDAugmentation, weighted
from tfaug.augment.base import (PartialAugmentation, bind_labels, check_positive,
                                finite_or_clean)
from tfaug.augment.state import ExampleState, ImageBank
from tfaug.errors import ConfigError


def _latents(model, images, examples):
    """The latents of `images`: cached ones if the trainer fed them, else encoded."""
    if examples.latents is not None:
        return examples.latents
    return model.encode(images, validate=False)


class _ThroughLatentModel:
    """What the latent perturbations share: the frozen model they decode through."""

    def latent_model_of_clean_images(self):
        return self.flow

    def latent_models(self):
        return [self.flow]

    def level_weights(self, decay: float):
        """Per-coordinate weights of the perturbation by flow level (`decay` **
        (L - l) at level l of L; None: every level alike)."""
        if not isinstance(decay, (int, float)) or not 0.0 <= decay <= 1.0:
            raise ConfigError(f"level_decay must be in [0, 1] (1: every level alike, "
                              f"0: the coarsest level only), got {decay!r}.")
        if decay == 1.0:
            return None
        if not hasattr(self.flow, "level_weights"):
            raise ConfigError(f"level_decay needs a multi-scale flow (a Glow); "
                              f"{type(self.flow).__name__} has no levels.")
        return tf.constant(self.flow.level_weights(float(decay)))

    def check_image_shape(self, image_shape):
        shape = tuple(getattr(getattr(self.flow, "config", None), "image_shape", ())
                      or ())
        if shape and tuple(image_shape) != shape:
            raise ConfigError(f"The latent model of {type(self).__name__} models "
                              f"{'x'.join(map(str, shape))} images but these are "
                              f"{'x'.join(map(str, image_shape))}: train a flow on "
                              "these images (bin/train_flow.py), or resize them "
                              "(--image_size).")


def _decoded(model, z, images):
    """decode(z) clipped to [0, 1]; the clean image where it is not finite (checked
    before clipping, which would turn an overflow into a white image)."""
    return tf.clip_by_value(finite_or_clean(model.decode(z), images), 0.0, 1.0)


class LatentRandom(_ThroughLatentModel, PartialAugmentation):
    """x' = clip(decode(encode(x) + dz), 0, 1), dz ~ N(0, eps^2 I), projected onto the
    eps-ball of `norm` ("l2", "linf" or None: no projection). `away`: dz = sign(z)
    |dz|, a step away from the latent's centre. `level_decay` d < 1 (a Glow's
    multi-scale latent): the noise at level l of L is scaled by d ** (L - l), so
    finer levels move less (0: the coarsest level only)."""

    def __init__(self, flow, eps: float = 1.0, norm: Optional[str] = "l2",
                 away: bool = False, ratio: float = 1.0, level_decay: float = 1.0,
                 copies: int = 1, seed: int = 0):
        super().__init__(ratio, seed, copies)
        check_positive("eps", eps)
        norms.check_norm(norm, allow_none=True)
        self.flow, self.eps, self.norm, self.away = flow, float(eps), norm, away
        self.level_decay, self._weights = level_decay, self.level_weights(level_decay)

    def delta(self, z, seed):
        """The latent perturbation dz for latents z."""
        dz = weighted(self.eps * tf.random.stateless_normal(tf.shape(z), seed),
                      self._weights)
        if self.away:
            dz = tf.sign(z) * tf.abs(dz)
        return norms.project(dz, self.eps, self.norm)

    def perturb(self, images, labels, classifier, seed, examples):
        model = bind_labels(self.flow, labels)
        z = _latents(model, images, examples)
        return _decoded(model, z + self.delta(z, seed), images)


class LatentAdversarial(_ThroughLatentModel, PGDAugmentation):
    """PGD in the latent against the classifier being trained: `steps` ascent steps of
    size alpha on the cross-entropy of classifier(decode(z + dz)) against the
    classifier's own predictions on x, each projected onto the eps-ball of `norm`,
    from a uniform random start (or zero).

    Cheaper variants, each keeping per-example state the training model owns:
    `amortized`: each training example keeps the perturbation its last visit reached
    and the attack continues from it, so `steps` ascent steps per visit accumulate
    over the visits (the accumulated perturbations of Zheng et al., CVPR 2020). A
    first visit starts where the plain attack would.
    `free`: no attack pass; the image trained on is decode(z + dz) with the carried
    dz, and the backward pass that trains the weights also gives the gradient of the
    training loss (true labels) w.r.t. dz, with which dz takes one alpha step for the
    next visit (free adversarial training, Shafahi et al. 2019, in the latent).
    `steps` and the predicted-label targets are unused; implies `amortized`.
    `soft_targets`: the attack ascends the cross-entropy against the classifier's
    probabilities on x instead of its one-hot prediction, i.e. the KL divergence from
    the clean prediction (VAT's objective, Miyato et al. 2018; a consistency strong
    view's natural choice); needs random_start.
    `refresh` k: the batch is perturbed anew on every k-th training step (the first
    included), its perturbed images banked per example; the steps in between replay
    each example's banked image (its clean image until it has one) and run no flow
    pass at all; 1: every step.
    `level_decay` d < 1 (a Glow's multi-scale latent): the random start and every
    step's gradient at level l of L are scaled by d ** (L - l), so finer levels move
    less (0: only the coarsest level is attacked)."""

    def __init__(self, flow, eps: float = 1.0, alpha: float = 0.5, steps: int = 3,
                 norm: str = "l2", random_start: bool = True, ratio: float = 1.0,
                 amortized: bool = False, free: bool = False, refresh: int = 1,
                 level_decay: float = 1.0, copies: int = 1,
                 soft_targets: bool = False, seed: int = 0):
        super().__init__(eps, alpha, steps, norm, random_start, ratio, seed, copies,
                         soft_targets)
        if soft_targets and free:
            raise ConfigError("latent_adversarial(free=true) takes no soft_targets: it "
                              "ascends the training loss on the true labels, no "
                              "attack targets.")
        if not isinstance(refresh, int) or refresh < 1:
            raise ConfigError(f"refresh must be an integer >= 1 (training steps "
                              f"between fresh perturbations), got {refresh!r}.")
        self.flow, self.amortized, self.free = flow, bool(amortized), bool(free)
        self.refresh = refresh
        self.level_decay, self._weights = level_decay, self.level_weights(level_decay)
        self._history = self._bank = None
        if copies > 1 and self.keeps_state:
            raise ConfigError(f"latent_adversarial({self._state_params()}) keeps one "
                              "perturbation per training example, so it takes no "
                              "copies > 1: drop copies, or use the per-batch attack.")

    @property
    def keeps_state(self):
        return self._carries or self.refresh > 1

    @property
    def uses_training_gradient(self):
        return self.free

    @property
    def _carries(self):
        return self.amortized or self.free

    def delta(self, z, classifier, targets, seed, model=None, start=None):
        """The adversarial latent perturbation dz for latents z (of `model`, by
        default the augmentation's), from `start` if given."""
        model = model or self.flow
        return self.attack(lambda d: model.decode(z + d), tf.shape(z), classifier,
                           targets, seed, start)

    def perturb(self, images, labels, classifier, seed, examples):
        model = bind_labels(self.flow, labels)
        if not (self._carries or self.refresh > 1):
            z = tf.stop_gradient(_latents(model, images, examples))
            targets = self.targets(classifier, images)
            return _decoded(model, z + self.delta(z, classifier, targets, seed, model),
                            images)
        index = self._check_state(examples)
        fresh = self.fresh_start(tf.concat([tf.shape(images)[:1],
                                            self.flow.latent_shape], 0), seed)
        start = self._history.read(index, fresh) if self._carries else fresh
        dz = examples.free.watch(start) if self.free else start

        def attacked():
            """(images, perturbations, whether each decoded finitely)."""
            z = tf.stop_gradient(_latents(model, images, examples))
            d = dz if self.free else self.delta(
                z, classifier, self.targets(classifier, images), seed, model, dz)
            decoded = model.decode(z + d)
            # Accumulated steps can reach a perturbation where the decoder overflows;
            # the example then trains clean, and its history restarts (else it stays
            # stuck: a NaN gradient never moves it).
            ok = tf.reduce_all(tf.math.is_finite(decoded),
                               axis=list(range(1, decoded.shape.rank)))
            return tf.clip_by_value(finite_or_clean(decoded, images), 0.0, 1.0), d, ok

        writes, now = [], None
        if self.refresh == 1:
            out, new_dz, finite = attacked()
        else:  # between refreshes no flow pass at all: the banked images
            now, counted = self._bank.now()
            replayed = lambda: (self._bank.read(index, images), dz,
                                tf.ones(tf.shape(images)[:1], tf.bool))
            out, new_dz, finite = tf.cond(now, attacked, replayed)
            writes += [counted, *self._bank.write(index, tf.stop_gradient(out), now)]
        if self.free:
            examples.free.on_gradient(dz, lambda g: self._carry(
                index, now, start, fresh, finite, self._ascended(dz, g)))
        elif self.amortized:
            writes += self._carry(index, now, start, fresh, finite, new_dz)
        with tf.control_dependencies(writes):
            return tf.identity(out)

    def _ascended(self, dz, grad):
        """dz after one alpha step along the norm's ascent direction of `grad`."""
        grad = weighted(tf.where(tf.math.is_finite(grad), grad, 0.0), self._weights)
        return norms.project(dz + self.alpha * norms.ascent_direction(grad, self.norm),
                             self.eps, self.norm)

    def _carry(self, index, now, start, fresh, finite, dz):
        """Stores the new perturbations dz (a fresh start where the decoder
        overflowed; unchanged on a step that does not refresh); the write ops."""
        keep = tf.reshape(finite, [-1] + [1] * (dz.shape.rank - 1))
        rows = tf.where(keep, dz, fresh)
        return self._history.write(index, rows if now is None
                                   else tf.where(now, rows, start))

    def _check_state(self, examples):
        name = f"latent_adversarial({self._state_params()})"
        if (self._carries and self._history is None) or (
                self.refresh > 1 and self._bank is None):
            raise ConfigError(f"{name} keeps state per training example: train it "
                              "with tfaug.AugmentedModel (which builds that state), or "
                              "call build_state first.")
        if examples.index is None:
            raise ConfigError(f"{name} needs each example's index in the training set "
                              "(Examples(index=...)); the training pipeline feeds it.")
        if self.free and examples.free is None:
            raise ConfigError(f"{name} takes its gradient from the training step: "
                              "train with tfaug.AugmentedModel, which passes it.")
        return examples.index

    def _state_params(self):
        return ",".join(f"{k}={v}" for k, v in (
            ("amortized", "true" if self.amortized else None),
            ("free", "true" if self.free else None),
            ("refresh", self.refresh if self.refresh > 1 else None)) if v is not None)

    def build_state(self, num_examples, make_variable):
        if self._carries:
            self._history = ExampleState(make_variable, "latent_perturbation",
                                         num_examples, tuple(self.flow.latent_shape))
        if self.refresh > 1:
            self._bank = ImageBank(make_variable, "perturbed_image", num_examples,
                                   tuple(self.flow.config.image_shape), self.refresh)

    def stateless(self):
        if not (self._carries or self.refresh > 1):
            return self
        return LatentAdversarial(self.flow, self.eps, self.alpha, self.steps, self.norm,
                                 self.random_start, self.ratio,
                                 level_decay=self.level_decay, copies=self.copies,
                                 seed=self._fallback_seed)
