"""A study's cost timed in one sitting: the seconds of one training step of each row
of its main grid (its spec as trained, its model and train size), all measured in one
process on one machine (benchmarks/semi_step.py --results=... --out=FILE). Runs that
trained on different machines do not pair by seed (their CPU seconds differ by the
machines' speed); the step times of one sitting, times each row's optimizer steps,
do."""

import datetime
import os
import platform
from typing import Dict, List, Tuple

from tfaug import config as cfglib
from tfaug import io
from tfaug.errors import ConfigError
from tfaug.study.rows import MAIN

Key = Tuple[int, str]  # (labels per class, method)


def row_settings(rows: List[dict]) -> Dict[Key, Tuple[str, int, int, str]]:
    """{(labels per class, method): (spec, optimizer steps, train size, model)} of
    the main grid's rows, one per row of the report (its seeds share them)."""
    found = {}
    for r in rows:
        if r["variant"] != MAIN:
            continue
        key = (r["labels_per_class"], r["method"])
        settings = (r["augmentation"], r["optimizer_steps"], r["train_size"], r["model"])
        if found.setdefault(key, settings) != settings:
            raise ConfigError(f"{key} ran with more than one spec or step count "
                              f"({found[key]} and {settings}); time them separately.")
    return found


def write_timing(path: str, results_csv: str, step_seconds: Dict[Key, float],
                 rows: List[dict]) -> None:
    """Writes the step times of one sitting, with the settings they were timed at."""
    settings = row_settings(rows)
    io.write_json(path, {
        "results": cfglib.shown(results_csv),
        "measured": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "machine": f"{_processor()}, {os.cpu_count()} cores",
        "rows": [{"labels_per_class": b, "method": m, "augmentation": settings[b, m][0],
                  "optimizer_steps": settings[b, m][1], "step_seconds": s}
                 for (b, m), s in sorted(step_seconds.items())]})


def _processor() -> str:
    """The CPU's model name (Linux), else what platform knows of it."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def read_timing(path: str, rows: List[dict]) -> Tuple[dict, Dict[Key, float]]:
    """(when and on what machine it was timed, {(labels per class, method): seconds a
    run}) from a file of write_timing, checked against the study's rows: a row timed
    with another spec or step count than it trained with is refused."""
    fix = (f"time the study's rows again: benchmarks/semi_step.py --results=<its "
           f"results.csv> --out={path}")
    try:
        data = io.read_json(cfglib.from_root(path))
        timed = None if data is None else {
            (int(e["labels_per_class"]), str(e["method"])):
            (str(e["augmentation"]), int(e["optimizer_steps"]), float(e["step_seconds"]))
            for e in data["rows"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"cost_timing {path}: not a timing of one sitting "
                          f"({type(e).__name__}: {e}); {fix}.") from None
    if data is None:
        raise ConfigError(f"cost_timing {path}: no such file; {fix}.")
    seconds = {}
    for key, (spec, steps, _, _) in row_settings(rows).items():
        if key not in timed:
            continue
        timed_spec, timed_steps, step = timed[key]
        if (timed_spec, timed_steps) != (spec, steps):
            raise ConfigError(f"cost_timing {path}: {key[1]} at {key[0]} per class was "
                              f"timed as {timed_spec!r} for {timed_steps} steps, but "
                              f"trained as {spec!r} for {steps}; {fix}.")
        seconds[key] = step * steps
    return {k: data.get(k, "?") for k in ("measured", "machine")}, seconds
