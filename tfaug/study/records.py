"""A study's record: what of its out_dir is worth keeping under version control so
that the study goes on elsewhere (another machine, a fresh checkout) without training
anything again: the .json files of every finished run (report.json, settings,
timings; no weights, no TensorBoard logs), every trained flow's export (weights
included: retraining one takes hours) and the digests of the inputs it was trained on
(so a continuation elsewhere on other data or another flow is refused). It is
published with the study's outputs (results, report, plots); anything else in the
publish directory (a README, a protocol) is neither taken nor overwritten.
"""

import os

from tfaug import io, provenance
from tfaug.study.report import OUTPUTS


def _in_record(out_dir: str, path: str) -> bool:
    """Whether `path` (relative to out_dir) is a record of a finished run or flow."""
    if path == provenance.FILE:  # what the study was trained on
        return True
    parts = path.split(os.sep)
    if "export" in parts[:-1]:
        return parts[0] in ("flow", "flows")
    return (parts[0] == "runs" and path.endswith(".json") and os.path.exists(
        os.path.join(out_dir, os.path.dirname(path), "report.json")))


def publish(out_dir: str, publish_dir: str) -> int:
    """Copies the record of the study in out_dir, and its outputs, to publish_dir;
    how many files changed."""
    return io.copy_files(out_dir, publish_dir, lambda path: (
        path in OUTPUTS or _in_record(out_dir, path)))


def restore(publish_dir: str, out_dir: str) -> int:
    """Copies into out_dir what it lacks of the record in publish_dir (not the
    outputs, which the study writes anew): its finished runs count as finished, its
    flows as trained. How many files it copied."""
    if not os.path.isdir(publish_dir):
        return 0
    return io.copy_files(publish_dir, out_dir,
                         lambda path: _in_record(publish_dir, path), replace=False)
