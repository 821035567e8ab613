import re

import tensorflow as tf

from conftest import make_mnist_dir, run_script, save_tiny_flow


def _run(tmp_path, *extra):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=10, n_test=20)
    flow_dir = save_tiny_flow(tmp_path / "flow")
    out = tmp_path / "grid.png"
    result = run_script("perturb.py", "--dataset=mnist", f"--data_dir={data_dir}",
                        f"--flow={flow_dir}", "--eps=0,2", "--num_images=4",
                        "--measure_images=8", f"--out={out}", *extra)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {" ".join(l.split()[:3]): [float(v) for v in l.split()[3:]]
            for l in result.stdout.splitlines() if re.match(r"\w+ random eps=", l)}
    errors = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(\w+): reconstruction error .* on 20 test images: ([\d.e+-]+) MSE",
        result.stdout, re.M)}
    return rows, errors, tf.io.decode_png(out.read_bytes())


def test_grid_and_measures(tmp_path):
    rows, errors, grid = _run(tmp_path)
    assert rows["flow random eps=0"][0] < 1e-3     # eps 0: the images come back
    assert rows["flow random eps=2"][0] > 0.01
    assert errors["flow"] < 1e-8                   # the flow is exact
    assert grid.shape == (4 * 28, 4 * 28, 1)       # clean, reconstruction, one per eps


def test_flow_and_vaegan_side_by_side(tmp_path):
    from tfaug.models import vaegan
    vaegan.save(vaegan.VAEGAN(vaegan.VAEGANConfig(latent_dim=3, width=4)),
                str(tmp_path / "vaegan"))
    rows, errors, grid = _run(tmp_path, "--latent_models=flow,vaegan",
                              f"--vaegan={tmp_path / 'vaegan'}")
    assert errors["flow"] < 1e-8 < 1e-3 < errors["vaegan"]  # approximate, untrained
    assert set(rows) == {"flow random eps=0", "flow random eps=2",
                         "vaegan random eps=0", "vaegan random eps=2"}
    # eps 0 gives the VAE-GAN's reconstructions: far from the images, unlike the flow's
    assert rows["vaegan random eps=0"][0] > 100 * rows["flow random eps=0"][0]
    assert grid.shape == (7 * 28, 4 * 28, 1)


def test_a_saved_classifier_adds_adversarial_rows_and_bad_ones_are_clear(tmp_path):
    import keras
    classifier = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10)])
    classifier.save(tmp_path / "classifier.keras")
    classifier.save_weights(tmp_path / "classifier.weights.h5")
    rows, _, grid = _run(tmp_path, f"--classifier_weights={tmp_path}/classifier.keras")
    assert set(rows) == {"flow random eps=0", "flow random eps=2"}
    assert grid.shape == (6 * 28, 4 * 28, 1)  # and one adversarial row per eps
    for path, message in [(tmp_path / "missing.keras", "No trained classifier at"),
                          (tmp_path / "classifier.weights.h5", "Cannot load")]:
        result = run_script("perturb.py", "--dataset=mnist",
                            f"--data_dir={tmp_path / 'data'}",
                            f"--flow={tmp_path / 'flow'}", f"--classifier_weights={path}")
        assert result.returncode != 0 and message in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
