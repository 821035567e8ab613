"""Unlabelled pools for consistency training: images without labels, never an image
the run validates or tests on.

By default a run's pool is its training split without its labelled and validation
examples; a pool of its own (a folder, an npz, a tfds dataset) is every training image
of that source. Either way, any image byte-identical to a labelled, validation or test
image is dropped from it.
"""

import dataclasses
import hashlib

import numpy as np

from tfaug.data import sources
from tfaug.data.labeled import LabeledImages
from tfaug.errors import DataError


def as_unlabelled(data: LabeledImages, note: str) -> LabeledImages:
    """The images of `data`, without classes (labels -1), noting how they were chosen."""
    info = dataclasses.replace(data.info, class_names=(), split="unlabelled", note=note)
    return LabeledImages(data.images, np.full(len(data), -1, np.int64), info)


def unused_indices(n: int, *used) -> np.ndarray:
    """range(n) without the indices in `used` (arrays of indices), ascending."""
    keep = np.ones(n, bool)
    for indices in used:
        keep[np.asarray(indices, np.int64)] = False
    return np.flatnonzero(keep)


def split_pool(full: LabeledImages, *used) -> LabeledImages:
    """The examples of training split `full` at none of the `used` indices."""
    rest = unused_indices(len(full), *used)
    return as_unlabelled(full.take(rest), f"the training split without its "
                                          f"{len(full) - len(rest):,} labelled and "
                                          "validation examples")


def load_pool(name: str, **options) -> LabeledImages:
    """Every training image of dataset `name` (a spec such as folder:PATH or
    tfds:NAME; no test split is held out of it), as an unlabelled pool."""
    return as_unlabelled(sources.load_every_image(name, **options),
                         f"every training image of {name}")


def without_duplicates(pool: LabeledImages, *others: LabeledImages):
    """(pool without any image byte-identical to one of `others`, how many went)."""
    seen = {_digest(image) for other in others for image in other.images}
    keep = [i for i, image in enumerate(pool.images) if _digest(image) not in seen]
    return (pool, 0) if len(keep) == len(pool) else (pool.take(keep),
                                                      len(pool) - len(keep))


def check_pool(pool: LabeledImages, image_shape) -> None:
    """A clear error when `pool` cannot feed a classifier of `image_shape` images."""
    if not len(pool):
        raise DataError(f"The unlabelled pool ({pool.info.note}) is empty: give one "
                        "with --unlabelled (folder:PATH, npz:FILE, tfds:NAME).")
    if tuple(pool.images.shape[1:]) != tuple(image_shape):
        raise DataError(f"The unlabelled images are {pool.images.shape[1:]} but the "
                        f"labelled ones {tuple(image_shape)}: give the pool the same "
                        "size and channels (--image_size, --channels apply to both).")


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(image.tobytes(), digest_size=16).digest()
