"""Typed configs: dataclasses filled from hparams/*.json presets plus overrides.

Every field documents itself (`field(default, help)`), so entry points can turn the
fields into flags with help text. Unknown keys are an error, never silently ignored.
"""

import dataclasses
import json
import math
import os
import typing
from typing import Any, Dict, Type, TypeVar

from tfaug.errors import ConfigError

PRESET_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "hparams")
T = TypeVar("T")


def field(default, help: str):  # noqa: A002 - mirrors absl's argument name
    """A config field with its documentation."""
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def fields(cls) -> Dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def coerce(name: str, kind, value):
    """`value` as type `kind` (from a preset, a flag string or a spec)."""
    origin = typing.get_origin(kind)
    if origin is dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{name}: cannot read {value!r} as a JSON object "
                                  f"({e}).") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a JSON object, got {value!r}.")
        return dict(value)
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        (item,) = set(typing.get_args(kind)) - {Ellipsis} or {str}
        return tuple(coerce(name, item, v) for v in value)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        return coerce(name, next(a for a in typing.get_args(kind)
                                 if a is not type(None)), value)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "1")
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        value = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name}: cannot read {value!r} as {kind.__name__}.") from None
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}.")
    return value


def from_dict(cls: Type[T], values: Dict[str, Any], source: str = "config") -> T:
    """Builds `cls` from `values`; unknown keys and bad types are ConfigErrors."""
    known = fields(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        hint = getattr(cls, "unknown_key_hint", lambda keys: "")(unknown)
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}. Known keys: "
                          f"{', '.join(sorted(known))}.{hint}")
    hints = typing.get_type_hints(cls)
    config = cls(**{k: coerce(k, hints[k], v) for k, v in values.items()})
    validate = getattr(config, "validate", None)
    return validate() if validate else config


def preset_path(name: str) -> str:
    if os.path.isfile(name):
        return name
    path = os.path.join(PRESET_DIR, name + ".json")
    if not os.path.isfile(path):
        names = sorted(p[:-5] for p in os.listdir(PRESET_DIR) if p.endswith(".json"))
        raise ConfigError(f"No preset {name!r}: not a file, and not one of "
                          f"{', '.join(names)} in {PRESET_DIR}.")
    return path


def load(cls: Type[T], preset: str = None, overrides: Dict[str, Any] = None) -> T:
    """`cls` from its defaults, then preset `preset` (a name in hparams/ or a path),
    then `overrides`."""
    values = {}
    if preset:
        path = preset_path(preset)
        try:
            with open(path) as f:
                values = json.load(f)
        except json.JSONDecodeError as e:
            raise ConfigError(f"Preset {path} is not valid JSON: {e}.") from None
        if not isinstance(values, dict):
            raise ConfigError(f"Preset {path} must hold a JSON object.")
        from_dict(cls, values, source=path)  # report unknown keys against the file
    return from_dict(cls, {**values, **(overrides or {})},
                     source=preset or "overrides")


def narrow(cls: Type[T], config, **updates) -> T:
    """`config` (an instance of a subclass of `cls`) as a validated `cls`, with
    `updates` applied."""
    values = {name: getattr(config, name) for name in fields(cls)}
    values.update(updates)
    return cls(**values).validate()


JIT_HELP = ("XLA-compile the training step (default: only when a GPU is visible and "
            "the strategy has one replica; on CPU the oneDNN kernels without XLA "
            "measured 1.3-2x faster, and XLA over several replicas is untested).")


def use_xla(jit: typing.Optional[bool], replicas: typing.Optional[int] = None) -> bool:
    """A config's `jit` resolved: None means XLA exactly when a GPU is visible and the
    training runs on one replica (`replicas`; default: the current strategy's), the
    combinations the tests cover (XLA with mixed precision on one device; several
    replicas without XLA)."""
    if jit is not None:
        return bool(jit)
    import tensorflow as tf
    if replicas is None:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return bool(tf.config.list_physical_devices("GPU")) and replicas == 1


def from_root(path: str) -> str:
    """A path as a preset means it: relative paths are relative to the project root
    (unless they exist from the working directory)."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    return os.path.join(os.path.dirname(PRESET_DIR), path)


def shown(path: str) -> str:
    """A path as a report should print it: relative to the root of the repository
    (any checkout) that holds it, else as given."""
    directory = os.path.dirname(os.path.abspath(path))
    while directory != os.path.dirname(directory):
        if os.path.exists(os.path.join(directory, ".git")):
            return os.path.relpath(os.path.abspath(path), directory)
        directory = os.path.dirname(directory)
    return path


def to_dict(config) -> Dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(config).items()}


def with_defaults(config, recorded: Dict[str, Any]) -> Dict[str, Any]:
    """`recorded` (settings of `config`'s class, as a run wrote them) with each setting
    it lacks at its default, as to_dict gives it: one tfaug added since."""
    return {**to_dict(type(config)()), **recorded}


DATASET_HELP = ("Dataset: fashion_mnist, mnist, cifar10, cifar100, svhn_cropped, or "
                "your own: folder:PATH (one subfolder of images per class; without "
                "subfolders an unlabelled pool, for a flow), npz:FILE (arrays x, y "
                "[, x_test, y_test]) or tfds:NAME[/CONFIG] (any tensorflow-datasets "
                "image classification dataset).")


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where a config's dataset comes from and how its images are converted (shared by
    every training config; tfaug.data.SourceOptions documents the options)."""
    dataset: str = field("fashion_mnist", DATASET_HELP)
    data_dir: typing.Optional[str] = field(None, "Directory of IDX files (.gz or raw) "
                                                 "for MNIST-format datasets.")
    tfds_data_dir: typing.Optional[str] = field(None, "tensorflow-datasets data "
                                                      "directory.")
    manual_dir: typing.Optional[str] = field(None, "tfds manual_dir holding archives "
                                                   "it builds from offline (CIFAR "
                                                   "tarballs).")
    image_size: typing.Optional[typing.Tuple[int, ...]] = field(
        None, "Resize every image to H,W (e.g. 32,32); needed when a folder's images "
              "differ in size or a flow's levels do not divide the sides.")
    channels: typing.Optional[int] = field(None, "1 (grayscale) or 3 (RGB); default: "
                                                 "what the files hold.")
    test_fraction: typing.Optional[float] = field(
        None, "For a dataset without a test split of its own (a folder without "
              "train/ and test/, an npz without x_test): the fraction of each class "
              "held out as the test split (default 0.2).")
    split_seed: typing.Optional[int] = field(None, "Seed choosing that held-out test "
                                                   "split (default 0).")

    def source_options(self) -> dict:
        return {name: getattr(self, name) for name in (
            "data_dir", "tfds_data_dir", "manual_dir", "image_size", "channels",
            "test_fraction", "split_seed")}

    def validate_source(self) -> None:
        """The dataset's name and options, checked without reading any data."""
        from tfaug import data
        try:
            data.parse(self.dataset)
            data.SourceOptions(**self.source_options())
        except data.DataError as e:  # a setting, not the data, is wrong
            raise ConfigError(str(e)) from None

    def load(self, split: str):
        """Split `split` of the dataset, as tfaug.data.LabeledImages."""
        from tfaug import data
        return data.load(self.dataset, split, **self.source_options())
