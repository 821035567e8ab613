"""kill -9 harness: each long-running entry point is started as a subprocess, killed
with SIGKILL at seeded random moments, and rerun to the end. After every kill no file
is half-written (every JSON parses, every checkpoint and weights file loads), and the
finished run's results equal an uninterrupted run's, bit for bit. Each kill lands a
seeded 5-80% of the way from the run's first checkpoint to its end (measured on an
uninterrupted reference run), so it interrupts training, not the TensorFlow import.
A temporary file cut short before its rename (*.tmp*) is litter, never read."""

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import ROOT, h5_arrays, make_mnist_dir, save_tiny_flow

KILLS = 2  # kill moments per entry point, each in a run of its own
TIMEOUT = 300


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    return {"data_dir": make_mnist_dir(root / "data", n_train=120, n_test=30),
            "flow": save_tiny_flow(root / "flow")}


def _command(script, preset, out_dir, extra=()):
    return [sys.executable, os.path.join(ROOT, "bin", script), f"--hparams={preset}",
            f"--out_dir={out_dir}", *extra]


def _wait_for(proc, out_dir, marker, timeout=TIMEOUT):
    """Seconds until a file matching `marker` (under out_dir: the run's first
    checkpoint) exists, or None if the process ended first."""
    start = time.time()
    while not glob.glob(os.path.join(out_dir, marker)):
        if proc.poll() is not None or time.time() - start > timeout:
            return None
        time.sleep(0.05)
    return time.time() - start


def _run(command, out_dir, marker):
    """Runs `command` to the end: (seconds to its first checkpoint, seconds in all)."""
    start = time.time()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    first = _wait_for(proc, out_dir, marker)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err[-3000:]
    return first, time.time() - start


def _kill_at(command, out_dir, marker, seconds):
    """Starts `command` and SIGKILLs it `seconds` after its first checkpoint (if still
    running). Returns whether the kill landed."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if _wait_for(proc, out_dir, marker) is None:
            return False
        proc.wait(timeout=seconds)
        return False  # finished before the kill
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True
    finally:
        proc.stderr.close()


def _assert_intact(out_dir):
    """Every JSON parses; every TensorFlow checkpoint and .h5 file loads."""
    import h5py
    import tensorflow as tf
    for path in glob.glob(os.path.join(out_dir, "**", "*.json"), recursive=True):
        with open(path) as f:
            json.load(f)
    for path in glob.glob(os.path.join(out_dir, "**", "*.h5"), recursive=True):
        if ".tmp" in os.path.basename(path):
            continue  # a write cut short before its rename: never read
        with h5py.File(path, "r"):
            pass
    for path in glob.glob(os.path.join(out_dir, "**", "checkpoint"), recursive=True):
        latest = tf.train.latest_checkpoint(os.path.dirname(path))
        assert latest, f"{path} names no checkpoint"
        tf.train.load_checkpoint(latest).get_variable_to_shape_map()


def _killed_then_finished(command, out_dir, marker, seconds):
    """Kills `command` `seconds` after its first checkpoint, checks the files it left,
    then reruns it to the end. Returns whether the kill landed before the end."""
    killed = _kill_at(command, out_dir, marker, seconds)
    _assert_intact(out_dir)
    _run(command, out_dir, marker)
    return killed


def _preset(tmp_path, values):
    path = tmp_path / "preset.json"
    path.write_text(json.dumps(values))
    return str(path)


def _assert_same_h5(a, b):
    ours, theirs = h5_arrays(a), h5_arrays(b)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (name, x), (_, y) in zip(ours, theirs):
        assert np.array_equal(x, y), name


def _check(tmp_path, script, values, seed, marker, extra=lambda out: ()):
    """A reference run, then KILLS runs each killed once at a seeded moment between
    the reference's first checkpoint (a file matching `marker`) and its end, then
    finished; returns the reference's out_dir and theirs."""
    preset = _preset(tmp_path, values)
    whole = tmp_path / "whole"
    first, seconds = _run(_command(script, preset, whole, extra(whole)), whole, marker)
    assert first is not None, f"the reference run wrote no {marker}"
    rng = np.random.default_rng(seed)
    afters = [round(float(rng.uniform(0.05, 0.8) * (seconds - first)), 2)
              for _ in range(KILLS)]
    cuts = [tmp_path / f"cut{i}" for i in range(KILLS)]
    # The killed runs go side by side (each kill is timed from its own run's first
    # checkpoint), which halves the test's wall time.
    with ThreadPoolExecutor(KILLS) as pool:
        landed = list(pool.map(lambda cut, after: _killed_then_finished(
            _command(script, preset, cut, extra(cut)), cut, marker, after), cuts, afters))
    moments = [a for a, hit in zip(afters, landed) if hit]
    print(f"{script}: reference {seconds:.1f} s, first checkpoint at {first:.1f} s; "
          f"killed {moments} s after it")
    assert moments, "no kill landed before the run finished"
    return whole, cuts


def test_train_flow(tmp_path, inputs):
    import tensorflow as tf
    values = {"dataset": "mnist", "data_dir": inputs["data_dir"], "train_steps": 40,
              "batch_size": 16, "levels": 2, "steps_per_level": 1, "width": 8,
              "warmup_steps": 5, "log_every": 2, "eval_every": 20,
              "eval_examples": 16, "checkpoint_every": 2, "jit": False}
    whole, cuts = _check(tmp_path, "train_flow.py", values, seed=1,
                         marker="checkpoints/checkpoint",
                         extra=lambda out: [f"--export_dir={out}/export"])
    a = tf.train.load_checkpoint(str(whole / "export" / "weights"))
    names = sorted(a.get_variable_to_shape_map())
    for cut in cuts:
        b = tf.train.load_checkpoint(str(cut / "export" / "weights"))
        assert names == sorted(b.get_variable_to_shape_map())
        for name in names:
            assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name
        ra, rb = (json.loads((d / "report.json").read_text()) for d in (whole, cut))
        assert ra["final_test_bits_per_dim"] == rb["final_test_bits_per_dim"]


def test_train_classifier(tmp_path, inputs):
    values = {"dataset": "mnist", "data_dir": inputs["data_dir"], "flow": inputs["flow"],
              "labels_per_class": 4, "val_per_class": 2, "model_width": 0.25,
              "epochs": 6, "steps_per_epoch": 3, "batch_size": 8, "jit": False,
              "augmentation": "latent_adversarial(eps=0.5,alpha=0.25,steps=1,"
                              "amortized=true)+standard(pad=1)"}
    whole, cuts = _check(tmp_path, "train_classifier.py", values, seed=2,
                         marker="backup/latest.weights.h5")
    for cut in cuts:
        _assert_same_h5(whole / "classifier.weights.h5", cut / "classifier.weights.h5")
        ra, rb = (json.loads((d / "report.json").read_text()) for d in (whole, cut))
        assert ra["test_accuracy"] == rb["test_accuracy"]
        assert ra["optimizer_steps"] == rb["optimizer_steps"] == 18


def test_train_vaegan(tmp_path, inputs):
    values = {"dataset": "mnist", "data_dir": inputs["data_dir"], "latent_dim": 2,
              "width": 4, "batch_size": 8, "epochs": 6, "steps_per_epoch": 3}
    whole, cuts = _check(tmp_path, "train_vaegan.py", values, seed=3,
                         marker="backup/latest.weights.h5",
                         extra=lambda out: [f"--export_dir={out}/export"])
    for cut in cuts:
        for part in ("encoder", "decoder", "discriminator"):
            _assert_same_h5(whole / "export" / f"{part}.weights.h5",
                            cut / "export" / f"{part}.weights.h5")


def _rows(path):
    keep = ("labels_per_class", "method", "seed", "val_accuracy", "test_accuracy",
            "optimizer_steps")
    with open(path) as f:
        return sorted(tuple(r[k] for k in keep) for r in csv.DictReader(f))


def test_study(tmp_path, inputs):
    values = {"dataset": "mnist", "data_dir": inputs["data_dir"], "flow": inputs["flow"],
              "budgets": [2, 4], "steps_by_budget": [6, 6], "seeds": [1],
              "methods": ["none", "latent_random(eps=0.5)"], "val_per_class": 2,
              "model_width": 0.25, "batch_size": 8, "epochs": 2, "jit": False}
    whole, cuts = _check(tmp_path, "study.py", values, seed=4,
                         marker="runs/*/*/seed*/backup/latest.weights.h5")
    assert len(_rows(whole / "results.csv")) == 4
    for cut in cuts:
        assert _rows(whole / "results.csv") == _rows(cut / "results.csv")


def test_tune(tmp_path, inputs):
    values = {"dataset": "mnist", "data_dir": inputs["data_dir"], "flow": inputs["flow"],
              "labels_per_class": 3, "val_per_class": 2,
              "augmentation": "latent_random(ratio=1,norm=l2)",
              "space": {"latent_random.eps": {"min": 0.1, "max": 2.0, "log": True}},
              "tuner": "random", "max_trials": 4, "retrain_best": False,
              "model_width": 0.25, "epochs": 2, "steps_per_epoch": 2, "batch_size": 8,
              "jit": False}
    whole, cuts = _check(tmp_path, "tune.py", values, seed=5,
                         marker="search/trial_*/trial.json")

    def trials(d):
        summary = json.loads((d / "summary.json").read_text())
        return sorted((t["trial_id"], json.dumps(t["values"], sort_keys=True),
                       t["val_accuracy"]) for t in summary["trials"])
    assert len(trials(whole)) == 4 and all(t[2] is not None for t in trials(whole))
    for cut in cuts:  # each trial run once, with the same values and score
        assert trials(whole) == trials(cut)
