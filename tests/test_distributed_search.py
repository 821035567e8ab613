"""Keras Tuner's distributed search through bin/tune.py: a chief serving the oracle
and two workers on 127.0.0.1 run every trial once; the chief's summary lists them all."""

import json
import os
import re
import subprocess
import sys

from conftest import ROOT, free_ports, make_mnist_dir, save_tiny_flow

TIMEOUT = 420


def test_chief_and_two_workers_run_each_trial_once(tmp_path):
    values = {"dataset": "mnist",
              "data_dir": make_mnist_dir(tmp_path / "data", n_train=120, n_test=30),
              "flow": save_tiny_flow(tmp_path / "flow"), "labels_per_class": 3,
              "val_per_class": 2, "augmentation": "latent_random(ratio=1,norm=l2)",
              "space": {"latent_random.eps": {"min": 0.1, "max": 2.0, "log": True}},
              "tuner": "random", "max_trials": 4, "retrain_best": False,
              "model_width": 0.25, "epochs": 2, "steps_per_epoch": 2, "batch_size": 8,
              "jit": False, "seed": 3}
    preset = tmp_path / "preset.json"
    preset.write_text(json.dumps(values))
    out_dir = tmp_path / "search"
    command = [sys.executable, os.path.join(ROOT, "bin", "tune.py"),
               f"--hparams={preset}", f"--out_dir={out_dir}"]
    address = {"KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(free_ports(1)[0])}
    procs = [subprocess.Popen(command, env={**os.environ, **address,
                                            "KERASTUNER_TUNER_ID": tuner_id},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tuner_id in ("chief", "tuner0", "tuner1")]
    try:
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    summary = json.loads((out_dir / "summary.json").read_text())
    trials = summary["trials"]
    assert sorted(t["trial_id"] for t in trials) == ["0", "1", "2", "3"]
    assert all(t["status"] == "COMPLETED" and t["val_accuracy"] is not None
               for t in trials)
    # Each trial was run by exactly one worker, and both workers took part.
    ran = [[json.loads(v) for v in re.findall(r"worker tuner\d: trial (\{.*\})", out)]
           for out, _ in outputs[1:]]
    assert ran[0] and ran[1]
    assert sorted(json.dumps(v, sort_keys=True) for v in ran[0] + ran[1]) == sorted(
        json.dumps(t["values"], sort_keys=True) for t in trials)
    assert "best:" in outputs[0][0] and "no trials left" in outputs[1][0]
