"""A run resumed or reused after its data, flow or model file changed under the same
path is refused, naming what changed; the same inputs resume as before."""

import json
import os
import re
import shutil

import keras
import numpy as np
import pytest

from conftest import make_mnist_dir, save_tiny_flow
from flow_helpers import toy_flow, toy_split
from tfaug import config as cfglib
from tfaug import flows, io, provenance, study
from tfaug.errors import ConfigError
from tfaug.trainers.classifier import ClassifierTrainConfig, Splits, train_classifier
from tfaug.trainers.flow import FlowTrainConfig, FlowTrainer


def _changed_pixel(images):
    images = images.copy()
    images[3, 2, 1, 0] ^= 1
    return images


def test_digests_change_with_one_pixel_one_label_or_one_flow_file(tmp_path):
    flow_dir = str(tmp_path / "flow")
    flows.save(toy_flow(), flow_dir)
    config = cfglib.from_dict(ClassifierTrainConfig, {"flow": flow_dir})
    train, test = toy_split(16), toy_split(8, seed=1, split="test")
    digests = provenance.of(config, train, test)
    assert digests == provenance.of(config, toy_split(16), test)
    assert set(digests) == {"data", "flow"}
    pixel = type(train)(_changed_pixel(train.images), train.labels, train.info)
    label = type(train)(train.images, 1 - train.labels, train.info)
    assert provenance.of(config, pixel, test)["data"] != digests["data"]
    assert provenance.of(config, label, test)["data"] != digests["data"]
    assert provenance.of(config, test, train)["data"] != digests["data"]  # order
    empty = toy_split(0, split="val")  # e.g. a run without a validation split
    assert provenance.of(config, train, test, empty)["data"] != digests["data"]
    glow = flows.load(flow_dir)
    glow.variables[0].assign_add(np.ones(glow.variables[0].shape, np.float32))
    flows.save(glow, flow_dir)
    again = provenance.of(config, train, test)
    assert again["flow"] != digests["flow"] and again["data"] == digests["data"]
    model = tmp_path / "mine.keras"
    model.write_bytes(b"one")
    with_model = dict(flow=flow_dir, model=str(model))
    before = provenance.of(cfglib.from_dict(ClassifierTrainConfig, with_model))
    model.write_bytes(b"two")  # an edited model file under the same name
    after = provenance.of(cfglib.from_dict(ClassifierTrainConfig, with_model))
    assert after["model"] != before["model"] and after["flow"] == before["flow"]


def test_check_records_then_names_what_changed(tmp_path):
    directory = str(tmp_path)
    provenance.check(directory, {"data": "a", "model": "m"}, "Do X.")  # no record yet
    provenance.check(directory, {"data": "a", "model": "m"}, "Do X.")
    with pytest.raises(ConfigError, match="other inputs: the images or labels read "
                                          "differ since. Do X."):
        provenance.check(directory, {"data": "b", "model": "m"}, "Do X.")
    with pytest.raises(ConfigError, match="the model file \\(--model\\) differs"):
        provenance.check(directory, {"data": "a"}, "Do X.")


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def _run(tmp_path, flow_dir, train, callbacks=()):
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="mnist", model="small_cnn", model_width=0.25, augmentation=
        "latent_random(eps=0.5)", flow=flow_dir, epochs=2, batch_size=16, lr=0.05,
        jit=False))
    splits = Splits(train, toy_split(16, seed=1, split="val"),
                    toy_split(16, seed=2, split="test"))
    return train_classifier(config, str(tmp_path / "run"), splits, verbose=0,
                            callbacks=callbacks)


def test_a_classifier_run_resumes_on_its_inputs_only(tmp_path):
    flow_dir, original = str(tmp_path / "flow"), str(tmp_path / "original")
    flows.save(toy_flow(), flow_dir)
    shutil.copytree(flow_dir, original)
    train = toy_split(32)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, flow_dir, train, [_StopAfterFirstEpoch()])
    changed = type(train)(_changed_pixel(train.images), train.labels, train.info)
    with pytest.raises(ConfigError, match="images or labels read differ.*another "
                                          "--out_dir"):
        _run(tmp_path, flow_dir, changed)
    glow = flows.load(flow_dir)
    glow.variables[-1].assign(glow.variables[-1] + 0.5)  # e.g. trained on, re-exported
    flows.save(glow, flow_dir)
    with pytest.raises(ConfigError, match="files of the flow directory \\(--flow\\) "
                                          "differ"):
        _run(tmp_path, flow_dir, train)
    shutil.rmtree(flow_dir)
    shutil.copytree(original, flow_dir)
    report = _run(tmp_path, flow_dir, train)  # its own inputs again:
    assert report["optimizer_steps"] == 4 and report["epochs_this_run"] == 1  # resumed
    assert report["inputs"] == provenance.of(
        cfglib.from_dict(ClassifierTrainConfig, {"flow": flow_dir}), train,
        toy_split(16, seed=1, split="val"), toy_split(16, seed=2, split="test"))


def test_a_flow_run_resumes_on_its_images_only(tmp_path):
    config = cfglib.from_dict(FlowTrainConfig, dict(
        dataset="mnist", levels=2, steps_per_level=1, width=8, batch_size=16,
        train_steps=4, log_every=2, eval_every=1000, checkpoint_every=2,
        eval_examples=16, jit=False))
    train, test = toy_split(32), toy_split(16, seed=1, split="test")
    out_dir = str(tmp_path / "flow_run")
    FlowTrainer(config, out_dir, train, test, progress=False).fit(log=lambda _: None)
    FlowTrainer(config, out_dir, train, test, progress=False)  # same images: resumes
    more = type(train)(np.concatenate([train.images, train.images[:1]]),
                       np.concatenate([train.labels, train.labels[:1]]), train.info)
    with pytest.raises(ConfigError, match="images or labels read differ"):
        FlowTrainer(config, out_dir, more, test, progress=False)


def test_a_study_does_not_reuse_runs_of_another_flow_but_keeps_the_others(tmp_path):
    config = cfglib.from_dict(study.StudyConfig, dict(
        dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data", n_train=60,
                                                 n_test=20),
        flow=save_tiny_flow(tmp_path / "flow"), budgets=(2,),
        methods=("none", "latent_random(eps=0.5)"), seeds=(1,), val_per_class=2,
        model_width=0.25, epochs=1, steps_per_epoch=1, batch_size=8, jit=False))
    out = str(tmp_path / "study")
    study.run_study(config, out, log=lambda _: None)
    messages = []
    study.run_study(config, out, log=messages.append)
    assert sum("done before, skipped" in m for m in messages) == 2
    assert set(io.read_json(os.path.join(out, provenance.FILE))) == {"data", "flow"}
    glow = flows.load(config.flow)  # another flow under the same path
    glow.variables[0].assign(glow.variables[0] * 2)
    flows.save(glow, config.flow)
    latent = os.path.join("runs", "lpc2", "latent_random", "seed0")
    with pytest.raises(ConfigError, match=f"flow directory.*1 of its runs read them "
                                          f"\\({re.escape(latent)}\\).*Move those"):
        study.run_study(config, out, log=lambda _: None)
    os.rename(os.path.join(out, latent), str(tmp_path / "aside"))
    messages = []
    rows = study.run_study(config, out, log=messages.append)
    assert any("none of its runs read them" in m for m in messages)
    skipped = [m for m in messages if "done before, skipped" in m]
    assert len(skipped) == 1 and " none " in skipped[0]  # trained on no flow: stays
    assert {r["method"] for r in rows} == {"none", "latent_random"}
    assert io.read_json(os.path.join(out, provenance.FILE))["flow"] == provenance.of(
        config, augmentation="latent_random")["flow"]  # the new flow, recorded
    shutil.rmtree(config.data_dir)
    make_mnist_dir(tmp_path / "data", n_train=60, n_test=20, seed=1)  # other images
    with pytest.raises(ConfigError, match="images or labels read differ.*move out_dir "
                                          "aside"):
        study.run_study(config, out, log=lambda _: None)


def test_the_runs_that_read_a_studys_flow_are_the_ones_named(tmp_path):
    from tfaug.study.runner import runs_reading
    for method, spec in [("latent_random", "latent_random(eps=1)"), ("none", "none"),
                         ("latent_random@labelled_flow", "latent_random"),  # its own
                         ("sla@capacity", "standard+latent_adversarial"),
                         ("vae", "vaegan_random"), ("unreadable", None)]:
        directory = tmp_path / "runs" / "lpc2" / method / "seed0"
        directory.mkdir(parents=True)
        (directory / "settings.json").write_text(
            json.dumps({"augmentation": spec}) if spec else "{")
    runs = [os.path.join("runs", "lpc2", m, "seed0")
            for m in ("latent_random", "sla@capacity", "unreadable", "vae")]
    assert runs_reading(str(tmp_path), {"flow"}) == sorted(runs[:3])
    assert runs_reading(str(tmp_path), {"vaegan"}) == sorted(runs[2:])


def test_a_search_does_not_resume_on_other_images(tmp_path):
    from tfaug import tuning
    data_dir = make_mnist_dir(tmp_path / "data", n_train=60, n_test=20)
    config = cfglib.from_dict(tuning.TuningConfig, dict(
        dataset="mnist", data_dir=data_dir, labels_per_class=2, val_per_class=2,
        augmentation="none", tuner="random", max_trials=1,
        space={"lr": {"min": 0.01, "max": 0.1, "log": True}}, model_width=0.25,
        epochs=1, steps_per_epoch=1, batch_size=8, jit=False))
    out = str(tmp_path / "tune")
    tuning.tune(config, out, log=lambda _: None, verbose=0)
    tuning.tune(config, out, log=lambda _: None, verbose=0)  # same images: resumes
    make_mnist_dir(data_dir, n_train=60, n_test=20, seed=1)
    with pytest.raises(ConfigError, match="images or labels read differ.*another "
                                          "--out_dir"):
        tuning.tune(config, out, log=lambda _: None, verbose=0)


def test_tuned_searches_are_reused_on_their_inputs_only(tmp_path, monkeypatch):
    from tfaug.tuning import MethodsTuningConfig, methods, tune_methods
    common = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=60, n_test=20),
                  flow=save_tiny_flow(tmp_path / "flow"), val_per_class=2,
                  model_width=0.25, epochs=1, batch_size=8, jit=False, budgets=(2,),
                  steps_by_budget=(1,), max_trials=1, tuner="random",
                  methods=("latent_random",))
    docs = str(tmp_path / "docs")
    tune_methods(cfglib.from_dict(MethodsTuningConfig, common), str(tmp_path / "a"),
                 log=lambda _: None, publish_dir=docs)
    glow = flows.load(common["flow"])  # trained on and exported again
    glow.variables[0].assign(glow.variables[0] * 2)
    flows.save(glow, common["flow"])
    with pytest.raises(ConfigError, match="lpc2/latent_random was trained on other "
                                          "inputs: the files of the flow directory"):
        tune_methods(cfglib.from_dict(MethodsTuningConfig, common),
                     str(tmp_path / "a"), log=lambda _: None)
    ran = []
    tune = methods.tune
    monkeypatch.setattr(methods, "tune", lambda config, *a, **k: ran.append(
        config.augmentation) or tune(config, *a, **k))
    tune_methods(cfglib.from_dict(MethodsTuningConfig, {**common, "reuse": (docs,)}),
                 str(tmp_path / "b"), log=lambda _: None)
    assert ran == ["latent_random"]  # `none` never read the flow: taken over
