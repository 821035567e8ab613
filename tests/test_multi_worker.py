"""Multi-worker training for real: two processes on 127.0.0.1 (TF_CONFIG, one CPU
device each) train an AugmentedModel with the amortised latent attack, or a Glow;
the result equals a single process's with the same global batch (to 1e-4: the
reduction order differs), only the chief writes to out_dir, and after the workers are
killed both resume from the chief's backup or checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from conftest import ROOT, free_ports, h5_arrays, make_mnist_dir, save_tiny_flow

TIMEOUT = 300


def _workers(command, ports):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return [subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i in range(len(ports))]


def _kill_when(procs, path):
    """SIGKILLs every worker once `path` (written by the chief) exists."""
    deadline = time.time() + TIMEOUT
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"the chief wrote no {path.name}"
    for p in procs:  # a worker dies; the others cannot go on without it
        p.send_signal(signal.SIGKILL)
    for p in procs:
        p.wait(timeout=30)
        p.stderr.close()


def _one_then_two_killed_and_resumed(tmp_path, script, values, marker, extra=()):
    """Runs `script` with `values` as one process, then as two workers killed once
    the chief has written `marker` (under out_dir) and rerun to the end. Returns the
    single run's out_dir, the two workers' out_dir and their report."""
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps(values))
    command = lambda out: [sys.executable, os.path.join(ROOT, "bin", script),
                           f"--hparams={preset}", f"--out_dir={out}",
                           *(arg.format(out=out) for arg in extra)]
    single, out = tmp_path / "single", tmp_path / "two"
    subprocess.run(command(single), check=True, capture_output=True, timeout=TIMEOUT)
    _kill_when(_workers(command(out), free_ports(2)), out / marker)
    assert not (out / "report.json").exists()
    _finish(_workers(command(out), free_ports(2)))
    report = json.loads((out / "report.json").read_text())
    assert report["strategy"] == "MultiWorkerStrategy" and report["replicas"] == 2
    assert sorted(os.listdir(out / "workers")) == ["worker1"]  # the other's files
    return single, out, report


def _finish(procs):
    try:
        errors = [p.communicate(timeout=TIMEOUT)[1] for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, err in zip(procs, errors):
        assert p.returncode == 0, err[-3000:]


def test_two_workers_train_like_one_process_and_resume(tmp_path):
    values = {"dataset": "mnist",
              "data_dir": make_mnist_dir(tmp_path / "data", n_train=120, n_test=30),
              "flow": save_tiny_flow(tmp_path / "flow"), "labels_per_class": 4,
              "val_per_class": 2, "model_width": 0.25, "epochs": 4,
              "steps_per_epoch": 2, "batch_size": 8, "jit": False,
              "augmentation": "latent_adversarial(eps=0.5,alpha=0.25,steps=1,"
                              "random_start=false,amortized=true)"}
    # killed once the backup (renamed into place when whole) exists
    single, out, report = _one_then_two_killed_and_resumed(
        tmp_path, "train_classifier.py", values, "backup/latest.weights.h5")
    assert report["optimizer_steps"] == 8 and report["epochs_this_run"] < 4  # resumed
    pairs = [(a, b) for (_, a), (_, b) in zip(h5_arrays(single / "classifier.weights.h5"),
                                              h5_arrays(out / "classifier.weights.h5"))]
    print(f"max weight difference {max(np.abs(a - b).max() for a, b in pairs):.1e}")
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_two_workers_train_a_glow_like_one_process_and_resume(tmp_path):
    import tensorflow as tf
    values = {"dataset": "mnist",
              "data_dir": make_mnist_dir(tmp_path / "data", n_train=64, n_test=16),
              "levels": 2, "steps_per_level": 1, "width": 8, "batch_size": 16,
              "warmup_steps": 2, "train_steps": 12, "checkpoint_every": 2,
              "eval_every": 100, "eval_examples": 16}
    single, out, report = _one_then_two_killed_and_resumed(
        tmp_path, "train_flow.py", values, "checkpoints/checkpoint",
        extra=["--export_dir={out}/export"])
    assert report["steps"] == 12 and report["steps_this_run"] < 12  # resumed
    assert not (out / "workers" / "worker1" / "tensorboard").exists()
    ours, theirs = (tf.train.load_checkpoint(str(d / "export" / "weights"))
                    for d in (single, out))
    names = [n for n in ours.get_variable_to_shape_map() if "glow_variables" in n]
    assert names and set(names) <= set(theirs.get_variable_to_shape_map())
    diffs = [np.abs(ours.get_tensor(n) - theirs.get_tensor(n)).max() for n in names]
    print(f"max weight difference {max(diffs):.1e}")
    assert max(diffs) < 1e-4
    single_report = json.loads((single / "report.json").read_text())
    assert abs(report["final_test_bits_per_dim"] -
               single_report["final_test_bits_per_dim"]) < 1e-4
