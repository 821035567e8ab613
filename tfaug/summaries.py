"""Image grids for TensorBoard and PNG files."""

import tensorflow as tf


def image_grid(images, rows: int):
    """(N, H, W, C) images in [0, 1] -> one (rows*H, cols*W, C) image; N = rows*cols."""
    images = tf.convert_to_tensor(images, tf.float32)
    n, h, w, c = images.shape
    cols = n // rows
    if rows * cols != n:
        raise ValueError(f"{n} images do not fill {rows} rows evenly.")
    grid = tf.reshape(images, (rows, cols, h, w, c))
    grid = tf.transpose(grid, (0, 2, 1, 3, 4))
    return tf.reshape(grid, (rows * h, cols * w, c))


def write_png(path: str, image) -> None:
    """Writes an (H, W, C) image in [0, 1] as PNG, atomically."""
    from tfaug.io import write_atomic
    png = tf.io.encode_png(tf.cast(tf.round(tf.clip_by_value(image, 0, 1) * 255), tf.uint8))
    write_atomic(path, png.numpy())
