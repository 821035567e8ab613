"""The built-in datasets by name (fashion_mnist, mnist, cifar10, cifar100,
svhn_cropped): MNIST-format ones from a local directory of IDX files when there is one
(a well-known location such as Debian's dataset-fashion-mnist is tried by default),
else every one through tensorflow-datasets (tfaug.data.tfds_source)."""

import os

import numpy as np

from tfaug.data import catalog, convert, idx, tfds_source
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.errors import DataError


def has_split(name: str, split: str, options: SourceOptions) -> bool:
    return split in ("train", "test")  # every built-in dataset has both


def read(name: str, split: str, options: SourceOptions) -> LabeledImages:
    spec = catalog.spec(name)
    directory = _idx_directory(spec, options)
    if directory is not None:
        data = _load_idx(spec, split, directory)
        images = convert.fit_images(data.images, options.image_size, options.channels)
        info = DatasetInfo(spec.name, split, images.shape[1:], spec.class_names,
                           len(images), source=directory)
        return LabeledImages(images, data.labels, info)
    local = ""
    if spec.idx:
        install = f" or install them at {spec.default_dir}" if spec.default_dir else ""
        local = (f"  - put its IDX files in a directory and pass data_dir "
                 f"(--data_dir){install};\n")
    return tfds_source.read(spec.tfds_name, split, options, label=spec.name,
                            local_hint=local, class_names=spec.class_names or None)


def _idx_directory(spec, options):
    """The directory of IDX files to read `spec` from, or None for tfds."""
    if options.data_dir is not None:
        if not spec.idx:
            raise DataError(
                f"--data_dir reads IDX files, which {spec.name} does not come as. Use "
                "manual_dir for archives tfds can build from (e.g. CIFAR tarballs).")
        return options.data_dir
    if spec.idx and spec.default_dir and _idx_paths(spec.default_dir, "train"):
        return spec.default_dir
    return None


def _idx_paths(directory: str, split: str):
    """(images, labels) paths of `split` in `directory`, or None if absent."""
    if split not in catalog.IDX_FILES:
        return None
    found = []
    for stem in catalog.IDX_FILES[split]:
        candidates = [os.path.join(directory, stem + ext) for ext in ("", ".gz")]
        existing = [p for p in candidates if os.path.isfile(p)]
        if not existing:
            return None
        found.append(existing[0])
    return tuple(found)


def _load_idx(spec, split, directory) -> LabeledImages:
    paths = _idx_paths(directory, split)
    if paths is None:
        wanted = " and ".join(f"{s}[.gz]" for s in catalog.IDX_FILES.get(split, ()))
        raise DataError(
            f"No {spec.name} {split!r} split in {directory}: expected {wanted}."
            if split in catalog.IDX_FILES else
            f"IDX datasets have splits 'train' and 'test', not {split!r}.")
    images, labels = idx.read_idx(paths[0], ndim=3), idx.read_idx(paths[1], ndim=1)
    if images.ndim != 3 or images.shape[1:] != spec.image_shape[:2]:
        raise DataError(f"{paths[0]}: images of shape {images.shape[1:]}, expected "
                        f"{spec.image_shape[:2]} for {spec.name}.")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{paths[1]} holds {labels.shape} labels for {len(images)} "
                        f"images in {paths[0]}: the files do not belong together.")
    info = DatasetInfo(spec.name, split, spec.image_shape, spec.class_names,
                       len(labels), source=directory)
    return LabeledImages(images[..., None], labels.astype(np.int64), info)
