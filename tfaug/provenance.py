"""What a run was trained on, by content: the data it read and the files it named (a
flow or VAE-GAN directory, a model file). A run resumed or reused under the same paths
after one of them changed (a flow trained further and exported again, a model file
edited, images added to a folder) would otherwise continue on, or stand for, inputs it
never saw."""

import hashlib
import os
from typing import Dict, Optional

import numpy as np

from tfaug import io
from tfaug.errors import ConfigError

FILE = "inputs.json"


def of(config, *datasets) -> Dict[str, str]:
    """Digests of the `datasets` (LabeledImages, as read) and of the flow, VAE-GAN and
    model files `config` names (the shipped ones change only with tfaug)."""
    digests = {"data": _arrays_digest(d for ds in datasets if ds is not None
                                      for d in (ds.images, ds.labels))}
    for key in ("flow", "vaegan", "model"):
        path = getattr(config, key, None)
        if path and os.path.exists(path):
            digests[key] = _files_digest(path)
    return digests


def check(directory: str, digests: Dict[str, str], fix: str) -> None:
    """Records `digests` in directory/inputs.json; a ConfigError naming what changed
    if it holds others (`fix` says what to do). A record written before tfaug kept one
    is taken as it is now."""
    path = os.path.join(directory, FILE)
    before: Optional[dict] = io.read_json(path)
    if before is not None:
        changed = sorted(k for k in set(before) | set(digests)
                         if before.get(k) != digests.get(k))
        if changed:
            what = "; ".join(_WHAT.get(k, f"{k} differs") for k in changed)
            raise ConfigError(f"{directory} was trained on other inputs: {what} since. "
                              f"{fix}")
    io.write_json(path, digests)


_WHAT = {"data": "the images or labels read differ",
         "flow": "the files of the flow directory (--flow) differ",
         "vaegan": "the files of the VAE-GAN directory (--vaegan) differ",
         "model": "the model file (--model) differs"}


def _arrays_digest(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
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
