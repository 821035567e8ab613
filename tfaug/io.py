"""Atomic file writes: a report or export is either complete or absent."""

import contextlib
import json
import os
import shutil
import tempfile

from tfaug.errors import CheckpointError


def write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(directory: str):
    """Yields a fresh temporary directory that replaces `directory` (and whatever was
    there) when the block completes; on an error it is removed instead."""
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-export-")
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if os.path.exists(directory):
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def shipped(root: str, name: str, marker: str, what: str) -> str:
    """root/name: the directory of a model shipped with tfaug, recognised by its
    `marker` file; a CheckpointError listing the shipped `what`s otherwise."""
    directory = os.path.join(root, name)
    if os.path.isfile(os.path.join(directory, marker)):
        return directory
    names = sorted(d for d in os.listdir(root) if os.path.isfile(
        os.path.join(root, d, marker))) if os.path.isdir(root) else []
    raise CheckpointError(f"No pretrained {what} {name!r}; shipped: "
                          f"{', '.join(names) or 'none'}.")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str, obj) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str, default=None):
    """The JSON in `path`, or `default` when the file is absent."""
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def versions() -> dict:
    """Versions of the stack, for reports."""
    import platform

    import keras
    import numpy
    import tensorflow as tf
    import tensorflow_probability as tfp

    import tfaug
    return {"tfaug": tfaug.__version__, "python": platform.python_version(),
            "tensorflow": tf.__version__, "tensorflow_probability": tfp.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__}
