"""Image-space augmentations: the classical baselines, batched and in-graph."""

import tensorflow as tf

from tfaug.augment.adversarial import PGDAugmentation
from tfaug.augment.base import Augmentation, check_positive
from tfaug.augment.sampling import stateless_beta
from tfaug.errors import ConfigError


class Standard(Augmentation):
    """Zero-pad by `pad`, crop back at a random offset, flip left-right with
    probability 1/2, independently per image."""

    def __init__(self, pad: int = 4, flip: bool = True, seed: int = 0):
        super().__init__(seed)
        if pad < 0:
            raise ConfigError(f"pad must be >= 0, got {pad}.")
        self.pad, self.flip = pad, flip

    def augment(self, images, labels, classifier, seed, examples):
        b, (h, w) = tf.shape(images)[0], images.shape[1:3]
        p = self.pad
        s_crop, s_flip = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        padded = tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        offsets = tf.random.stateless_uniform(tf.stack([b, 2]), s_crop, 0, 2 * p + 1,
                                              tf.int32)
        rows = offsets[:, :1] + tf.range(h)[None]
        cols = offsets[:, 1:] + tf.range(w)[None]
        out = tf.gather(padded, rows, axis=1, batch_dims=1)
        out = tf.gather(out, cols, axis=2, batch_dims=1)
        if self.flip:
            flip = tf.random.stateless_uniform(tf.stack([b, 1, 1, 1]), s_flip) < 0.5
            out = tf.where(flip, tf.reverse(out, axis=[2]), out)
        return out, labels


class Mixup(Augmentation):
    """x' = l x + (1 - l) x[perm], y' likewise, l ~ Beta(alpha, alpha) per image
    (Zhang et al. 2018)."""

    mixes_labels = True

    def __init__(self, alpha: float = 1.0, seed: int = 0):
        super().__init__(seed)
        check_positive("alpha", alpha, allow_zero=False)
        self.alpha = float(alpha)

    def augment(self, images, labels, classifier, seed, examples):
        if labels is None:
            raise ConfigError("mixup mixes labels too: pass the batch's one-hot labels.")
        b = tf.shape(images)[0]
        s_lam, s_perm = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        lam = stateless_beta((b,), s_lam, self.alpha)
        perm = tf.argsort(tf.random.stateless_uniform(tf.stack([b]), s_perm))
        mix = lambda t, l: l * t + (1.0 - l) * tf.gather(t, perm)
        return (mix(images, lam[:, None, None, None]), mix(labels, lam[:, None]))


class Cutout(Augmentation):
    """Zeroes a size x size square at a uniformly random centre (clipped at the
    border) in each image (DeVries & Taylor 2017)."""

    def __init__(self, size: int = 8, seed: int = 0):
        super().__init__(seed)
        if size < 1:
            raise ConfigError(f"size must be >= 1, got {size}.")
        self.size = size

    def augment(self, images, labels, classifier, seed, examples):
        b, (h, w) = tf.shape(images)[0], images.shape[1:3]
        centres = tf.random.stateless_uniform(tf.stack([b, 2]), seed, 0, tf.int32.max,
                                              tf.int32)
        cy, cx = centres[:, 0] % h, centres[:, 1] % w
        return images * cutout_mask(cy, cx, h, w, self.size), labels


def cutout_mask(cy, cx, h, w, size):
    """(B, H, W, 1) mask: 0 inside the square of side `size` at (cy, cx), else 1."""
    top, left = cy - size // 2, cx - size // 2
    rows = tf.range(h)[None, :, None]
    cols = tf.range(w)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + size)
              & (cols >= left[:, None, None]) & (cols < left[:, None, None] + size))
    return tf.cast(~inside, tf.float32)[..., None]


class ImagePGD(PGDAugmentation):
    """The image-space baseline: PGD on x itself (x' = clip(x + dx, 0, 1)), against
    the classifier's own predictions (`soft_targets`: its probabilities, VAT's
    objective), with the same loop as the latent attack."""

    def __init__(self, eps: float = 8 / 255, alpha: float = 2 / 255, steps: int = 3,
                 norm: str = "linf", random_start: bool = True, ratio: float = 1.0,
                 soft_targets: bool = False, seed: int = 0):
        super().__init__(eps, alpha, steps, norm, random_start, ratio, seed,
                         soft_targets=soft_targets)

    def perturb(self, images, labels, classifier, seed, examples):
        targets = self.targets(classifier, images)
        to_images = lambda d: tf.clip_by_value(images + d, 0.0, 1.0)
        return to_images(self.attack(to_images, tf.shape(images), classifier, targets,
                                     seed))
