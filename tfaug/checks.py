"""Input checks shared by the latent models: clear errors instead of TensorFlow's."""

import tensorflow as tf

from tfaug.errors import DataError


IMAGES_RANGE = ("images must be in [0, 1] (uint8 pixels are scaled; divide float "
                "pixels by 255)")
IMAGES_FINITE = "images contain NaN or inf"


def as_unit_float(x, what="images"):
    """float32 images: uint8 pixels are scaled by 1/255; other integer types are
    refused (their scale is unknown); floats are cast."""
    dtype = getattr(x, "dtype", None)
    dtype = tf.as_dtype(dtype) if dtype is not None else tf.float32
    if dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 255.0
    if dtype.is_integer or dtype.is_bool:
        raise DataError(f"{what} of dtype {dtype.name}: give uint8 pixels (0-255) or "
                        "floats in [0, 1].")
    return tf.cast(x, tf.float32)


def check_images(x, image_shape, what="images", model="this model"):
    """Shape, finiteness and [0, 1] range checks with clear errors (DataError when
    eager; inside a compiled graph the value checks are tf.debugging asserts). uint8
    images are accepted and scaled to [0, 1]."""
    x = as_unit_float(x, what)
    if x.shape.rank != 4 or tuple(x.shape[1:]) != tuple(image_shape):
        raise DataError(f"{what} must have shape (batch, "
                        f"{', '.join(map(str, image_shape))}) for {model}, got "
                        f"{tuple(x.shape)}.")
    finite = f"{what} contain NaN or inf."
    in_range = f"{what} must be in [0, 1] (divide uint8 images by 255)."
    if tf.executing_eagerly():
        if not bool(tf.reduce_all(tf.math.is_finite(x))):
            raise DataError(finite)
        if x.shape[0] and not 0.0 <= float(tf.reduce_min(x)) <= float(
                tf.reduce_max(x)) <= 1.0:
            raise DataError(f"{in_range} Got [{float(tf.reduce_min(x)):g}, "
                            f"{float(tf.reduce_max(x)):g}].")
        return x
    tf.debugging.assert_all_finite(x, finite)
    tf.debugging.assert_greater_equal(tf.reduce_min(x), 0.0, in_range)
    tf.debugging.assert_less_equal(tf.reduce_max(x), 1.0, in_range)
    return x
