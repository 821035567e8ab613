"""What a run was trained on, by content: the data it read and the files it named (a
flow or VAE-GAN directory, a model file). A run resumed or reused under the same paths
after one of them changed (a flow trained further and exported again, a model file
edited, images added to a folder) would otherwise continue on, or stand for, inputs it
never saw."""

import hashlib
import os
from typing import Dict, List, Optional

import numpy as np

from tfaug import data, io
from tfaug.augment import registry
from tfaug.errors import ConfigError

FILE = "inputs.json"


def of(config, *datasets, augmentation: Optional[str] = None) -> Dict[str, str]:
    """Digests of the `datasets` (LabeledImages, as read; None ones left out) and of
    the files `config` names: its model file, and its flow and VAE-GAN directories
    where `augmentation` needs them (both when None; the shipped ones change only
    with tfaug)."""
    digests = {"data": _arrays_digest(d for ds in datasets if ds is not None
                                      for d in (ds.images, ds.labels))}
    kinds = ("flow", "vaegan") if augmentation is None else sorted(
        registry.latent_models_needed(augmentation))
    for key in ("model", *kinds):
        path = getattr(config, key, None)
        if path and os.path.exists(path):
            digests[key] = _files_digest(path)
    return digests


def of_config(config, augmentation: Optional[str] = None) -> Dict[str, str]:
    """`of` the data `config` reads: its training and test splits, and its unlabelled
    source if it names one."""
    pool = config.unlabelled and data.load_pool(config.unlabelled,
                                                **config.source_options())
    return of(config, config.load("train"), config.load("test"), pool,
              augmentation=augmentation)


def of_splits(config, splits) -> Dict[str, str]:
    """`of` a run's splits (train, val, test and its unlabelled pool, if any) and the
    files its augmentation uses."""
    return of(config, splits.train, splits.val, splits.test, splits.unlabelled,
              augmentation=config.augmentation)


def changed(directory: str, digests: Dict[str, str]) -> List[str]:
    """What differs between `digests` and the record in `directory`, described."""
    return differences(io.read_json(os.path.join(directory, FILE)), digests)


def differences(before: Optional[dict], digests: Dict[str, str]) -> List[str]:
    """What differs between two records, described; nothing when `before` is None
    (written before tfaug kept one)."""
    return [_WHAT.get(k, f"{k} differs") for k in changed_keys(before, digests)]


def changed_keys(before: Optional[dict], digests: Dict[str, str]) -> List[str]:
    """The keys ("data", "flow", ...) whose digests differ between two records."""
    if before is None:
        return []
    return [k for k in sorted(set(before) | set(digests))
            if before.get(k) != digests.get(k)]


def check(directory: str, digests: Dict[str, str], fix: str) -> None:
    """Records `digests` in directory/inputs.json; a ConfigError naming what changed
    if it holds others (`fix` says what to do)."""
    differ = changed(directory, digests)
    if differ:
        raise ConfigError(f"{directory} was trained on other inputs: "
                          f"{'; '.join(differ)} since. {fix}")
    io.write_json(os.path.join(directory, FILE), digests)


_WHAT = {"data": "the images or labels read differ",
         "flow": "the files of the flow directory (--flow) differ",
         "vaegan": "the files of the VAE-GAN directory (--vaegan) differ",
         "model": "the model file (--model) differs"}


def _arrays_digest(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8))  # no copy; empty ones too
    return digest.hexdigest()[:16]


def _files_digest(path: str) -> str:
    """The names and bytes of `path` (a file, or every file under a directory)."""
    digest = hashlib.sha256()
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(root, name) for root, _, names in os.walk(path) for name in names)
    for file in files:
        digest.update(os.path.relpath(file, path).encode() + b"\0")
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
