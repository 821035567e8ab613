"""Shared plumbing for the bin/ entry points (the library itself reads no flags).

Importing this module first sets TensorFlow's environment defaults (quiet C++ logs,
oneDNN kernels on CPU) before TensorFlow is imported.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import app  # noqa: E402

from tfaug.errors import TfaugError  # noqa: E402


def run(main) -> None:
    """absl's app.run(main), printing tfaug errors as one clear message (exit 2)."""

    def guarded(argv):
        try:
            return main(argv)
        except TfaugError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)
