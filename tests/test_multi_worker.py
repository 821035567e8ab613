"""Multi-worker training for real: two processes on 127.0.0.1 (TF_CONFIG, one CPU
device each) train an AugmentedClassifier with the amortised latent attack; the result
equals a single process's with the same global batch (to 1e-4 after 8 steps: the
reduction order differs), only the chief writes to
out_dir, and after a worker is killed both resume from the chief's backup."""

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
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps(values))
    command = lambda out: [sys.executable, os.path.join(ROOT, "bin",
                                                        "train_classifier.py"),
                           f"--hparams={preset}", f"--out_dir={out}"]
    single = tmp_path / "single"
    subprocess.run(command(single), check=True, capture_output=True, timeout=TIMEOUT)

    out = tmp_path / "two"
    procs = _workers(command(out), free_ports(2))
    deadline = time.time() + TIMEOUT
    backup = out / "backup" / "latest.weights.h5"  # renamed into place when whole
    while not backup.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert backup.exists(), "the chief wrote no backup"
    procs[1].send_signal(signal.SIGKILL)  # a worker dies; the chief cannot go on
    procs[0].send_signal(signal.SIGKILL)
    for p in procs:
        p.wait(timeout=30)
        p.stderr.close()
    assert not (out / "report.json").exists()
    _finish(_workers(command(out), free_ports(2)))

    report = json.loads((out / "report.json").read_text())
    assert report["strategy"] == "MultiWorkerStrategy" and report["replicas"] == 2
    assert report["optimizer_steps"] == 8 and report["epochs_this_run"] < 4  # resumed
    assert sorted(os.listdir(out / "workers")) == ["worker1"]  # the other's files
    pairs = [(a, b) for (_, a), (_, b) in zip(h5_arrays(single / "classifier.weights.h5"),
                                              h5_arrays(out / "classifier.weights.h5"))]
    print(f"max weight difference {max(np.abs(a - b).max() for a, b in pairs):.1e}")
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
