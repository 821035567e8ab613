"""`npz:FILE`: arrays saved with NumPy, e.g. `np.savez(FILE, x=images, y=labels)`.

    x        (N, H, W) or (N, H, W, C) uint8 images (C = 1 or 3)
    y        (N,) integer labels 0..K-1; without y, x is an unlabelled pool
    x_test, y_test    optional: the test split
    class_names       optional: K names (else "0" .. "K-1")
"""

import os
import zipfile

import numpy as np

from tfaug.data import convert
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.errors import DataError

KEYS = {"train": ("x", "y"), "test": ("x_test", "y_test")}


def _members(path: str) -> dict:
    """{array name: (shape, dtype)} read from the .npy headers, without the data."""
    if not os.path.isfile(path):
        raise DataError(f"npz:{path}: no such file. Save the arrays with "
                        "np.savez(FILE, x=images, y=labels).")
    try:
        found = {}
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as f:
                    major, minor = np.lib.format.read_magic(f)
                    header = getattr(np.lib.format,
                                     f"read_array_header_{major}_{minor}")
                    shape, _, dtype = header(f)
                found[member[:-4]] = (shape, dtype)
        return found
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, AttributeError) as e:
        raise DataError(f"npz:{path} cannot be read ({type(e).__name__}: {e}): it is "
                        "not an .npz file, or truncated; save it again with "
                        "np.savez.") from None


def has_split(path: str, split: str, options: SourceOptions) -> bool:
    return KEYS[split][0] in _members(path) if split in KEYS else False


def _load(path: str, key: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays[key]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(f"npz:{path}: array {key!r} cannot be read ({type(e).__name__}: "
                        f"{e}); save the file again with np.savez.") from None


def _class_names(path: str, members: dict) -> tuple:
    if "class_names" in members:
        names = tuple(str(n) for n in _load(path, "class_names").reshape(-1))
        if not names or len(set(names)) != len(names):
            raise DataError(f"npz:{path}: class_names must be distinct names, got "
                            f"{names}.")
        return names
    present = [k for k in ("y", "y_test") if k in members]
    top = max((int(_load(path, k).max(initial=-1)) for k in present), default=-1)
    return tuple(str(i) for i in range(top + 1))


def read(path: str, split: str, options: SourceOptions) -> LabeledImages:
    name = f"npz:{path}"
    members = _members(path)
    x_key, y_key = KEYS[split]
    if x_key not in members:
        raise DataError(f"{name} has no array {x_key!r} (it holds "
                        f"{', '.join(sorted(members)) or 'none'}): save the images as "
                        "x and the labels as y, np.savez(FILE, x=images, y=labels).")
    shape, dtype = members[x_key]
    if dtype != np.uint8:
        raise DataError(f"{name}: {x_key} has dtype {dtype}; give uint8 pixels 0-255 "
                        "(e.g. np.round(x * 255).astype(np.uint8) for floats in [0, 1]).")
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)):
        raise DataError(f"{name}: {x_key} has shape {shape}; give (N, H, W) or "
                        "(N, H, W, C) images with C = 1 or 3.")
    image_shape = (*(options.image_size or shape[1:3]),
                   options.channels or (shape[3] if len(shape) == 4 else 1))
    convert.check_fits_in_memory(name, shape[0], image_shape)
    images = _load(path, x_key)
    images = images[..., None] if images.ndim == 3 else images
    images = convert.fit_images(images, options.image_size, options.channels)
    if y_key not in members:
        if split == "test" and "y" in members:
            raise DataError(f"{name} has x_test but no y_test: save the test labels "
                            "as y_test.")
        classes, labels = (), np.full(len(images), -1, np.int64)
    else:
        labels = _load(path, y_key)
        classes = _class_names(path, members)
        labels = _checked_labels(name, y_key, labels, len(images), classes)
    info = DatasetInfo(name, split, images.shape[1:], classes, len(images),
                       source=os.path.abspath(path))
    return LabeledImages(images, labels, info)


def _checked_labels(name, key, labels, count, classes) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{name}: {key} must be (N,) integer class ids, got "
                        f"{labels.dtype} {labels.shape}.")
    if len(labels) != count:
        raise DataError(f"{name}: {count} images but {len(labels)} labels in {key}: "
                        "x and y (x_test and y_test) must have one row per image.")
    outside = labels[(labels < 0) | (labels >= len(classes))]
    if len(outside):
        raise DataError(f"{name}: {key} holds label {int(outside[0])}, outside the "
                        f"{len(classes)} classes 0..{len(classes) - 1}"
                        f"{' of class_names' if len(classes) else ''}.")
    return labels.astype(np.int64)
