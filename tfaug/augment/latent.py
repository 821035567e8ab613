"""Latent perturbations (Yuksel et al. 2021): encode, perturb z, decode.

With a Glow, encode is exact and every latent coordinate has prior N(0, 1), so eps is
measured in standard deviations of the prior, the same at every level.
"""

import tensorflow as tf

from tfaug.augment import norms
from tfaug.augment.adversarial import PGDAugmentation, predicted_targets
from tfaug.augment.base import (PartialAugmentation, bind_classes, check_positive,
                                finite_or_clean)


class LatentRandom(PartialAugmentation):
    """x' = clip(decode(encode(x) + dz), 0, 1), dz ~ N(0, eps^2 I), projected onto the
    eps-ball of `norm` ("l2", "linf" or None). `away`: dz = sign(z) |dz|, a step away
    from the latent's centre."""

    def __init__(self, flow, eps: float, norm=None, away: bool = False,
                 ratio: float = 1.0, seed: int = 0):
        super().__init__(ratio, seed)
        check_positive("eps", eps)
        norms.check_norm(norm, allow_none=True)
        self.flow, self.eps, self.norm, self.away = flow, float(eps), norm, away

    def delta(self, z, seed):
        """The latent perturbation dz for latents z."""
        dz = self.eps * tf.random.stateless_normal(tf.shape(z), seed)
        if self.away:
            dz = tf.sign(z) * tf.abs(dz)
        return norms.project(dz, self.eps, self.norm)

    def perturb(self, images, labels, classifier, seed):
        model = bind_classes(self.flow, tf.argmax(labels, -1))
        z = model.encode(images, validate=False)
        decoded = model.decode(z + self.delta(z, seed))
        return finite_or_clean(tf.clip_by_value(decoded, 0.0, 1.0), images)


class LatentAdversarial(PGDAugmentation):
    """PGD in the latent against the classifier being trained: `steps` ascent steps of
    size alpha on the cross-entropy of classifier(decode(z + dz)) against the
    classifier's own predictions on x, each projected onto the eps-ball of `norm`,
    from a uniform random start (or zero)."""

    def __init__(self, flow, eps: float, alpha: float, steps: int, norm: str = "l2",
                 random_start: bool = True, ratio: float = 1.0, seed: int = 0):
        super().__init__(eps, alpha, steps, norm, random_start, ratio, seed)
        self.flow = flow

    def delta(self, z, classifier, targets, seed, model=None):
        """The adversarial latent perturbation dz for latents z (of `model`, by
        default the augmentation's)."""
        model = model or self.flow
        return self.attack(lambda d: model.decode(z + d), tf.shape(z), classifier,
                           targets, seed)

    def perturb(self, images, labels, classifier, seed):
        model = bind_classes(self.flow, tf.argmax(labels, -1))
        targets = predicted_targets(classifier, images)
        z = tf.stop_gradient(model.encode(images, validate=False))
        dz = self.delta(z, classifier, targets, seed, model)
        decoded = model.decode(z + dz)
        return finite_or_clean(tf.clip_by_value(decoded, 0.0, 1.0), images)
