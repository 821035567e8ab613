"""A Keras model file of the user's own as the classifier of every entry point."""

import json

import keras
import numpy as np
import pytest

from conftest import make_mnist_dir, run_script, save_tiny_flow
from tfaug import models
from tfaug.errors import ConfigError
from tfaug.study.runner import StudyConfig
from tfaug.trainers.classifier import ClassifierTrainConfig
from tfaug.tuning.search import TuningConfig


def _save(path, outputs=10, activation=None, input_shape=(28, 28, 1)):
    model = keras.Sequential([keras.Input(input_shape),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(outputs, activation=activation)])
    model.save(path)
    return model


def _layer_types(model):
    return [type(layer) for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)]


def test_a_model_file_gives_its_architecture_with_fresh_seeded_weights(tmp_path):
    path = str(tmp_path / "mine.keras")
    keras.utils.set_random_seed(7)  # else its weights hang on the tests run before
    saved = _save(path)

    def built(seed):
        keras.utils.set_random_seed(seed)
        return models.build(path, (28, 28, 1), 10)

    a, again, other = built(0), built(0), built(1)
    assert _layer_types(a) == _layer_types(saved)

    def kernels(model):
        return [w for w in model.get_weights() if w.ndim > 1]

    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), again.get_weights()))
    assert not any(np.array_equal(x, y) for x, y in zip(kernels(a), kernels(other)))
    assert not any(np.array_equal(x, y) for x, y in zip(kernels(a), kernels(saved)))
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    low = models.with_precision(built(0), "mixed_bfloat16")  # as the entry points do
    np.testing.assert_allclose(low(images), a(images), atol=0.05)
    assert low(images).dtype == "float32" and a(images).shape == (2, 10)


def test_saved_weights_are_the_files_own_under_any_precision(tmp_path):
    path = str(tmp_path / "mine.keras")
    saved = _save(path)
    kept = models.build(path, (28, 28, 1), 10, saved_weights=True)
    assert all(np.array_equal(x, y) for x, y in zip(kept.get_weights(),
                                                    saved.get_weights()))
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    low = models.with_precision(kept, "mixed_bfloat16")
    np.testing.assert_allclose(low(images), saved(images), atol=0.05)


def test_bad_model_files_are_clear_errors(tmp_path):
    softmax, five = str(tmp_path / "softmax.keras"), str(tmp_path / "five.keras")
    rgb, corrupt = str(tmp_path / "rgb.keras"), tmp_path / "corrupt.keras"
    _save(softmax, activation="softmax")
    _save(five, outputs=5)
    _save(rgb, input_shape=(28, 28, 3))
    corrupt.write_bytes(b"not a zip archive")
    cases = [(str(tmp_path / "missing.keras"), "No Keras model file"),
             (softmax, "ends in a softmax"),
             (five, "keras.layers.Dense(10)"),
             (rgb, "does not take images of shape (28, 28, 1)"),
             (str(corrupt), "is not a Keras model file")]
    for path, message in cases:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")
                           .replace(")", r"\)")):
            models.build(path, (28, 28, 1), 10)
    with pytest.raises(ConfigError, match="model_width 0.5 applies to the built-in"):
        ClassifierTrainConfig(model=five, model_width=0.5).validate()
    with pytest.raises(ConfigError, match=r"or a Keras model file \(PATH.keras\)"):
        ClassifierTrainConfig(model="resnet").validate()
    with pytest.raises(ConfigError, match="'lenet' is not one: give --model=PATH.keras"):
        ClassifierTrainConfig(model="lenet", model_weights="saved").validate()
    with pytest.raises(ConfigError, match="model_weights must be fresh or saved"):
        ClassifierTrainConfig(model=five, model_weights="pretrained").validate()
    with pytest.raises(ConfigError, match="fine-tune a model file's weights with "
                                          "train_classifier or tune"):
        StudyConfig(model=five, model_weights="saved").validate()
    TuningConfig(model=five, model_weights="saved",  # a search may fine-tune
                 space={"lr": {"min": 1e-4, "max": 1e-2}}).validate()


def test_train_classifier_trains_a_model_file_and_saves_plain_keras(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=100, n_test=20)
    flow_dir = save_tiny_flow(tmp_path / "flow")
    path = str(tmp_path / "mine.keras")
    saved = _save(path)
    out = tmp_path / "out"
    result = run_script("train_classifier.py", "--dataset=mnist",
                        f"--data_dir={data_dir}", f"--flow={flow_dir}",
                        f"--model={path}", "--augmentation=standard+latent_random",
                        "--labels_per_class=2", "--val_per_class=2", "--epochs=2",
                        "--batch_size=8", "--nojit", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["model"] == path and report["optimizer_steps"] > 0
    assert f"plain Keras: {out / 'classifier.keras'}" in result.stdout
    trained = keras.saving.load_model(out / "classifier.keras")
    assert _layer_types(trained) == _layer_types(saved)
    same = keras.saving.load_model(path)
    same.load_weights(out / "classifier.weights.h5")
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(trained.predict(images, verbose=0),
                               same.predict(images, verbose=0), atol=1e-6)
    assert not np.allclose(trained.predict(images, verbose=0),
                           saved.predict(images, verbose=0), atol=1e-3)


def test_train_classifier_fine_tunes_the_files_weights(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=100, n_test=20)
    path = str(tmp_path / "mine.keras")
    saved = _save(path)
    out = tmp_path / "out"
    result = run_script("train_classifier.py", "--dataset=mnist",
                        f"--data_dir={data_dir}", f"--model={path}",
                        "--model_weights=saved", "--lr=1e-7", "--weight_decay=0",
                        "--labels_per_class=2", "--val_per_class=2", "--epochs=1",
                        "--batch_size=8", "--nojit", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    tuned = keras.saving.load_model(out / "classifier.keras")
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(tuned.predict(images, verbose=0),
                               saved.predict(images, verbose=0), atol=1e-4)
