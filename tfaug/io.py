"""Atomic file writes: a report or export is either complete or absent."""

import contextlib
import json
import os
import shutil
import tempfile

from tfaug import config as cfglib
from tfaug.errors import CheckpointError, ConfigError


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


def _save_then_rename(save, path: str, suffix: str) -> None:
    tmp = path + ".tmp" + suffix  # Keras wants the suffix
    save(tmp, overwrite=True)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_weights_atomic(model, path: str) -> None:
    """`model.save_weights(path)` (a `.weights.h5` path), written whole: Keras writes
    in place, so it goes to a temporary name, is synced, and is renamed into place."""
    _save_then_rename(model.save_weights, path, ".weights.h5")


def save_model_atomic(model, path: str) -> None:
    """`model.save(path)` (a `.keras` path), written whole like save_weights_atomic."""
    _save_then_rename(model.save, path, ".keras")


def copy_files(source: str, dest: str, wanted, replace: bool = True) -> int:
    """Copies each file under `source` whose path relative to it `wanted` accepts to
    the same place under `dest`, atomically file by file; with `replace` False only
    the files `dest` lacks. Files already equal are left alone. Returns how many
    files were written."""
    written = 0
    for root, _, files in os.walk(source):
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, source)
            if name.startswith(".tmp-") or not wanted(relative):
                continue
            target = os.path.join(dest, relative)
            if os.path.exists(target) and not replace:
                continue
            with open(path, "rb") as f:
                data = f.read()
            if os.path.exists(target):
                with open(target, "rb") as f:
                    if f.read() == data:
                        continue
            write_atomic(target, data)
            written += 1
    return written


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


@contextlib.contextmanager
def locked(path: str):
    """Holds an exclusive lock on the file `path` (created if absent) for the block:
    processes sharing a directory take turns at a read-modify-write."""
    with claimed(path, wait=True):
        yield


@contextlib.contextmanager
def claimed(path: str, wait: bool = False):
    """Yields whether this process holds the exclusive lock on the file `path`
    (created if absent) for the block: at once, False while another process holds
    it, or with `wait` once it is free. The lock goes with its holder, so a killed
    process leaves nothing behind."""
    import fcntl
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_out_dir(out_dir: str) -> None:
    """A ConfigError naming the problem when `out_dir` cannot be a writable directory,
    found without creating it (a temporary file in its nearest existing ancestor is
    made and removed), so a run that fails on its inputs leaves nothing behind."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError(f"out_dir {out_dir} is a file, not a directory: choose "
                          "another --out_dir.")
    existing = os.path.abspath(out_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"out_dir {out_dir} lies under the file {existing}: choose "
                          "another --out_dir.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ConfigError(f"Cannot write to out_dir {out_dir} ({e.strerror}): make it "
                          "writable, free space, or choose another --out_dir.") from None


def prepare_out_dir(out_dir: str, config=None, may_change=()) -> str:
    """Creates `out_dir` and checks it is a writable directory (ConfigError naming the
    problem otherwise; check_out_dir checks without creating). With `config` (a run's
    config dataclass), a run already in `out_dir` must have the same values except for
    the keys in `may_change` (a setting tfaug added since that run began reads as its
    default): a resume continues the run it resumes, never another one. Returns
    out_dir."""
    check_out_dir(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise ConfigError(f"Cannot write to out_dir {out_dir} ({e.strerror}): make it "
                          "writable, free space, or choose another --out_dir.") from None
    if config is None:
        return out_dir
    path = os.path.join(out_dir, "settings.json")
    try:
        before = read_json(path)
    except ValueError:
        before = None  # written atomically, so only a hand edit breaks it: rewrite
    settings = json.loads(json.dumps(cfglib.to_dict(config)))  # as read back
    if before is not None:
        before = cfglib.with_defaults(config, before)
        changed = sorted(k for k in set(before) | set(settings) if k not in may_change
                         and before.get(k) != settings.get(k))
        if changed:
            diff = "; ".join(f"{k}: {before.get(k)!r} -> {settings.get(k)!r}"
                             for k in changed)
            raise ConfigError(f"out_dir {out_dir} holds a run with other settings "
                              f"({diff}): rerun with its settings to resume it, or "
                              "choose another --out_dir.")
    write_json(path, settings)
    return out_dir


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
