"""On-manifold measures of perturbed images: how far they moved in image space, how
likely the flow finds them, and how often they change a classifier's decision."""

import numpy as np
import tensorflow as tf

from tfaug.augment import norms


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
