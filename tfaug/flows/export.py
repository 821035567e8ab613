"""Saving and loading trained Glows: a directory with glow.json (architecture),
report.json (how it was trained) and TensorFlow checkpoint files of the weights."""

import json
import os

import tensorflow as tf

from tfaug import config as cfglib
from tfaug import io
from tfaug.errors import CheckpointError, first_line
from tfaug.flows.glow import Glow, GlowConfig

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "pretrained")


def save(glow: Glow, directory: str, report: dict = None) -> None:
    """Writes `glow` to `directory` atomically (replacing what was there)."""
    with io.atomic_directory(directory) as tmp:
        io.write_json(os.path.join(tmp, "glow.json"), cfglib.to_dict(glow.config))
        if report is not None:
            io.write_json(os.path.join(tmp, "report.json"), report)
        glow.checkpoint().write(os.path.join(tmp, "weights"))


def load(directory: str) -> Glow:
    """The Glow saved in `directory`, weights restored and checked."""
    config_path = os.path.join(directory, "glow.json")
    if not os.path.isfile(config_path):
        raise CheckpointError(f"No saved flow in {directory}: glow.json is missing. "
                              "Train one with bin/train_flow.py --export_dir=...")
    try:
        with open(config_path) as f:
            values = json.load(f)
        values["image_shape"] = tuple(values["image_shape"])
        glow = Glow(cfglib.from_dict(GlowConfig, values, source=config_path))
        glow.checkpoint().read(
            os.path.join(directory, "weights")).assert_consumed()
    except (ValueError, KeyError, IndexError, TypeError, tf.errors.OpError,
            AssertionError) as e:
        raise CheckpointError(
            f"The flow in {directory} cannot be loaded ({type(e).__name__}: "
            f"{first_line(e)}). Its files are corrupt or incomplete: export or "
            "download it again.") from None
    if not glow.initialized:
        raise CheckpointError(f"The flow in {directory} was saved before training "
                              "started (ActNorm not initialised).")
    return glow


def pretrained(name: str = "fashion_mnist") -> Glow:
    """A Glow shipped with tfaug, ready to use: `pretrained("fashion_mnist")`."""
    return load(io.shipped(PRETRAINED_DIR, name, "glow.json", "flow"))


def for_dataset(dataset: str, directory: str = None) -> Glow:
    """The flow exported to `directory`, else the one shipped for `dataset`."""
    if directory:
        return load(directory)
    try:
        return pretrained(dataset)
    except CheckpointError:
        raise CheckpointError(f"No flow ships for {dataset}: train one with "
                              f"bin/train_flow.py --dataset={dataset} --export_dir=DIR "
                              "and pass --flow=DIR.") from None
