import json
import os
import subprocess
import sys

import numpy as np

from conftest import ROOT, make_mnist_dir
from tfaug import flows
from tfaug.flows import Glow, GlowConfig

SCRIPT = os.path.join(ROOT, "bin", "train_classifier.py")


def _run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, timeout=600)


def test_low_data_run_from_the_command_line(tmp_path):
    (tmp_path / "data").mkdir()
    data_dir = make_mnist_dir(tmp_path / "data", n_train=200, n_test=40)
    glow = Glow(GlowConfig((28, 28, 1), levels=2, steps=1, width=4))
    glow.initialize(np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype("f4"))
    flows.save(glow, str(tmp_path / "flow"))
    result = _run("--hparams=fashion_mnist_small_cnn", "--dataset=mnist",
                  f"--data_dir={data_dir}", f"--flow={tmp_path / 'flow'}",
                  "--labels_per_class=5", "--val_per_class=3", "--epochs=1",
                  "--batch_size=16", "--model_width=0.25", "--nojit",
                  f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sizes"] == {"train": 50, "val": 30, "test": 40}
    assert report["config"]["augmentation"] == "standard+latent_adversarial"
    assert "test accuracy" in result.stdout


def test_missing_flow_and_bad_flags_are_clear_errors(tmp_path):
    for args, message in [
        ([f"--flow={tmp_path}/none"], "glow.json is missing"),
        (["--augmentation=latent_random", "--dataset=cifar10"], "No flow for cifar10"),
        (["--schedule=linear"], "schedule must be"),
    ]:
        result = _run("--hparams=fashion_mnist_small_cnn", *args,
                      f"--out_dir={tmp_path / 'out'}")
        assert result.returncode == 2, result.stderr[-2000:]
        assert message in result.stderr and "Traceback" not in result.stderr
