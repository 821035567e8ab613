"""An augmentation as a Keras layer: applied in training, the identity otherwise."""

import keras
import tensorflow as tf

from tfaug.checks import IMAGES_RANGE, as_unit_float
from tfaug.errors import ConfigError


class AugmentationLayer(keras.layers.Layer):
    """Applies `augmentation` to its input batch when called with training=True, e.g.
    first in a keras.Sequential. Its images come out float32 in [0, 1]. Only
    augmentations that need neither labels nor the classifier fit here (LatentRandom,
    Standard, Cutout); for the others use tfaug.AugmentedModel. The latent model is
    frozen and not part of the layer's weights; a model holding this layer needs
    tfaug to be loaded again, so save the classifier without it. uint8 pixels are
    scaled to [0, 1] in training and inference alike (declare them with
    keras.Input(shape, dtype="uint8"): a float Input casts them to 0-255 floats,
    which are refused)."""

    def __init__(self, augmentation, seed: int = 0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # also under a mixed-precision policy
        super().__init__(**kwargs)
        if augmentation.mixes_labels:
            raise ConfigError(f"{augmentation!r} returns labels of its own (mixed, or "
                              "those of added copies), which a layer does not see: "
                              "use tfaug.AugmentedModel.")
        if augmentation.consistency is not None:
            raise ConfigError(f"{augmentation!r} trains on unlabelled images beside the "
                              "batch, which a layer does not see: use "
                              "tfaug.AugmentedModel.")
        object.__setattr__(self, "augmentation", augmentation)  # untracked, frozen
        for model in augmentation.latent_models():
            model.trainable = False
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        images = as_unit_float(images)  # uint8 pixels scaled alike in inference
        tf.debugging.assert_less_equal(tf.reduce_max(images), 1.0, IMAGES_RANGE)
        tf.debugging.assert_greater_equal(tf.reduce_min(images), 0.0, IMAGES_RANGE)
        if not training:
            return images
        seed = tf.cast(self.seed_generator.next()[:2], tf.int32)
        return self.augmentation(images, seed=seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        raise ConfigError("An AugmentationLayer holds a latent model and is for "
                          "training: save the classifier without it.")
