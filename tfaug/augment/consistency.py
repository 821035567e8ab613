"""Consistency training on unlabelled images, as a part of an augmentation spec:

    standard+latent_adversarial(eps=1)+fixmatch(mu=7,strong=latent_random(eps=2)+standard)

The labelled batch passes through the other parts as always; `fixmatch` leaves it
unchanged and adds a loss on a stream of unlabelled images the trainer feeds beside it
(FixMatch, Sohn et al. 2020): the classifier's prediction on a weak view of each
unlabelled image is its pseudo-label where the prediction's confidence reaches
`threshold`, and the cross-entropy of a strong view against it is the consistency loss.
The strong view is any augmentation spec without labels: image space (the reference,
FixMatch's own: standard+randaugment+cutout), or through the flow, latent_random or
latent_adversarial (which ascends the cross-entropy against the classifier's own
prediction on the clean image, so it needs no label; with soft_targets=true against
its probabilities, the KL divergence of VAT: a virtual adversarial direction in the
latent). A strong view is the weak one plus more: follow a latent perturbation with
the weak view's shift, or it may move an image less than the weak view does and the
loss only confirms the classifier's own predictions (docs/study_semi/pilots.md).
"""

import tensorflow as tf

from tfaug.augment.base import Augmentation, Examples, check_positive
from tfaug.augment.spec import Spec
from tfaug.errors import ConfigError


class FixMatch(Augmentation):
    """Per training step: `mu` unlabelled images per labelled one; the loss adds
    `weight` x mean over them of [max p(weak view) >= threshold] x CE(strong view,
    argmax p(weak view)), with p held constant (no gradient). `weak` and `strong`
    are Augmentations or specs (built without a flow: pass built ones, or use the
    spec through tfaug.AugmentedModel, which gives them the flow)."""

    def __init__(self, weak: Spec = "standard",
                 strong: Spec = "standard+randaugment+cutout",
                 threshold: float = 0.95, mu: int = 7, weight: float = 1.0,
                 seed: int = 0):
        super().__init__(seed)
        if not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"fixmatch threshold must be in [0, 1] (the confidence a "
                              f"pseudo-label needs), got {threshold!r}.")
        if not isinstance(mu, int) or isinstance(mu, bool) or mu < 1:
            raise ConfigError(f"fixmatch mu must be an integer >= 1 (unlabelled images "
                              f"per labelled one in a step), got {mu!r}.")
        check_positive("fixmatch weight", weight)
        self.weak, self.strong = _view("weak", weak), _view("strong", strong)
        self.threshold, self.mu, self.weight = float(threshold), mu, float(weight)

    @property
    def consistency(self):
        return self

    def views(self, images, classifier, seed, latents=None):
        """(weak view, strong view) of unlabelled `images`, without gradients;
        `latents` (cached, of the images) spare a strong view that starts with a latent
        perturbation its encoding."""
        s_weak, s_strong = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        weak, _ = self.weak.augment(images, None, classifier, s_weak, Examples())
        strong, _ = self.strong.augment(images, None, classifier, s_strong,
                                        Examples(latents=latents))
        return tf.stop_gradient(weak), tf.stop_gradient(strong)

    def loss(self, weak_logits, strong_logits):
        """(consistency loss: the masked cross-entropy averaged over every unlabelled
        image, share of images whose pseudo-label passed the threshold)."""
        probs = tf.nn.softmax(tf.stop_gradient(tf.cast(weak_logits, tf.float32)))
        passed = tf.cast(tf.reduce_max(probs, -1) >= self.threshold, tf.float32)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.argmax(probs, -1), tf.cast(strong_logits, tf.float32))
        return tf.reduce_mean(passed * cross_entropy), tf.reduce_mean(passed)

    def latent_models(self):
        return [*self.weak.latent_models(), *self.strong.latent_models()]

    def check_image_shape(self, image_shape):
        self.weak.check_image_shape(image_shape)
        self.strong.check_image_shape(image_shape)


def _view(name, augmentation):
    if isinstance(augmentation, str):
        from tfaug.augment import registry
        augmentation = registry.build(augmentation)
    if not isinstance(augmentation, Augmentation):
        raise ConfigError(f"fixmatch {name} must be an Augmentation or a spec, got "
                          f"{augmentation!r}.")
    refused = [why for why, flag in (
        ("keeps state per training example", augmentation.keeps_state),
        ("changes labels", augmentation.mixes_labels),
        ("adds copies to the batch", augmentation.grows_batch),
        ("needs the training step's gradient", augmentation.uses_training_gradient),
        ("is itself a consistency part", augmentation.consistency is not None)) if flag]
    if refused:
        raise ConfigError(f"fixmatch {name}={augmentation!r} {' and '.join(refused)}; "
                          "a view of an unlabelled image takes a per-batch "
                          "augmentation without labels, e.g. standard+cutout, "
                          "latent_random or latent_adversarial.")
    return augmentation
