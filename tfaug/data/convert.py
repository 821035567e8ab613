"""Converting uint8 images to the size and channels a run asks for, and checking up
front that a dataset fits in memory."""

import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from tfaug.errors import DataError

CHUNK = 4096
# Training holds the images twice: the NumPy array and TensorFlow's copy of it.
COPIES_WHILE_TRAINING = 2


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """A (..., H, W, C) uint8 array with C in 1-4 (gray, gray+alpha, RGB, RGBA) as
    `channels` (1 or 3) channels; alpha is dropped."""
    have = image.shape[-1]
    if have in (2, 4):
        image, have = image[..., :have - 1], have - 1
    if have == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    gray = tf.image.rgb_to_grayscale(tf.convert_to_tensor(image, tf.float32))
    return np.clip(np.round(gray.numpy()), 0, 255).astype(np.uint8)


def resize(images: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(N, H, W, C) uint8 images resized to `size` (bilinear, antialiased), in chunks."""
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    out = np.empty((len(images), *size, images.shape[-1]), np.uint8)
    for start in range(0, len(images), CHUNK):
        chunk = tf.image.resize(images[start:start + CHUNK], size, antialias=True)
        out[start:start + CHUNK] = np.clip(np.round(chunk.numpy()), 0, 255)
    return out


def fit_images(images: np.ndarray, image_size: Optional[Tuple[int, int]],
               channels: Optional[int]) -> np.ndarray:
    """`images` (N, H, W, C) at `image_size` and `channels` where these are given."""
    if channels is not None:
        images = to_channels(images, channels)
    if image_size is not None:
        images = resize(images, image_size)
    return images


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits_in_memory(name: str, count: int, shape) -> None:
    """A clear error, before anything is read or trained, when `count` uint8 images of
    `shape` (H, W, C) will not fit in the memory available."""
    per_image = int(np.prod(shape))
    needed = COPIES_WHILE_TRAINING * count * per_image
    available = available_memory()
    if needed <= available:
        return
    gib = 2 ** 30
    fits = int(available / (COPIES_WHILE_TRAINING * count * shape[-1]) ** 0.5)
    raise DataError(
        f"{name}: {count:,} images of {'x'.join(map(str, shape))} need "
        f"{needed / gib:.1f} GiB of memory (uint8, held {COPIES_WHILE_TRAINING}x while "
        f"training), but {available / gib:.1f} GiB are available. Shrink them with "
        f"--image_size (at most about {fits},{fits} fits), or use fewer images.")
