import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import ROOT, h5_arrays
from flow_helpers import toy_split
from tfaug import config as cfglib
from tfaug import flows
from tfaug.errors import ConfigError
from tfaug.flows import Glow, GlowConfig
from tfaug.trainers import classifier
from tfaug.trainers.classifier import ClassifierTrainConfig, Splits, train_classifier


@pytest.fixture(scope="module")
def flow_dir(tmp_path_factory):
    glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
    glow.initialize(toy_split(32).images / np.float32(255))
    directory = str(tmp_path_factory.mktemp("flow") / "flow")
    flows.save(glow, directory)
    return directory


def _splits():
    return Splits(toy_split(64, seed=0), toy_split(16, seed=1, split="val"),
                  toy_split(32, seed=2, split="test"))


def _config(flow_dir, **overrides):
    values = dict(dataset="mnist", model="small_cnn", model_width=0.25,
                  augmentation="standard(pad=1)+latent_adversarial(eps=0.5,alpha=0.25,"
                               "steps=2)", flow=flow_dir, epochs=2, batch_size=16,
                  lr=0.05, image_every=1, jit=False)
    return cfglib.from_dict(ClassifierTrainConfig, {**values, **overrides})


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def test_training_writes_report_and_leaves_the_flow_unchanged(tmp_path, flow_dir):
    before = [v.numpy().copy() for v in flows.load(flow_dir).variables]
    report = train_classifier(_config(flow_dir), str(tmp_path), _splits(), verbose=0)
    assert report["optimizer_steps"] == 2 * 4 and report["sizes"]["test"] == 32
    assert 0.0 <= report["test_accuracy"] <= 1.0 and report["val_accuracy"] is not None
    assert "LatentAdversarial" in report["augmentation"]
    assert json.load(open(tmp_path / "report.json"))["test_accuracy"] == \
        report["test_accuracy"]
    assert os.path.exists(tmp_path / "classifier.weights.h5")
    assert os.listdir(tmp_path / "tensorboard" / "images")
    # compiled step time: below the run's seconds per step, which include tracing
    assert 0 < report["step_seconds"] < report["train_seconds"] / 8
    assert 0 < report["train_cpu_seconds"] < 4 * report["train_seconds"]  # 1-2 cores
    after = flows.load(flow_dir).variables  # the file is untouched...
    assert all(np.array_equal(b, a.numpy()) for b, a in zip(before, after))


@pytest.mark.parametrize("evaluate_test", [True, False])
def test_a_run_without_test_never_touches_the_test_split(tmp_path, monkeypatch,
                                                          evaluate_test):
    """A run whose validation accuracy chooses a setting can leave the test split
    alone: it is never fed to the model, and the report says so (None)."""
    splits, seen = _splits(), []
    pipeline = classifier.data.eval_pipeline
    monkeypatch.setattr(classifier.data, "eval_pipeline",
                        lambda split, *args: seen.append(split) or pipeline(split, *args))
    report = train_classifier(_config(None, augmentation="none", epochs=1),
                              str(tmp_path), splits, verbose=0,
                              evaluate_test=evaluate_test)
    assert any(split is splits.test for split in seen) == evaluate_test
    assert (report["test_accuracy"] is not None) == evaluate_test
    assert report["val_accuracy"] is not None


def test_run_with_copies_trains_and_shows_every_copy(tmp_path, flow_dir):
    from tensorboard.backend.event_processing import event_accumulator
    report = train_classifier(_config(flow_dir, epochs=1, augmentation=(
        "latent_adversarial(eps=0.5,alpha=0.25,steps=1,ratio=0.5,copies=2)")),
        str(tmp_path), _splits(), verbose=0)
    assert report["optimizer_steps"] == 4
    events = event_accumulator.EventAccumulator(
        str(tmp_path / "tensorboard" / "images"), size_guidance={"tensors": 0})
    events.Reload()
    grid = events.Tensors("clean (top) vs augmented (below)")[0].tensor_proto
    height = int(grid.string_val[1])  # of 8-pixel images: a row of the 8 clean ones,
    assert height == 3 * 8             # then 2 x 4 perturbed and 4 clean in 2 rows


def test_classifier_training_does_not_move_the_flow_in_memory(flow_dir):
    import tensorflow as tf
    from tfaug import augment, models
    from tfaug.trainers.augmented import AugmentedModel
    glow = flows.load(flow_dir)
    before = [v.numpy().copy() for v in glow.variables]
    model = AugmentedModel(models.small_cnn((8, 8, 1), 2, width=0.25),
                                augment.LatentAdversarial(glow, 0.5, 0.25, 2))
    model.build((None, 8, 8, 1))
    model.compile(keras.optimizers.SGD(0.1),
                  keras.losses.CategoricalCrossentropy(from_logits=True))
    assert len(model.trainable_variables) == len(model.classifier.trainable_variables)
    x = toy_split(32).images / np.float32(255)
    model.fit(x, tf.one_hot(np.arange(32) % 2, 2), batch_size=16, epochs=2, verbose=0)
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, glow.variables))


def test_step_seconds_leave_out_validation_and_the_compiling_epoch(tmp_path,
                                                                    monkeypatch):
    clock = iter([0, 8, 9, 10,  # epoch 0 (compiles): 10 s, validation 1 s
                  10, 13, 15, 16,  # epoch 1: 6 s, validation 2 s
                  16, 19, 20, 21])  # epoch 2: 5 s, validation 1 s
    cpu = iter([100, 103, 103, 107, 107, 110])  # CPU seconds: 3, 4, 3 per epoch
    monkeypatch.setattr(classifier.time, "time", lambda: float(next(clock)))
    monkeypatch.setattr(classifier.time, "process_time", lambda: float(next(cpu)))
    path = str(tmp_path / "epoch_seconds.json")
    timer = classifier.EpochSeconds(path)
    for epoch in range(3):
        timer.on_epoch_begin(epoch)
        timer.on_test_begin()
        timer.on_test_end()
        timer.on_epoch_end(epoch)
    assert (timer.total, timer.cpu_total) == (21, 10)
    assert timer.step_seconds(steps_per_epoch=4) == 1.0  # 4 s of training per 4 steps
    resumed = classifier.EpochSeconds(path)  # read back, as a resumed run does
    assert (resumed.total, resumed.cpu_total, resumed.step_seconds(4)) == (21, 10, 1.0)
    with open(path, "w") as f:  # a file from before CPU time was recorded
        json.dump({"epochs": {"0": 10.0, "1": 6.0}, "validation": {"0": 1.0}}, f)
    assert np.isnan(classifier.EpochSeconds(path).cpu_total)
    with open(path, "w") as f:  # a file from before validation was timed
        json.dump({"0": 10.0, "1": 6.0}, f)
    legacy = classifier.EpochSeconds(path)
    assert legacy.total == 16 and np.isnan(legacy.step_seconds(4))


def test_interrupted_run_resumes_with_the_same_step_count(tmp_path, flow_dir):
    config = _config(flow_dir, epochs=4, augmentation="latent_random")
    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, str(tmp_path), _splits(), verbose=0,
                         callbacks=[_StopAfter(2)])
    report = train_classifier(config, str(tmp_path), _splits(), verbose=0)
    assert report["epochs_this_run"] == 2
    assert report["optimizer_steps"] == 4 * 4


class _StopAtBatch(keras.callbacks.Callback):
    """Interrupts in the middle of an epoch, as a kill would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            raise KeyboardInterrupt


@pytest.mark.parametrize("augmentation", [
    "standard(pad=1)+latent_adversarial(eps=0.5,alpha=0.25,steps=1,amortized=true)",
    "latent_adversarial(eps=0.5,alpha=0.25,steps=1,amortized=true)+standard(pad=1)",
    "standard(pad=1)+latent_adversarial(eps=0.5,alpha=0.25,free=true,refresh=2)",
    "latent_adversarial(eps=0.5,alpha=0.25,steps=1,amortized=true,refresh=3)",
])
def test_resumed_run_equals_the_uninterrupted_one(tmp_path, flow_dir, augmentation):
    config = _config(flow_dir, epochs=4, augmentation=augmentation)
    whole = train_classifier(config, str(tmp_path / "whole"), _splits(), verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, str(tmp_path / "cut"), _splits(), verbose=0,
                         callbacks=[_StopAtBatch(epoch=2, batch=1)])
    resumed = train_classifier(config, str(tmp_path / "cut"), _splits(), verbose=0)
    assert resumed["epochs_this_run"] == 2  # epochs 0-1 were kept, 2 is rerun
    assert resumed["optimizer_steps"] == whole["optimizer_steps"] == 16
    ours = h5_arrays(tmp_path / "cut" / "classifier.weights.h5")
    theirs = h5_arrays(tmp_path / "whole" / "classifier.weights.h5")
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(ours, theirs))
    assert resumed["test_accuracy"] == whole["test_accuracy"]


@pytest.mark.parametrize("overrides, message", [
    (dict(augmentation="latent_magic"), "Unknown augmentation 'latent_magic'"),
    (dict(augmentation="latent_random(eps=-1)"), "eps must be >= 0"),
    (dict(augmentation="latent_adversarial(steps=0)"), "steps must be an integer >= 1"),
    (dict(augmentation="latent_random(epsilon=1)"),
     "latent_random has no parameter epsilon; its parameters: eps, norm"),
    (dict(augmentation="standard(pad=two)"), "standard.pad: cannot read 'two' as int"),
    (dict(augmentation="mixup(alpha=1"), "unbalanced"),
    (dict(eps=1.0), "Augmentation parameters belong to the augmentation spec"),
    (dict(weight_decay_mode="l1"), "weight_decay_mode one of coupled, decoupled"),
    (dict(model="vgg"), "Unknown model 'vgg'"),
])
def test_bad_configs_are_clear_errors(flow_dir, overrides, message):
    with pytest.raises(ConfigError, match=message):
        _config(flow_dir, **overrides)


def test_flow_for_other_images_is_rejected(tmp_path):
    glow = Glow(GlowConfig((4, 4, 1), levels=1, steps=1, width=4))
    glow.initialize(np.full((2, 4, 4, 1), 0.5, np.float32))
    flows.save(glow, str(tmp_path / "small"))
    with pytest.raises(ConfigError, match="models 4x4x1 images but these are 8x8x1"):
        train_classifier(_config(str(tmp_path / "small")), str(tmp_path / "run"),
                         _splits(), verbose=0)


def test_two_replicas_train_like_one_device():
    script = os.path.join(ROOT, "tests", "distributed_equivalence.py")
    result = subprocess.run([sys.executable, script], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "max weight difference" in result.stdout


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_classifier_keeps_the_flow_and_logits_float32(tmp_path, flow_dir,
                                                                      precision):
    import tensorflow as tf
    from tfaug.trainers.classifier import compile_classifier, load_latent_models
    config = _config(flow_dir, precision=precision,
                     augmentation="latent_adversarial(eps=0.5,alpha=0.25,steps=1)")
    latent = load_latent_models(config)
    model = compile_classifier(config, latent, _splits().train.info, 10, 64)
    convs = [layer for layer in model.classifier.layers
             if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == precision.split("_")[1]
                         for layer in convs)
    assert all(v.dtype == "float32" for v in model.classifier.weights)
    assert not {str(v.dtype) for m in latent.values() for v in m.weights} & {
        "float16", "bfloat16"}
    images = _splits().train.images[:4] / np.float32(255)
    assert model(images).dtype == tf.float32
    expected = "LossScaleOptimizer" if precision == "mixed_float16" else "SGD"
    assert expected in type(model.optimizer).__name__
    report = train_classifier(config, str(tmp_path), _splits(), verbose=0)
    assert np.isfinite(report["history"]["loss"]).all()
    reference = train_classifier(_config(flow_dir, augmentation=config.augmentation),
                                 str(tmp_path / "float32"), _splits(), verbose=0)
    # Same run in float32: the losses agree to low-precision rounding.
    np.testing.assert_allclose(report["history"]["loss"], reference["history"]["loss"],
                               rtol=0.05)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_xla_with_mixed_precision_on_one_device_trains(tmp_path, flow_dir, precision):
    """What a single GPU gets by default (XLA on), as far as a CPU runs it."""
    config = _config(flow_dir, precision=precision, jit=True)
    report = train_classifier(config, str(tmp_path), _splits(), verbose=0)
    assert report["optimizer_steps"] == 8 and np.isfinite(report["history"]["loss"]).all()


def test_xla_is_on_by_default_only_on_one_replica_with_a_gpu(monkeypatch):
    import tensorflow as tf
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["gpu"] if kind == "GPU" else ["cpu"])
    assert cfglib.use_xla(None, replicas=1)
    assert not cfglib.use_xla(None, replicas=2)  # XLA across replicas: untested
    assert not cfglib.use_xla(False, replicas=1) and cfglib.use_xla(True, replicas=2)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert not cfglib.use_xla(None, replicas=1)


def test_a_diverged_run_says_so_and_names_the_fix(tmp_path, flow_dir):
    lines = []
    report = train_classifier(_config(flow_dir, augmentation="none", lr=1e4),
                              str(tmp_path), _splits(), verbose=0, log=lines.append)
    assert not report["val_loss"] <= 10 * np.log(2)  # two classes; NaN too
    assert "training diverged" in report["diverged"] and "--lr=" in report["diverged"]
    assert lines[-1] == "warning: " + report["diverged"]
    calm = train_classifier(_config(flow_dir, augmentation="none", lr=0.01),
                            str(tmp_path / "calm"), _splits(), verbose=0)
    assert calm["diverged"] is None and calm["val_loss"] < 10 * np.log(2)


@pytest.mark.parametrize("loss, verdict", [
    (2.0, None), (23.0, None), (23.1, "diverged"), (float("nan"), "diverged"),
    (float("inf"), "diverged"), (None, None)])
def test_divergence_is_a_validation_loss_over_ten_uniform_guesses(loss, verdict):
    said = classifier.divergence(loss, 10, 0.1)  # ln 10 = 2.303
    assert said is None if verdict is None else verdict in said


@pytest.mark.parametrize("labels, fix", [(10, "--val_per_class=22"),
                                         (None, "--val_per_class=31")])
def test_a_class_too_small_for_the_split_names_the_values_that_fit(flow_dir, labels,
                                                                    fix):
    small = toy_split(64)  # 32 images per class
    config = _config(flow_dir, labels_per_class=labels, val_per_class=100)
    with pytest.raises(ConfigError, match=r"class 0 \('a'\) has 32 training images.*"
                                          + fix):
        classifier.load_splits(config, small, toy_split(8, split="test"))
    splits = classifier.load_splits(_config(flow_dir, labels_per_class=labels,
                                            val_per_class=22), small, small)
    assert len(splits.val) == 44


def test_without_a_validation_split_the_training_loss_tells_divergence(tmp_path,
                                                                       flow_dir):
    splits = _splits()
    report = train_classifier(_config(flow_dir, augmentation="none", lr=1e4,
                                      val_per_class=0),
                              str(tmp_path), Splits(splits.train, splits.train.take(
                                  np.arange(0)), splits.test), verbose=0)
    assert report["val_loss"] is None
    assert "the final training loss is" in report["diverged"]
