"""Latent perturbations (Yuksel et al. 2021): encode, perturb z, decode.

With a Glow, encode is exact and every latent coordinate has prior N(0, 1), so eps is
measured in standard deviations of the prior, the same at every level. Both
perturbations take the latents of their clean input images from `examples.latents`
when the trainer cached them (the step then never encodes).
"""

from typing import Optional

import tensorflow as tf

from tfaug.augment import norms
from tfaug.augment.adversarial import PGDAugmentation, predicted_targets
from tfaug.augment.base import (PartialAugmentation, bind_labels, check_positive,
                                finite_or_clean)
from tfaug.augment.state import ExampleState
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
    |dz|, a step away from the latent's centre."""

    def __init__(self, flow, eps: float = 1.0, norm: Optional[str] = "l2",
                 away: bool = False, ratio: float = 1.0, seed: int = 0):
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

    def perturb(self, images, labels, classifier, seed, examples):
        model = bind_labels(self.flow, labels)
        z = _latents(model, images, examples)
        return _decoded(model, z + self.delta(z, seed), images)


class LatentAdversarial(_ThroughLatentModel, PGDAugmentation):
    """PGD in the latent against the classifier being trained: `steps` ascent steps of
    size alpha on the cross-entropy of classifier(decode(z + dz)) against the
    classifier's own predictions on x, each projected onto the eps-ball of `norm`,
    from a uniform random start (or zero).

    `amortized`: each training example keeps the perturbation its last visit reached
    (state the training model owns, indexed by example) and the attack continues
    from it, so `steps` ascent steps per visit accumulate over the visits (the
    accumulated perturbations of Zheng et al., CVPR 2020). A first visit starts
    where the plain attack would."""

    def __init__(self, flow, eps: float = 1.0, alpha: float = 0.5, steps: int = 3,
                 norm: str = "l2", random_start: bool = True, ratio: float = 1.0,
                 amortized: bool = False, seed: int = 0):
        super().__init__(eps, alpha, steps, norm, random_start, ratio, seed)
        self.flow, self.amortized = flow, bool(amortized)
        self._history = None

    def delta(self, z, classifier, targets, seed, model=None, start=None):
        """The adversarial latent perturbation dz for latents z (of `model`, by
        default the augmentation's), from `start` if given."""
        model = model or self.flow
        return self.attack(lambda d: model.decode(z + d), tf.shape(z), classifier,
                           targets, seed, start)

    def perturb(self, images, labels, classifier, seed, examples):
        model = bind_labels(self.flow, labels)
        targets = predicted_targets(classifier, images)
        z = tf.stop_gradient(_latents(model, images, examples))
        if not self.amortized:
            return _decoded(model, z + self.delta(z, classifier, targets, seed, model),
                            images)
        history = self._check_history(examples)
        fresh = self.fresh_start(tf.shape(z), seed)
        dz = self.delta(z, classifier, targets, seed, model,
                        history.read(examples.index, fresh))
        decoded = model.decode(z + dz)
        # Accumulated steps can reach a perturbation where the decoder overflows; the
        # example then trains clean, and its history restarts (else it stays stuck:
        # a NaN gradient never moves it).
        finite = tf.reduce_all(tf.math.is_finite(decoded),
                               axis=list(range(1, decoded.shape.rank)))
        keep = tf.reshape(finite, [-1] + [1] * (dz.shape.rank - 1))
        with tf.control_dependencies(history.write(examples.index,
                                                   tf.where(keep, dz, fresh))):
            return tf.clip_by_value(finite_or_clean(decoded, images), 0.0, 1.0)

    def _check_history(self, examples):
        if self._history is None:
            raise ConfigError("latent_adversarial(amortized=true) keeps a perturbation "
                              "per training example: train it with "
                              "tfaug.AugmentedModel (which "
                              "builds that state), or call build_state first.")
        if examples.index is None:
            raise ConfigError("latent_adversarial(amortized=true) needs each example's "
                              "index in the training set (Examples(index=...)); the "
                              "training pipeline feeds it.")
        return self._history

    def build_state(self, num_examples, make_variable):
        if self.amortized:
            self._history = ExampleState(make_variable, "latent_perturbation",
                                         num_examples, tuple(self.flow.latent_shape))

    def stateless(self):
        if not self.amortized:
            return self
        return LatentAdversarial(self.flow, self.eps, self.alpha, self.steps, self.norm,
                                 self.random_start, self.ratio, False,
                                 self._fallback_seed)
