"""Every entry point end to end on a user's own data: a folder of RGB PNGs (test split
held out), a folder of grayscale PNGs of two sizes with train/ and test/, an npz (its
classifier a Keras model file of the user's own), a tfds dataset that is not a
built-in name, and an unlabelled folder (for a flow). Each source is a class of its
own, so pytest-xdist runs the sources in parallel."""

import json
import os

import numpy as np
import pytest

from conftest import (make_image_folder, prepare_mock_tfds, run_script,
                      run_script_with_mock_tfds, write_png)
from tfaug import flows

FLOW = ["--levels=1", "--steps_per_level=1", "--width=4", "--train_steps=2",
        "--batch_size=8", "--log_every=1", "--eval_every=2", "--checkpoint_every=2",
        "--eval_examples=8", "--nojit"]
CLASSIFIER = ["--model_width=0.25", "--epochs=1", "--batch_size=8", "--nojit",
              "--val_per_class=1"]


def _ok(result):
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-2500:]
    return result


class OwnData:
    """The chain a user follows: summary, flow, perturbations, a classifier with the
    adversarial latent attack, a search, a study, tuning every method."""
    channels = 3

    def run(self, tmp_path, script, *args):
        return run_script(script, *args)

    def data_flags(self, tmp_path):
        raise NotImplementedError

    def classifier_flags(self, tmp_path):
        return CLASSIFIER

    def test_every_entry_point(self, tmp_path):
        data = self.data_flags(tmp_path)
        classifier = self.classifier_flags(tmp_path)
        summary = _ok(self.run(tmp_path, "data_summary.py", *data, "--split=test"))
        assert "3 classes" in summary.stdout or "classes" in summary.stdout
        flow_dir = tmp_path / "flow"
        _ok(self.run(tmp_path, "train_flow.py", *data, *FLOW,
                     f"--out_dir={tmp_path / 'flowrun'}", f"--export_dir={flow_dir}"))
        report = json.loads((tmp_path / "flowrun" / "report.json").read_text())
        glow = flows.load(str(flow_dir))
        assert glow.config.image_shape[-1] == self.channels
        assert report["preset"] == ("fashion_mnist_glow" if self.channels == 1
                                    else "cifar10_glow_cpu")
        assert report["data"]["train"]["dataset"] == data[0].split("=", 1)[1]
        _ok(self.run(tmp_path, "perturb.py", *data, f"--flow={flow_dir}", "--eps=1",
                     "--num_images=2", "--measure_images=4",
                     "--reconstruction_images=8", f"--out={tmp_path / 'grid.png'}"))
        assert (tmp_path / "grid.png").stat().st_size > 0
        trained = _ok(self.run(
            tmp_path, "train_classifier.py", *data, *classifier, f"--flow={flow_dir}",
            "--labels_per_class=2", "--augmentation=latent_adversarial(steps=1)",
            f"--out_dir={tmp_path / 'classifier'}"))
        assert "training on" in trained.stdout
        report = json.loads((tmp_path / "classifier" / "report.json").read_text())
        assert report["optimizer_steps"] >= 1 and 0 <= report["test_accuracy"] <= 1
        assert report["data"]["test"]["examples"] == report["sizes"]["test"]
        assert (tmp_path / "classifier" / "classifier.keras").exists()
        assert f"--model={report['config']['model']}" in classifier or \
            report["config"]["model"] == "small_cnn"
        _ok(self.run(tmp_path, "tune.py", *data, *classifier, f"--flow={flow_dir}",
                     "--labels_per_class=2", "--augmentation=latent_random",
                     "--max_trials=1", "--tuner=random", "--steps_per_epoch=1",
                     f"--out_dir={tmp_path / 'tune'}"))
        assert json.loads((tmp_path / "tune" / "summary.json").read_text())["trials"]
        _ok(self.run(tmp_path, "study.py", *data, *classifier, f"--flow={flow_dir}",
                     "--methods=none,latent_adversarial(steps=1)", "--budgets=2",
                     "--seeds=1", "--steps_by_budget=1",
                     f"--out_dir={tmp_path / 'study'}"))
        rows = json.loads((tmp_path / "study" / "results.json").read_text())["rows"]
        assert {r["method"] for r in rows} == {"none", "latent_adversarial"}
        _ok(self.run(tmp_path, "tune_methods.py", *data, *classifier,
                     f"--flow={flow_dir}", "--methods=latent_random", "--budgets=2",
                     "--steps_by_budget=1", "--max_trials=1", "--tuner=random",
                     f"--out_dir={tmp_path / 'tuned'}"))
        tuned = json.loads((tmp_path / "tuned" / "tuned.json").read_text())
        assert "latent_random" in json.dumps(tuned)


class TestFolderOfRGBImages(OwnData):
    def data_flags(self, tmp_path):
        root = make_image_folder(tmp_path / "imgs", per_class=8, size=(8, 8))
        return [f"--dataset=folder:{root}", "--test_fraction=0.25"]


class TestFolderOfGrayImagesWithSplitsAndTwoSizes(OwnData):
    channels = 1

    def data_flags(self, tmp_path):
        root = make_image_folder(tmp_path / "imgs", per_class=6, size=(8, 8),
                                 channels=1, splits=True)
        for i in range(3):
            write_png(tmp_path / "imgs" / "train" / "dog" / f"big{i}.png",
                      np.full((12, 12, 1), 100))
        return [f"--dataset=folder:{root}", "--image_size=8,8"]


class TestNpzArrays(OwnData):
    """With a Keras model file of the user's own as the classifier."""

    def classifier_flags(self, tmp_path):
        import keras
        keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                          keras.layers.Flatten(), keras.layers.Dense(3)]).save(
            tmp_path / "mine.keras")
        return [f"--model={tmp_path / 'mine.keras'}",
                *[f for f in CLASSIFIER if not f.startswith("--model_width")]]

    def data_flags(self, tmp_path):
        rng = np.random.default_rng(0)
        np.savez(tmp_path / "data.npz", x=rng.integers(0, 256, (24, 8, 8, 3), np.uint8),
                 y=np.arange(24) % 3, x_test=rng.integers(0, 256, (9, 8, 8, 3), np.uint8),
                 y_test=np.arange(9) % 3)
        return [f"--dataset=npz:{tmp_path / 'data.npz'}"]


class TestTfdsDatasetByName(OwnData):
    channels = 1

    def run(self, tmp_path, script, *args):
        return run_script_with_mock_tfds(tmp_path / "tfds", script, *args)

    def data_flags(self, tmp_path):
        prepare_mock_tfds(tmp_path / "tfds", "kmnist")
        return ["--dataset=tfds:kmnist", f"--tfds_data_dir={tmp_path / 'tfds'}",
                "--image_size=8,8"]


def test_an_unlabelled_folder_trains_a_flow_but_not_a_classifier(tmp_path):
    root = make_image_folder(tmp_path / "pool", classes=(), per_class=20)
    _ok(run_script("train_flow.py", f"--dataset=folder:{root}", *FLOW,
                   f"--out_dir={tmp_path / 'flowrun'}", f"--export_dir={tmp_path / 'f'}"))
    assert flows.load(str(tmp_path / "f")).config.image_shape == (8, 8, 3)
    result = run_script("train_classifier.py", f"--dataset=folder:{root}",
                        f"--flow={tmp_path / 'f'}", "--augmentation=latent_random",
                        f"--out_dir={tmp_path / 'classifier'}")
    assert result.returncode == 2 and "unlabelled pool" in result.stderr
    assert "Traceback" not in result.stderr and not os.path.exists(
        tmp_path / "classifier")


@pytest.mark.parametrize("damage, message", [
    (lambda d: os.makedirs(d / "empty"), "holds no images"),
    (lambda d: (d / "cat" / "000.png").write_bytes(b"not a png"),
     "is not a readable image"),
    (lambda d: write_png(d / "fox" / "x.png", np.zeros((9, 9, 3))),
     "images of 2 sizes"),
    (lambda d: write_png(d / "fox" / "deep.png", np.zeros((8, 8, 1), np.uint16)),
     "16-bit PNG"),
], ids=["empty class", "unreadable", "mixed sizes", "16-bit"])
def test_bad_folders_through_an_entry_point(tmp_path, damage, message):
    root = make_image_folder(tmp_path / "imgs", per_class=3)
    damage(tmp_path / "imgs")
    result = run_script("train_classifier.py", f"--dataset=folder:{root}",
                        f"--out_dir={tmp_path / 'run'}")
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in \
        result.stderr
    assert not os.path.exists(tmp_path / "run")  # nothing written


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.arange(3)), "4 images but 3 labels"),
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.arange(4),
          class_names=np.array(["a", "b"])), "outside the 2 classes"),
], ids=["x/y length mismatch", "label outside the classes"])
def test_bad_npz_through_an_entry_point(tmp_path, arrays, message):
    np.savez(tmp_path / "a.npz", **arrays)
    result = run_script("train_flow.py", f"--dataset=npz:{tmp_path / 'a.npz'}",
                        f"--out_dir={tmp_path / 'run'}")
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert not os.path.exists(tmp_path / "run")
