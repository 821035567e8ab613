import tensorflow as tf

from conftest import make_mnist_dir, run_script, save_tiny_flow


def test_grid_and_measures(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=10, n_test=20)
    flow_dir = save_tiny_flow(tmp_path / "flow")
    out = tmp_path / "grid.png"
    result = run_script("perturb.py", "--dataset=mnist", f"--data_dir={data_dir}",
                        f"--flow={flow_dir}", "--eps=0,2", "--num_images=4",
                        "--measure_images=8", f"--out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = {l.split()[1]: l.split() for l in result.stdout.splitlines()
             if l.startswith("random")}
    assert float(lines["eps=0"][2]) < 1e-3          # eps 0: the images come back
    assert float(lines["eps=2"][2]) > 0.01
    grid = tf.io.decode_png(out.read_bytes())
    assert grid.shape == (3 * 28, 4 * 28, 1)       # clean + one row per eps
