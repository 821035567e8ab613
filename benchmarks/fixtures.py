"""What several benchmark scripts build alike: flow (b) on a random batch with its
cached latents, the reference's attack settings, and a compiled AugmentedModel around
one of tfaug's classifiers."""

import keras
import numpy as np
import tensorflow as tf

from tfaug import models
from tfaug.flows import Glow, GlowConfig
from tfaug.trainers.augmented import AugmentedModel

FLOW_B = GlowConfig((28, 28, 1), levels=2, steps=8, width=64)
# The reference harness' latent attack (L2, eps 1, alpha 0.5, random start); add steps.
REFERENCE_ATTACK = dict(eps=1.0, alpha=0.5, norm="l2", random_start=True)


def flow_b_batch(batch: int):
    """(frozen flow (b) initialised on a random batch, the batch as AugmentedModel
    takes it with cached latents: ({images, index, latents}, one-hot labels))."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(size=(batch, *FLOW_B.image_shape)).astype(np.float32))
    y = tf.one_hot(rng.integers(0, 10, batch), 10)
    glow = Glow(FLOW_B)
    glow.initialize(x)
    glow.trainable = False
    cached = {"images": x, "index": tf.range(batch, dtype=tf.int64),
              "latents": glow.encode(x)}
    return glow, (cached, y)


def training_model(augmentation, model_name: str, num_examples: int) -> AugmentedModel:
    """A built and compiled AugmentedModel (SGD, momentum 0.9) on flow (b)'s images."""
    keras.utils.set_random_seed(0)
    model = AugmentedModel(models.build(model_name, FLOW_B.image_shape, 10),
                           augmentation, num_examples=num_examples)
    model.build((None, *FLOW_B.image_shape))
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.CategoricalCrossentropy(from_logits=True))
    return model
