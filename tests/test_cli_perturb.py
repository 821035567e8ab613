import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import ROOT, make_mnist_dir
from tfaug import flows
from tfaug.flows import Glow, GlowConfig

SCRIPT = os.path.join(ROOT, "bin", "perturb.py")


def test_grid_and_measures(tmp_path):
    (tmp_path / "data").mkdir()
    data_dir = make_mnist_dir(tmp_path / "data", n_train=10, n_test=20)
    glow = Glow(GlowConfig((28, 28, 1), levels=2, steps=1, width=4))
    glow.initialize(np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype("f4"))
    flows.save(glow, str(tmp_path / "flow"))
    out = tmp_path / "grid.png"
    result = subprocess.run(
        [sys.executable, SCRIPT, "--dataset=mnist", f"--data_dir={data_dir}",
         f"--flow={tmp_path / 'flow'}", "--eps=0,2", "--num_images=4",
         "--measure_images=8", f"--out={out}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = {l.split()[1]: l.split() for l in result.stdout.splitlines()
             if l.startswith("random")}
    assert float(lines["eps=0"][2]) < 1e-3          # eps 0: the images come back
    assert float(lines["eps=2"][2]) > 0.01
    grid = tf.io.decode_png(out.read_bytes())
    assert grid.shape == (3 * 28, 4 * 28, 1)       # clean + one row per eps
