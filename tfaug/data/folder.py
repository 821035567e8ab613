"""`folder:PATH`: image files on disk, in the layout of Keras'
`image_dataset_from_directory`.

    PATH/<class>/**/*.png|jpg|jpeg|bmp|gif     one subfolder per class, sorted by name
    PATH/*.png ...                             no subfolders: an unlabelled pool
    PATH/train/..., PATH/test/...              both present: the two splits

Images keep the channels their files hold (all grayscale: 1, else 3; alpha is
dropped) unless `channels` is given, and must share one size unless `image_size` is.
"""

import collections
import os
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

import numpy as np
import tensorflow as tf

from tfaug.data import convert
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_PNG = b"\x89PNG\r\n\x1a\n"


def _root(path: str) -> str:
    if not os.path.isdir(path):
        raise DataError(f"folder:{path}: no such directory. Give a folder of images, "
                        "one subfolder per class (PATH/<class>/*.png).")
    return path


def _split_dirs(path: str) -> dict:
    """{"train": dir[, "test": dir]}: PATH/train and PATH/test when both exist."""
    path = _root(path)
    split_dirs = {s: os.path.join(path, s) for s in ("train", "test")}
    if all(os.path.isdir(d) for d in split_dirs.values()):
        return split_dirs
    return {"train": path}


def has_split(path: str, split: str, options: SourceOptions) -> bool:
    return split in _split_dirs(path)


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS) and not name.startswith(".")


def image_paths(directory: str) -> List[str]:
    """Every image file below `directory`, in sorted order."""
    found = []
    for parent, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(parent, f) for f in sorted(files) if _is_image(f)]
    return found


def listing(directory: str) -> Tuple[Tuple[str, ...], List[str], List[int]]:
    """(class names, image paths, labels) of a directory; no class names and labels
    of -1 when it holds images but no subfolders (an unlabelled pool)."""
    entries = sorted(e for e in os.listdir(directory) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(directory, e))]
    loose = [os.path.join(directory, e) for e in entries
             if _is_image(e) and os.path.isfile(os.path.join(directory, e))]
    if not classes:
        if not loose:
            raise DataError(f"{directory} holds no images ({', '.join(EXTENSIONS)}) and "
                            "no class subfolders.")
        return (), loose, [-1] * len(loose)
    if loose:
        raise DataError(
            f"{directory} holds class subfolders and also {len(loose)} images outside "
            f"them ({', '.join(os.path.basename(p) for p in loose[:3])}"
            f"{', ...' if len(loose) > 3 else ''}): move each into its class folder, or "
            "out of the dataset.")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = image_paths(os.path.join(directory, name))
        if not files:
            raise DataError(f"Class folder {os.path.join(directory, name)} holds no "
                            f"images ({', '.join(EXTENSIONS)}): add its images or remove "
                            "the folder.")
        paths += files
        labels += [label] * len(files)
    return tuple(classes), paths, labels


def _decode(path: str) -> np.ndarray:
    """The image in `path` as a uint8 (H, W, C) array, C as stored (1-4)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"Cannot read {path}: {e.strerror}.") from None
    if raw[:8] == _PNG and len(raw) > 24 and raw[24] == 16:
        raise DataError(f"{path} is a 16-bit PNG; tfaug reads 8-bit images: convert it "
                        "(e.g. with PIL: Image.open(p).point(lambda v: v / 257)"
                        ".convert('L').save(p)).")
    try:
        image = tf.io.decode_image(raw, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        raise DataError(f"{path} is not a readable image (corrupt, or not really "
                        f"{os.path.splitext(path)[1]}): replace or remove it.") from None
    return image


def _common_size(name: str, paths: List[str], images: List[np.ndarray]):
    sizes = collections.OrderedDict()
    for path, image in zip(paths, images):
        sizes.setdefault(image.shape[:2], []).append(path)
    if len(sizes) == 1:
        return next(iter(sizes))
    listed = "; ".join(f"{h}x{w} ({len(p)}, e.g. {p[0]})" for (h, w), p in
                       sorted(sizes.items(), key=lambda kv: -len(kv[1]))[:5])
    raise DataError(f"{name}: images of {len(sizes)} sizes: {listed}. Pass "
                    "--image_size=H,W to resize them all to one size.")


def _resized(images: List[np.ndarray], size) -> np.ndarray:
    """Images of any sizes, resized to `size` a batch of equal sizes at a time."""
    out = np.empty((len(images), *size, images[0].shape[-1]), np.uint8)
    by_shape = collections.defaultdict(list)
    for i, image in enumerate(images):
        by_shape[image.shape].append(i)
    for indices in by_shape.values():
        out[indices] = convert.resize(np.stack([images[i] for i in indices]), size)
    return out


def read(path: str, split: str, options: SourceOptions) -> LabeledImages:
    directory = _split_dirs(path)[split]
    name = f"folder:{path}"
    classes, paths, labels = listing(directory)
    if split == "test":
        train_classes = listing(_split_dirs(path)["train"])[0]
        extra = sorted(set(classes) - set(train_classes))
        if extra or bool(classes) != bool(train_classes):
            raise DataError(f"{directory}: classes {', '.join(extra) or '(none)'} are "
                            f"not among the training classes "
                            f"({', '.join(train_classes) or 'none: unlabelled'}).")
        labels = [train_classes.index(classes[l]) if l >= 0 else -1 for l in labels]
        classes = train_classes
    first = _decode(paths[0])
    channels = options.channels or (1 if first.shape[-1] <= 2 else 3)
    convert.check_fits_in_memory(name, len(paths),
                                 (*(options.image_size or first.shape[:2]), channels))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        images = list(pool.map(_decode, paths))
    if options.channels is None and any(im.shape[-1] > 2 for im in images):
        channels = 3
    images = [convert.to_channels(im, channels) for im in images]
    if options.image_size is None:
        _common_size(name, paths, images)
        images = np.stack(images)
    else:
        images = _resized(images, options.image_size)
    info = DatasetInfo(name, split, images.shape[1:], classes, len(images),
                       source=os.path.abspath(directory))
    return LabeledImages(images, np.asarray(labels, np.int64), info)
