"""Image grids for TensorBoard and PNG files; reading scalars back from event files."""

import os

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


def read_scalars(log_dir: str) -> dict:
    """{tag: {step: value}} of every scalar in the TensorBoard event files under
    `log_dir`; files are read oldest first, so a resumed run's values win."""
    scalars = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    scalars.setdefault(value.tag, {})[event.step] = float(
                        tf.make_ndarray(value.tensor))
    return scalars
