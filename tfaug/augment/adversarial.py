"""Projected gradient ascent (PGD) against a classifier, in any space.

`to_images(delta)` maps a perturbation to images (latent: decode(z + delta); image
space: clip(x + delta)). Each step ascends the cross-entropy of the classifier on
to_images(delta) against `targets`, by alpha along the norm's steepest-ascent
direction, then projects back onto the eps-ball. The classifier runs with
training=False: BatchNorm statistics do not move during the attack.
"""

import keras
import tensorflow as tf

from tfaug.augment import norms
from tfaug.augment.base import PartialAugmentation, check_positive
from tfaug.errors import ConfigError


def predicted_targets(classifier, images, soft=False):
    """The attack's targets, the classifier's predictions on the clean images: one-hot
    argmax (the paper's choice, which avoids label leaking) or, `soft`, its
    probabilities, against which the cross-entropy ascends the KL divergence from the
    clean prediction (VAT's objective, Miyato et al. 2018)."""
    if classifier is None:
        raise ConfigError("An adversarial augmentation attacks the classifier being "
                          "trained: pass classifier=, or train with "
                          "tfaug.AugmentedModel, which does.")
    logits = tf.cast(classifier(images, training=False), tf.float32)
    if soft:
        return tf.stop_gradient(tf.nn.softmax(logits))
    return tf.stop_gradient(tf.one_hot(tf.argmax(logits, -1), logits.shape[-1]))


def pgd(to_images, shape, classifier, targets, *, eps, alpha, steps, norm,
        random_start, seed, start=None, weights=None):
    """The final perturbation delta (shape `shape`) after `steps` PGD steps from
    `start`, or else from a uniform point of the ball (random_start) or zero.
    `weights` (broadcastable to delta, in [0, 1]) scale the random start and each
    step's gradient per coordinate before its ascent direction: a coordinate of
    weight 0 never moves."""
    if start is not None:
        delta = start
    else:
        delta = weighted(norms.uniform_start(shape, eps, norm, seed), weights) \
            if random_start else tf.zeros(shape)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(delta)
            logits = tf.cast(classifier(to_images(delta), training=False), tf.float32)
            loss = tf.reduce_sum(keras.losses.categorical_crossentropy(
                targets, logits, from_logits=True))
        grad = tape.gradient(loss, delta)
        grad = tf.where(tf.math.is_finite(grad), grad, 0.0)  # never a NaN step
        delta = norms.project(delta + alpha * norms.ascent_direction(
            weighted(grad, weights), norm), eps, norm)
    return tf.stop_gradient(delta)


def weighted(t, weights):
    """t scaled per coordinate by `weights` (None: unchanged)."""
    return t if weights is None else t * weights


class PGDAugmentation(PartialAugmentation):
    """Base of the PGD augmentations: validated attack parameters and the attack."""

    def __init__(self, eps: float, alpha: float, steps: int, norm: str,
                 random_start: bool = True, ratio: float = 1.0, seed: int = 0,
                 copies: int = 1, soft_targets: bool = False):
        super().__init__(ratio, seed, copies)
        if soft_targets and not random_start:
            raise ConfigError("soft_targets=true needs random_start=true: the KL "
                              "divergence from the clean prediction has zero gradient "
                              "at the clean point, so an attack starting there never "
                              "moves.")
        check_positive("eps", eps)
        check_positive("alpha", alpha)
        if not isinstance(steps, int) or steps < 1:
            raise ConfigError(f"steps must be an integer >= 1, got {steps!r}.")
        norms.check_norm(norm)
        self.eps, self.alpha, self.steps = float(eps), float(alpha), steps
        self.norm, self.random_start = norm, random_start
        self.soft_targets = bool(soft_targets)

    _weights = None  # per-coordinate weights of the perturbation (see pgd)

    def targets(self, classifier, images):
        """The attack's targets for clean `images` (see predicted_targets)."""
        return predicted_targets(classifier, images, self.soft_targets)

    def attack(self, to_images, shape, classifier, targets, seed, start=None):
        return pgd(to_images, shape, classifier, targets, eps=self.eps,
                   alpha=self.alpha, steps=self.steps, norm=self.norm,
                   random_start=self.random_start, seed=seed, start=start,
                   weights=self._weights)

    def fresh_start(self, shape, seed):
        """Where an attack without history starts: uniform in the ball, or zero."""
        return weighted(norms.uniform_start(shape, self.eps, self.norm, seed),
                        self._weights) if self.random_start else tf.zeros(shape)
