"""Shared plumbing of the bin/ entry points; the only code that touches absl flags.

Importing it sets TensorFlow's environment defaults (quiet C++ logs, oneDNN kernels on
CPU) before TensorFlow loads, then loads TensorFlow with its native start-up lines
(oneDNN, CUDA's "failed call to cuInit") silenced, which TF_CPP_MIN_LOG_LEVEL does not
reach. TFAUG_TF_LOGS=1 shows them.
"""

import dataclasses
import os
import signal
import sys
import tempfile
import typing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import app, flags, logging  # noqa: E402

from tfaug import config as cfglib  # noqa: E402
from tfaug.errors import TfaugError  # noqa: E402


def load_tensorflow_quietly() -> None:
    """Imports TensorFlow and initialises its devices with the process's stderr (file
    descriptor 2) muted: their native lines are written before absl's log threshold
    applies. What was written is shown if the import fails. Under TF_CONFIG the
    devices are left for MultiWorkerMirroredStrategy to initialise (it must configure
    them itself), so their lines may show."""
    if os.environ.get("TFAUG_TF_LOGS") == "1":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            if "TF_CONFIG" not in os.environ:  # a multi-worker strategy must come first
                tf.config.list_logical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


load_tensorflow_quietly()  # before the entry point imports tfaug's trainers


def keras_verbose() -> int:
    """Keras' progress bar on a terminal; one line per epoch into a file or a pipe
    (the bar's redraws and colour codes would clutter a log)."""
    return 1 if sys.stdout.isatty() else 2


def run(main) -> None:
    """absl's app.run(main), printing tfaug errors as one clear message (exit 2)."""

    def guarded(argv):
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO chatter
        signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` checkpoints too
        if len(argv) > 1:
            print(f"error: unexpected arguments {argv[1:]}; flags look like --name=value",
                  file=sys.stderr)
            sys.exit(2)
        try:
            return main(argv)
        except TfaugError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)

    app.run(guarded)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def define_config_flags(cls, preset_help: str = None) -> None:
    """--hparams (when `preset_help` is given) plus one flag per field of config
    dataclass `cls` (no default: a given flag overrides the preset)."""
    if preset_help:
        flags.DEFINE_string("hparams", None, preset_help)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if typing.get_origin(kind) is typing.Union:
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f"{f.metadata.get('help', '')} (default: {_show(default)})"
        define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                  float: flags.DEFINE_float}.get(kind, flags.DEFINE_string)
        define(f.name, None, help_text)


def _show(value):
    return ",".join(map(str, value)) if isinstance(value, tuple) else value


def flag_overrides(cls) -> dict:
    """The fields of `cls` given on the command line."""
    values = flags.FLAGS
    return {f.name: values[f.name].value for f in dataclasses.fields(cls)
            if values[f.name].present}


def config_from_flags(cls):
    """The config: defaults <- --hparams preset <- flags given on the command line."""
    preset = flags.FLAGS["hparams"].value if "hparams" in flags.FLAGS else None
    return cfglib.load(cls, preset, flag_overrides(cls))
