"""On-manifold measures of perturbed images: how far they moved in image space, how
likely the flow finds them, and how often they change a classifier's decision; and
how exactly a latent model reconstructs images."""

import numpy as np
import tensorflow as tf

from tfaug.augment import norms
from tfaug.augment.base import bind_classes


def perturbation_measures(flow, clean, perturbed, classifier=None) -> dict:
    """Means over the batch: image-space L2 and Linf distance, bits/dim of clean and
    perturbed images under `flow`, and (with a classifier) the prediction flip rate."""
    diff = perturbed - clean
    out = {
        "image_l2": float(tf.reduce_mean(norms.l2_norm(diff))),
        "image_linf": float(tf.reduce_mean(tf.reduce_max(tf.abs(diff), [1, 2, 3]))),
        "bpd_clean": float(tf.reduce_mean(flow.bits_per_dim(clean))),
        "bpd_perturbed": float(tf.reduce_mean(flow.bits_per_dim(perturbed))),
    }
    if classifier is not None:
        before = np.argmax(classifier(clean, training=False), -1)
        after = np.argmax(classifier(perturbed, training=False), -1)
        out["flip_rate"] = float(np.mean(before != after))
    return out


def reconstruction_error(model, images, labels=None, batch_size: int = 256) -> dict:
    """Per-pixel MSE and mean per-image L2 of decode(encode(x)) - x over `images`
    (float (N, H, W, C) in [0, 1]), in batches; class-specific models need the
    integer `labels`."""
    se, l2, n = 0.0, 0.0, 0
    for start in range(0, len(images), batch_size):
        x = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
        bound = bind_classes(model, None if labels is None else
                             labels[start:start + batch_size])
        diff = bound.decode(bound.encode(x)) - x
        per_image = tf.reduce_sum(tf.square(diff), axis=[1, 2, 3])
        se += float(tf.reduce_sum(per_image))
        l2 += float(tf.reduce_sum(tf.sqrt(per_image)))
        n += int(x.shape[0])
    return {"mse_per_pixel": se / (n * float(np.prod(images.shape[1:]))),
            "l2_per_image": l2 / n, "images": n}
