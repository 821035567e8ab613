"""A study's record: what of its out_dir is worth keeping under version control so
that the study goes on elsewhere (another machine, a fresh checkout) without training
anything again. That is its outputs (results, report, plots), the .json files of
every finished run (report.json, settings, timings; no weights, no TensorBoard logs)
and every trained flow's export (weights included: retraining one takes hours).
"""

import os

from tfaug import io

OUTPUTS = (".csv", ".json", ".md", ".png")


def _in_record(out_dir: str, path: str) -> bool:
    parts = path.split(os.sep)
    if len(parts) == 1:
        return path.endswith(OUTPUTS)
    if "export" in parts[:-1]:
        return parts[0] in ("flow", "flows")
    return (parts[0] == "runs" and path.endswith(".json") and os.path.exists(
        os.path.join(out_dir, os.path.dirname(path), "report.json")))


def publish(out_dir: str, publish_dir: str) -> int:
    """Copies the record of the study in out_dir to publish_dir; how many files
    changed."""
    return io.copy_files(out_dir, publish_dir, lambda path: _in_record(out_dir, path))


def restore(publish_dir: str, out_dir: str) -> int:
    """Copies into out_dir what it lacks of the record in publish_dir: its finished
    runs count as finished, its flows as trained. How many files it copied."""
    if not os.path.isdir(publish_dir):
        return 0
    return io.copy_files(publish_dir, out_dir,
                         lambda path: _in_record(publish_dir, path), replace=False)
