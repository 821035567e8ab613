import json

from conftest import make_mnist_dir, run_script, save_tiny_flow


def _run(*args):
    return run_script("train_classifier.py", *args)


def test_low_data_run_from_the_command_line(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=200, n_test=40)
    flow_dir = save_tiny_flow(tmp_path / "flow")
    result = _run("--hparams=fashion_mnist_small_cnn", "--dataset=mnist",
                  f"--data_dir={data_dir}", f"--flow={flow_dir}",
                  "--labels_per_class=5", "--val_per_class=3", "--epochs=1",
                  "--batch_size=16", "--model_width=0.25", "--nojit",
                  f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sizes"] == {"train": 50, "val": 30, "test": 40}
    assert report["config"]["augmentation"] == \
        "standard(pad=2)+latent_adversarial(eps=1,alpha=0.5,steps=3)"
    assert "test accuracy" in result.stdout
    assert f"TensorBoard: {tmp_path / 'out' / 'tensorboard'}" in result.stdout
    assert "\x1b[" not in result.stdout and "val_accuracy: " in result.stdout  # a log


def test_notest_reports_validation_only(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=100, n_test=20)
    result = _run("--hparams=fashion_mnist_small_cnn", "--dataset=mnist",
                  f"--data_dir={data_dir}", "--augmentation=none", "--notest",
                  "--labels_per_class=2", "--val_per_class=2", "--epochs=1",
                  "--batch_size=8", "--model_width=0.25", "--nojit",
                  f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["test_accuracy"] is None and report["val_accuracy"] is not None
    assert "validation accuracy" in result.stdout
    assert "test accuracy" not in result.stdout


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
        assert "TensorBoard" not in result.stdout  # no log dir named before an error
