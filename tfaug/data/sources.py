"""Loading a dataset split from local IDX files or tensorflow-datasets.

Sources, in order: a local directory of IDX files (MNIST-format datasets; a
well-known location such as Debian's dataset-fashion-mnist is tried by default), then
tensorflow-datasets: an already prepared copy, its manual_dir route (e.g. the official
CIFAR binary tarballs), or a download. Offline with none of these, `load` fails in
seconds with the options, instead of retrying the network for minutes.
"""

import os
import socket
from typing import Optional
from urllib.parse import urlparse

import numpy as np

from tfaug.data import catalog, idx
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.errors import DataError

PROBE_TIMEOUT_S = 3.0


def load(name: str, split: str = "train", *, data_dir: Optional[str] = None,
         tfds_data_dir: Optional[str] = None,
         manual_dir: Optional[str] = None) -> LabeledImages:
    """Loads split `split` of dataset `name` into memory.

    Args:
      name: one of `catalog.DATASETS` (fashion_mnist, mnist, cifar10, cifar100,
        svhn_cropped).
      split: "train" or "test" (tfds splits such as svhn's "extra" also work there).
      data_dir: a directory of IDX files (.gz or raw) for MNIST-format datasets.
        When given, it is the only source tried.
      tfds_data_dir: tensorflow-datasets' data directory (default: its own).
      manual_dir: where tfds finds manually downloaded archives (CIFAR tarballs).
    """
    spec = catalog.spec(name)
    if data_dir is not None:
        if not spec.idx:
            raise DataError(
                f"--data_dir reads IDX files, which {name} does not come as. Use "
                "manual_dir for archives tfds can build from (e.g. CIFAR tarballs).")
        return _load_idx(spec, split, data_dir, explicit=True)
    if spec.idx and spec.default_dir and _idx_paths(spec.default_dir, split):
        return _load_idx(spec, split, spec.default_dir, explicit=False)
    return _load_tfds(spec, split, tfds_data_dir, manual_dir)


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


def _load_idx(spec, split, directory, explicit) -> LabeledImages:
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


def _load_tfds(spec, split, tfds_data_dir, manual_dir) -> LabeledImages:
    import tensorflow_datasets as tfds

    builder = tfds.builder(spec.tfds_name, data_dir=tfds_data_dir)
    if not builder.is_prepared():
        if manual_dir is not None:
            if not os.path.isdir(manual_dir):
                raise DataError(f"manual_dir {manual_dir} does not exist.")
            config = tfds.download.DownloadConfig(manual_dir=manual_dir)
            builder.download_and_prepare(download_config=config)
        else:
            _fail_fast_if_offline(spec, builder)
            builder.download_and_prepare()
    known_splits = sorted(builder.info.splits.keys())
    if known_splits and split not in known_splits:
        raise DataError(f"{spec.name} has no split {split!r}; it has "
                        f"{', '.join(known_splits)}.")
    # Batches rather than batch_size=-1, which aborts the process under tfds' mocks.
    batches = list(tfds.as_numpy(
        builder.as_dataset(split=split, as_supervised=True).batch(8192)))
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    names = spec.class_names
    tfds_names = tuple(builder.info.features["label"].names)
    if spec.names_from_tfds and len(tfds_names) == spec.num_classes:
        names = tfds_names
    info = DatasetInfo(spec.name, split, spec.image_shape, names, len(labels),
                       source=f"tfds:{builder.data_dir}")
    return LabeledImages(np.asarray(images, np.uint8), labels.astype(np.int64), info)


def _fail_fast_if_offline(spec, builder) -> None:
    urls = list(builder.url_infos or {}) or ["https://storage.googleapis.com"]
    hosts = {(u.hostname, u.port or (443 if u.scheme == "https" else 80))
             for u in map(urlparse, urls)}
    unreachable = sorted(h for h, p in hosts if not reachable(h, p))
    if unreachable:
        install = f" or install them at {spec.default_dir}" if spec.default_dir else ""
        local = (f"  - put its IDX files in a directory and pass data_dir "
                 f"(--data_dir){install};\n" if spec.idx else "")
        raise DataError(
            f"{spec.name} is not available offline: tensorflow-datasets has not "
            f"prepared it in {builder.data_dir} and {', '.join(unreachable)} cannot be "
            f"reached. Options:\n{local}"
            f"  - place the files tfds downloads ({', '.join(os.path.basename(u) for u in urls)}) "
            "in a directory and pass manual_dir (--manual_dir);\n"
            "  - prepare it with tfds on a machine with network and pass its data "
            "directory (--tfds_data_dir).")


def reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to host:port opens within `timeout` seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False
