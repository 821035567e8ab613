"""Study processes sharing one out_dir, with a fixed split (--shard=0/2 and 1/2) or
the same command twice (each takes the next run no other holds), finish the grid
with no run done twice, and their report equals a single process's; a run whose
holder let go unfinished (killed) is trained by a process that waited for it."""

import csv
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from conftest import make_mnist_dir, run_script, save_tiny_flow, ROOT

TIMEOUT = 600
# Columns that measure time, which differ between any two runs.
TIMES = ("train_seconds", "cpu_seconds", "step_seconds", "wall_time_s")


def _results(out_dir):
    with open(out_dir / "results.csv") as f:
        return [{k: v for k, v in r.items() if k not in TIMES} for r in csv.DictReader(f)]


def _report_without_times(out_dir):
    """report.md without its Cost section (measured seconds)."""
    sections = (out_dir / "report.md").read_text().split("\n## ")
    kept = [s for s in sections if not s.startswith("Cost")]
    assert len(kept) == len(sections) - 1
    return kept


def _trained(stdout):
    """(budget, method, seed) of the runs this process trained itself."""
    return {m.groups() for m in re.finditer(
        r"lpc=(\d+) (\S+) seed=(\d+): test [\d.]+ \(\d+ s\)", stdout)}


GRID = {("2", "none", "0"), ("2", "latent_random", "0"), ("4", "none", "0"),
        ("4", "latent_random", "0")}


def _preset(tmp_path):
    values = {"dataset": "mnist",
              "data_dir": make_mnist_dir(tmp_path / "data", n_train=120, n_test=30),
              "flow": save_tiny_flow(tmp_path / "flow"),
              "budgets": [2, 4], "steps_by_budget": [4, 4], "seeds": [1],
              "methods": ["none", "latent_random(eps=0.5)"],
              "val_per_class": 2, "model_width": 0.25, "batch_size": 8, "epochs": 2,
              "jit": False}
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps(values))
    return preset


def _study(preset, out_dir, *flags, **kwargs):
    return subprocess.Popen([sys.executable, f"{ROOT}/bin/study.py", f"--hparams={preset}",
                             f"--out_dir={out_dir}", *flags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _outputs(processes):
    """Each process's stdout, once all have ended, each successfully."""
    try:
        outputs = [p.communicate(timeout=TIMEOUT) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, (_, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-3000:]
    return [out for out, _ in outputs]


def test_two_processes_of_one_command_split_the_grid(tmp_path):
    preset = _preset(tmp_path)
    outputs = _outputs([_study(preset, tmp_path / "out") for _ in range(2)])
    trained = [_trained(out) for out in outputs]
    assert not trained[0] & trained[1]  # no run done twice
    assert trained[0] | trained[1] == GRID
    assert len(_results(tmp_path / "out")) == 4
    for out in outputs:  # each ends with the whole grid's report
        assert out.count("(done before, skipped)") + len(_trained(out)) == 4


def test_a_run_let_go_unfinished_is_trained_by_the_process_waiting_for_it(tmp_path):
    from tfaug import io
    from tfaug.study import Run, run_dir
    preset = _preset(tmp_path)
    lock = run_dir(str(tmp_path / "out"), Run(2, "none", 0)) + ".lock"
    with io.claimed(lock) as ours:  # as a process training that run would
        assert ours
        study = _study(preset, tmp_path / "out",
                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        watchdog = threading.Timer(TIMEOUT, study.kill)  # a hang fails, not blocks
        watchdog.daemon = True
        watchdog.start()
        seen = ""
        for line in study.stdout:  # it goes on with the rest, then waits for that one
            seen += line
            if _trained(seen) == GRID - {("2", "none", "0")}:
                break
        assert "lpc=2 none seed=0: another process is training it" in seen
        time.sleep(2)
        assert study.poll() is None  # still waiting
    # let go with no result, as a killed process does: the study trains it itself
    out, err = study.communicate(timeout=TIMEOUT)
    watchdog.cancel()
    assert study.returncode == 0, err[-3000:]
    assert ("2", "none", "0") in _trained(out)
    assert len(_results(tmp_path / "out")) == 4


def test_two_shards_split_the_grid_and_report_as_one(tmp_path):
    preset = _preset(tmp_path)
    started = time.time()
    outputs = _outputs([_study(preset, tmp_path / "sharded", f"--shard={i}/2")
                        for i in range(2)])
    sharded_seconds = time.time() - started
    trained = [_trained(out) for out in outputs]
    assert len(trained[0]) == len(trained[1]) == 2
    assert not trained[0] & trained[1]  # no run done twice

    started = time.time()
    single = run_script("study.py", f"--hparams={preset}",
                        f"--out_dir={tmp_path / 'single'}", timeout=TIMEOUT)
    assert single.returncode == 0, single.stderr[-3000:]
    print(f"2 shards: {sharded_seconds:.1f} s, one process: {time.time() - started:.1f} s")
    assert _trained(single.stdout) == trained[0] | trained[1]
    assert _results(tmp_path / "sharded") == _results(tmp_path / "single")
    assert len(_results(tmp_path / "single")) == 4
    assert (_report_without_times(tmp_path / "sharded")
            == _report_without_times(tmp_path / "single"))


def test_bad_shard_is_a_one_line_error(tmp_path):
    result = run_script("study.py", "--hparams=study_fashion_mnist", "--shard=2/2",
                        f"--out_dir={tmp_path}")
    assert result.returncode == 2 and "shard must be i/n with 0 <= i < n" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text", ["1/3", "0/1"])
def test_parse_shard(text):
    from tfaug.study import parse_shard
    assert parse_shard(text) == tuple(int(v) for v in text.split("/"))
