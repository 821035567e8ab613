"""Keras Tuner search over an augmentation's parameters: end to end on tiny data,
resumable, HParams summaries in the event files, clear errors for bad search spaces."""

import glob
import json
import os
import re
import time

import keras
import keras_tuner
import pytest

from conftest import make_mnist_dir, run_script, save_tiny_flow
from tfaug import config as cfglib
from tfaug import tuning
from tfaug.augment import registry
from tfaug.errors import ConfigError


SPACE = {"latent_adversarial.eps": {"min": 0.05, "max": 2.0, "log": True},
         "latent_adversarial.alpha": {"fraction_of": "eps", "min": 0.5, "max": 1.0},
         "latent_adversarial.steps": [1, 2]}


def _config(tmp_path, **overrides):
    values = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=80, n_test=20),
                  flow=save_tiny_flow(tmp_path / "flow"), labels_per_class=3,
                  val_per_class=2, augmentation="latent_adversarial(random_start=true,"
                                                 "ratio=1)",
                  tuner="random", max_trials=2, space=SPACE, model_width=0.25,
                  epochs=1, steps_per_epoch=2, batch_size=8, jit=False)
    return cfglib.from_dict(tuning.TuningConfig, {**values, **overrides})


def _quiet(config, out, **kwargs):
    return tuning.tune(config, out, log=lambda _: None, verbose=0, **kwargs)


def _hparams_in_events(log_dir):
    """{trial directory: {name: value}} from the HParams session summaries, read back
    with TensorBoard's event reader."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    sessions = {}
    for events in glob.glob(os.path.join(log_dir, "*", "execution0")):
        acc = event_accumulator.EventAccumulator(events)
        acc.Reload()
        for content in acc.PluginTagToContent("hparams").values():
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            if data.HasField("session_start_info"):
                values = data.session_start_info.hparams
                sessions[os.path.basename(os.path.dirname(events))] = {
                    k: v.number_value if v.HasField("number_value") else v.string_value
                    for k, v in values.items()}
    return sessions


def test_after_trial_sees_each_trial_recorded_as_finished(tmp_path):
    config, out = _config(tmp_path), str(tmp_path / "tune")
    seen = []

    def finished_trials():
        records = [json.load(open(p)) for p in
                   glob.glob(os.path.join(out, "search", "trial_*", "trial.json"))]
        seen.append(sorted(r["status"] for r in records))
    _quiet(config, out, after_trial=finished_trials)
    assert seen == [["COMPLETED"], ["COMPLETED", "COMPLETED"]]


def test_two_trial_search_writes_summary_within_the_space(tmp_path):
    config, out = _config(tmp_path), str(tmp_path / "tune")
    summary = _quiet(config, out)
    trials = summary["trials"]
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    assert trials[0]["val_accuracy"] >= trials[1]["val_accuracy"]
    best = summary["best"]
    values = best["values"]
    assert values == trials[0]["values"]
    assert 0.05 <= values["latent_adversarial.eps"] <= 2.0
    assert 0.5 <= values["latent_adversarial.alpha_fraction"] <= 1.0
    assert values["latent_adversarial.steps"] in (1, 2)
    part = registry.resolve(best["augmentation"])[0].params
    assert part["eps"] == pytest.approx(values["latent_adversarial.eps"], rel=1e-5)
    assert part["alpha"] == pytest.approx(values["latent_adversarial.eps"]
                                          * values["latent_adversarial.alpha_fraction"],
                                          rel=1e-5)
    assert part["steps"] == values["latent_adversarial.steps"]
    assert part["random_start"] is True and part["ratio"] == 1.0  # written: fixed
    report = json.load(open(os.path.join(out, "best", "report.json")))
    assert report["config"]["augmentation"] == best["augmentation"]
    assert best["test_accuracy"] == report["test_accuracy"]
    assert best["val_accuracy"] == report["val_accuracy"] == trials[0]["val_accuracy"]
    with open(os.path.join(out, "summary.md")) as f:
        md = f.read()
    assert best["augmentation"] in md and summary["log_dir"] in md
    # The HParams dashboard: one session per trial, with that trial's eps.
    sessions = _hparams_in_events(summary["log_dir"])
    assert {tid: s["latent_adversarial.eps"] for tid, s in sessions.items()} == \
        pytest.approx({t["trial_id"]: t["values"]["latent_adversarial.eps"]
                       for t in trials})


class _Interrupt(keras.callbacks.Callback):
    """Interrupts the search when the `at`-th trial starts training (counted across
    the copies Keras Tuner makes of it)."""
    started = 0
    at = None

    def on_train_begin(self, logs=None):
        type(self).started += 1
        if type(self).started == type(self).at:
            raise KeyboardInterrupt


def test_interrupted_search_continues_where_it_stopped(tmp_path):
    config, out = _config(tmp_path, max_trials=3), str(tmp_path / "tune")
    _Interrupt.started, _Interrupt.at = 0, 2
    with pytest.raises(KeyboardInterrupt):
        _quiet(config, out, callbacks=[_Interrupt()])
    first = json.load(open(glob.glob(os.path.join(out, "search", "trial_0*",
                                                  "trial.json"))[0]))
    assert first["status"] == "COMPLETED"
    _Interrupt.started, _Interrupt.at = 0, None
    summary = _quiet(config, out, callbacks=[_Interrupt()])
    assert _Interrupt.started == 2  # the interrupted trial and the third, not the first
    assert len(summary["trials"]) == 3
    again = {t["trial_id"]: t for t in summary["trials"]}[first["trial_id"]]
    assert again["values"] == first["hyperparameters"]["values"]
    assert again["val_accuracy"] == first["score"]


def test_changed_settings_refuse_to_resume(tmp_path):
    config, out = _config(tmp_path, max_trials=1), str(tmp_path / "tune")
    _quiet(config, out)
    with pytest.raises(ConfigError, match="space"):
        _quiet(_config(tmp_path, max_trials=2, space={**SPACE, "latent_adversarial.steps":
                                                      [1, 3]}), out)


@pytest.mark.parametrize("overrides, message", [
    (dict(space={"latent_adversarial.eps": {"min": 2.0, "max": 1.0}}),
     r"min \(2.0\) is larger than max"),
    (dict(space={"latent_adversarial.eps": {"min": 0.0, "max": 1.0, "log": True}}),
     "log-scale range needs min > 0"),
    (dict(space={"latent_adversarial.steps": []}), "empty list"),
    (dict(space={"latent_adversarial.epsilon": [1.0]}), "names no parameter"),
    (dict(space={"mixup.alpha": [1.0]}), "names no parameter"),
    (dict(space={"latent_adversarial.eps": {"max": 2}}), "needs min and max"),
    (dict(tuner="sweep"), "Unknown tuner 'sweep'"),
    (dict(tuner="grid"), "grid search needs a list of values .*latent_adversarial.eps "
                         "has a range"),
    (dict(augmentation="none", space={}), "Nothing to tune"),
    (dict(space="{not json"), "cannot read .* as a JSON object"),
])
def test_bad_search_spaces_are_clear_errors(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **overrides)


def test_command_line_search_and_bad_space(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=80, n_test=20)
    flow = save_tiny_flow(tmp_path / "flow")
    common = [f"--data_dir={data_dir}", "--dataset=mnist", f"--flow={flow}",
              "--labels_per_class=3", "--val_per_class=2", "--model_width=0.25",
              "--epochs=1", "--steps_per_epoch=1", "--batch_size=8", "--nojit",
              "--augmentation=latent_random", "--max_trials=1"]
    bad = run_script("tune.py", *common, '--space={"latent_random.eps": {"min": -1, '
                     '"max": 2, "log": true}}', f"--out_dir={tmp_path / 'bad'}")
    assert bad.returncode == 2 and "log-scale range needs min > 0" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = run_script("tune.py", *common, "--tuner=bayesian",
                    '--space={"lr": {"min": 0.01, "max": 0.1, "log": true}}',
                    f"--out_dir={tmp_path / 'tune'}")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "summary.md" in ok.stdout
    summary = json.load(open(tmp_path / "tune" / "summary.json"))
    assert summary["tuner"] == "bayesian" and len(summary["trials"]) == 1
    assert [hp["name"] for hp in summary["search_space"]] == [
        "latent_random.eps", "latent_random.ratio", "lr"]
    assert 0.01 <= summary["best"]["lr"] <= 0.1


def test_hyperband_search_trains_its_brackets_up_to_the_configured_epochs(tmp_path):
    config = _config(tmp_path, tuner="hyperband", epochs=2, hyperband_factor=2,
                     augmentation="latent_random(ratio=1)", steps_per_epoch=1,
                     space={"latent_random.eps": {"min": 0.05, "max": 2.0}})
    summary = _quiet(config, str(tmp_path / "tune"))
    epochs = [t["values"]["tuner/epochs"] for t in summary["trials"]]
    assert len(epochs) >= 2 and max(epochs) == 2
    eps = [t["values"]["latent_random.eps"] for t in summary["trials"]]
    assert all(0.05 <= e <= 2.0 for e in eps)
    assert summary["best"]["values"]["latent_random.eps"] == eps[0]


def test_composed_method_keeps_its_image_part_and_searches_its_latent_part():
    from tfaug.tuning.methods import with_own_values
    tuned = {"standard": "standard(pad=1,flip=false)",
             "latent_random": "latent_random(eps=2.8,ratio=0.6)"}
    filled = with_own_values("standard+latent_random", tuned)
    assert filled.startswith("standard(") and "pad=1" in filled and "flip=false" in filled
    assert filled.endswith("latent_random")  # free: its values are searched again


def test_soft_attack_targets_keep_the_random_start_out_of_the_search():
    plain = tuning.effective_space("fixmatch(strong=latent_adversarial)", {})
    soft = tuning.effective_space(
        "fixmatch(strong=latent_adversarial(soft_targets=true))", {})
    key = "fixmatch.strong.latent_adversarial.random_start"
    assert key in plain and key not in soft
    assert set(plain) - set(soft) == {key}


def test_search_begun_before_a_new_setting_resumes(tmp_path):
    from tfaug import config as cfglib
    from tfaug import io
    from tfaug.errors import ConfigError
    from tfaug.tuning.search import TuningConfig, check_resumable
    config = cfglib.from_dict(TuningConfig, {"augmentation": "latent_random"})
    older = {k: v for k, v in config.search_config().items()
             if k not in ("precision", "lr_milestones")}
    io.write_json(str(tmp_path / "tuning_config.json"), older)
    check_resumable(config, str(tmp_path))  # new settings at their default: resumes
    io.write_json(str(tmp_path / "tuning_config.json"), {**older, "lr": 0.5})
    with pytest.raises(ConfigError, match="other settings \\(lr differ"):
        check_resumable(config, str(tmp_path))


def test_a_search_of_the_lr_resumes_whatever_the_lr_it_was_recorded_with(tmp_path):
    from tfaug import config as cfglib
    from tfaug import io
    from tfaug.errors import ConfigError
    from tfaug.tuning.search import TuningConfig, check_resumable
    lr_space = {"lr": {"min": 0.005, "max": 0.2, "log": True}}
    searched = cfglib.from_dict(TuningConfig, {"augmentation": "none",
                                               "space": lr_space, "lr": 0.03})
    recorded = {**searched.search_config(), "lr": 0.1}  # the default it had then
    io.write_json(str(tmp_path / "tuning_config.json"), recorded)
    check_resumable(searched, str(tmp_path))  # its trials never used the lr: resumes
    given = cfglib.from_dict(TuningConfig, {"augmentation": "latent_random",
                                            "lr": 0.03})
    io.write_json(str(tmp_path / "tuning_config.json"),
                  {**given.search_config(), "lr": 0.1})
    with pytest.raises(ConfigError, match="other settings \\(lr differ"):
        check_resumable(given, str(tmp_path))


def test_trial_scored_on_two_seeds_is_their_mean_each_as_trained_alone(tmp_path,
                                                                      monkeypatch):
    import dataclasses
    from tfaug.trainers.classifier import load_splits, train_classifier
    from tfaug.tuning import search
    built = []  # the datasets of each seed, built once per search
    fit_datasets = search.fit_datasets
    monkeypatch.setattr(search, "fit_datasets", lambda config, *a, **k: built.append(
        config.seed) or fit_datasets(config, *a, **k))
    config = _config(tmp_path, max_trials=2, trial_seeds=2, seed=3)
    summary = _quiet(config, str(tmp_path / "tune"))
    assert sorted(built) == [3, 4]
    for trial in summary["trials"]:
        assert sorted(trial["seeds"]) == [3, 4]
        assert trial["val_accuracy"] == pytest.approx(sum(trial["seeds"].values()) / 2)
    best = summary["trials"][0]
    assert summary["best"]["val_accuracy"] == best["seeds"][3]  # retrained: seed 3
    # the trial run last iterated the seed's datasets a second time: from their start
    trial = max(summary["trials"], key=lambda t: int(t["trial_id"]))
    hp = _fixed(trial["values"])
    alone = dataclasses.replace(search.trial_config(config, hp), seed=4)
    report = train_classifier(alone, str(tmp_path / "seed4"), load_splits(alone),
                              verbose=0)
    assert report["val_accuracy"] == trial["seeds"][4]


def _fixed(values):
    """Hyperparameters holding `values`, as a trial's."""
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def test_bayesian_search_takes_its_number_of_random_starts(tmp_path):
    from tfaug.tuning.search import make_tuner
    config = _config(tmp_path, tuner="bayesian", max_trials=4, initial_points=2)
    tuner = make_tuner(config, _Unbuilt(), str(tmp_path / "t"), None)
    assert tuner.oracle.num_initial_points == 2
    with pytest.raises(ConfigError, match="initial_points must be >= 1"):
        _config(tmp_path, initial_points=0)


class _Unbuilt(keras_tuner.HyperModel):
    """Declares no hyperparameters and builds nothing."""

    def build(self, hp):
        return None


def test_sharded_tuning_merges_the_values_one_process_finds(tmp_path):
    """Two shards side by side (the second waits for the first's `none` and
    `standard`) write the same tuned.json values as one process; curves.md shows
    every search."""
    import threading
    from tfaug.tuning import MethodsTuningConfig, tune_methods
    common = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=120, n_test=30),
                  flow=save_tiny_flow(tmp_path / "flow"), val_per_class=2,
                  model_width=0.25, epochs=1, batch_size=8, jit=False, budgets=(2, 3),
                  steps_by_budget=(2, 2), max_trials=2, tuner="random", seed=7,
                  methods=("standard", "latent_random", "standard+latent_random"))
    one = tune_methods(cfglib.from_dict(MethodsTuningConfig, common),
                       str(tmp_path / "one"), log=lambda _: None)
    flags = [f"--{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
             for k, v in common.items() if k != "jit"] + ["--nojit"]
    results = [None, None]

    def shard(i):
        results[i] = run_script("tune_methods.py", *flags, f"--shard={i}/2",
                                f"--out_dir={tmp_path / 'two'}",
                                f"--publish_dir={tmp_path / 'docs'}")
    threads = [threading.Thread(target=shard, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr[-1500:] for r in results]
    two = json.load(open(tmp_path / "two" / "tuned.json"))
    for budget in ("2", "3"):
        assert two["budgets"][budget]["lr"] == one["budgets"][budget]["lr"]
        assert two["budgets"][budget]["methods"] == one["budgets"][budget]["methods"]
    curves = (tmp_path / "two" / "curves.md").read_text()
    assert curves.count("| standard+latent_random |") == 2
    assert (tmp_path / "two" / "curves.png").stat().st_size > 0
    published = json.load(open(tmp_path / "docs" / "tuned.json"))
    assert published["budgets"] == two["budgets"]
    copied = {os.path.relpath(os.path.join(r, f), tmp_path / "docs")
              for r, _, files in os.walk(tmp_path / "docs") for f in files}
    assert "lpc3/standard/summary.json" in copied and "curves.md" in copied
    assert not any(f.endswith(".h5") or "tensorboard" in f for f in copied)


def test_a_search_another_process_holds_does_not_stall_the_others(tmp_path):
    """While another process holds budget 2's `none` (the learning rate budget 2's
    other searches wait for), this one tunes budget 3 whole, then waits; once the
    holder lets go unfinished (as a killed process does) it runs budget 2 itself."""
    import threading
    from tfaug import io
    from tfaug.tuning import MethodsTuningConfig, methods, tune_methods
    config = cfglib.from_dict(MethodsTuningConfig, dict(
        dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data", n_train=120,
                                                 n_test=30),
        val_per_class=2, model_width=0.25, epochs=1, batch_size=8, jit=False,
        budgets=(2, 3), steps_by_budget=(2, 2), max_trials=1, tuner="random",
        seed=7, methods=("standard", "standard+cutout")))
    out = str(tmp_path / "out")
    lines, result = [], {}
    with io.claimed(methods.search_dir(out, 2, "none") + ".lock") as ours:
        assert ours
        worker = threading.Thread(target=lambda: result.update(tune_methods(
            config, out, log=lines.append, poll_seconds=0.1)), daemon=True)
        worker.start()
        deadline = time.time() + 300
        while not any(line.startswith("waiting") for line in lines):
            assert worker.is_alive() and time.time() < deadline, lines
            time.sleep(0.1)
        time.sleep(0.5)
        assert worker.is_alive()  # still waiting for budget 2
        assert "none at 2 per class" in next(line for line in lines
                                             if line.startswith("waiting"))
    worker.join(300)
    assert not worker.is_alive()
    order = [m.groups() for m in map(re.compile(
        r"\[(\d+) per class\] tuning ([^:]+):").search, lines) if m]
    assert order == [("3", "none"), ("3", "standard"), ("3", "standard+cutout"),
                     ("2", "none"), ("2", "standard"), ("2", "standard+cutout")]
    assert set(result["budgets"]) == {"2", "3"}
    assert set(result["budgets"]["2"]["methods"]) == {"none", "standard",
                                                      "standard+cutout"}


def test_search_finished_in_an_earlier_tuning_is_taken_over_not_run(tmp_path,
                                                                     monkeypatch):
    """A tuning that reuses an earlier one's records runs only the searches whose
    settings differ; the ones taken over give the same values and records; a
    finished search is not run again."""
    from tfaug.tuning import MethodsTuningConfig, methods, tune_methods
    common = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=120, n_test=30),
                  flow=save_tiny_flow(tmp_path / "flow"), val_per_class=2,
                  model_width=0.25, epochs=1, batch_size=8, jit=False, budgets=(2,),
                  steps_by_budget=(2,), max_trials=2, tuner="random", seed=7,
                  methods=("standard", "standard+cutout"))
    earlier = tune_methods(cfglib.from_dict(MethodsTuningConfig, common),
                           str(tmp_path / "earlier"), log=lambda _: None,
                           publish_dir=str(tmp_path / "docs"))
    ran, steps = [], []
    tune = methods.tune
    monkeypatch.setattr(methods, "tune", lambda config, *a, **k: ran.append(
        config.augmentation) or steps.append(config.steps_per_epoch) or tune(
        config, *a, **k))
    later_config = {**common, "methods": ("latent_random", "standard+cutout",
                                          "standard"),
                    "method_steps": {"latent_random": (4,)},  # a schedule of its own
                    "reuse": (str(tmp_path / "docs"),)}
    lines = []
    later = tune_methods(cfglib.from_dict(MethodsTuningConfig, later_config),
                         str(tmp_path / "later"), log=lines.append)
    assert ran == ["latent_random"] and steps == [4]
    # what needs no training goes first, parts before compositions: the composition
    # finished earlier is not kept waiting behind a search that trains
    order = [m.group(1) for m in map(re.compile(r"per class\] tuning ([^:]+):").search,
                                     lines) if m]
    assert order == ["none", "standard", "standard+cutout", "latent_random"]
    assert later["budgets"]["2"]["methods"]["latent_random"]["steps"] == 4
    assert later["budgets"]["2"]["lr"] == earlier["budgets"]["2"]["lr"]
    for label in ("none", "standard", "standard+cutout"):
        assert later["budgets"]["2"]["methods"][label] == \
            earlier["budgets"]["2"]["methods"][label]
    assert "| standard |" in (tmp_path / "later" / "curves.md").read_text()
    ran.clear()  # run again: every search has finished, none is run or reloaded
    assert tune_methods(cfglib.from_dict(MethodsTuningConfig, later_config),
                        str(tmp_path / "later"), log=lambda _: None) == later
    assert ran == []
    # other settings (another trial count): nothing is taken over
    tune_methods(cfglib.from_dict(MethodsTuningConfig, {
        **common, "max_trials": 1, "reuse": (str(tmp_path / "docs"),)}),
        str(tmp_path / "other"), log=lambda _: None)
    assert ran[:2] == ["none", "standard"] and len(ran) == 3
    assert ran[2].startswith("standard(") and ran[2].endswith(")+cutout")
    with pytest.raises(ConfigError, match="reuse: no tuning records at .*nowhere"):
        cfglib.from_dict(MethodsTuningConfig, {
            **common, "reuse": (str(tmp_path / "nowhere"),)}).validate()


def test_search_over_level_decay_trains_each_trial_with_its_value(tmp_path):
    config = _config(tmp_path, max_trials=1, space={
        **SPACE, "latent_adversarial.level_decay": [0.0, 0.5]})
    summary = _quiet(config, str(tmp_path / "tune"))
    assert summary["trials"][0]["values"]["latent_adversarial.level_decay"] in (0.0, 0.5)
    assert "level_decay=" in summary["best"]["augmentation"]


@pytest.mark.parametrize("stopped_seed", [3, 4])
def test_trial_stopped_mid_seed_resumes_from_its_last_epoch(tmp_path, monkeypatch,
                                                            stopped_seed):
    from tfaug.tuning import search
    epochs_run = []  # (seed, epoch) of every epoch begun

    class Backup(search.AtomicBackupAndRestore):
        stop = None  # (seed, epoch) at whose start the sitting ends

        def on_epoch_begin(self, epoch, logs=None):
            seed = int(os.path.basename(self.backup_dir)[len("seed"):-len("_backup")])
            if (seed, epoch) == Backup.stop:
                raise KeyboardInterrupt
            epochs_run.append((seed, epoch))
    monkeypatch.setattr(search, "AtomicBackupAndRestore", Backup)
    config = _config(tmp_path, max_trials=1, trial_seeds=2, seed=3, epochs=3,
                     retrain_best=False)
    whole = _quiet(config, str(tmp_path / "whole"))["trials"][0]
    assert epochs_run == [(s, e) for s in (3, 4) for e in range(3)]

    out = str(tmp_path / "stopped")
    Backup.stop = (stopped_seed, 2)
    with pytest.raises(KeyboardInterrupt):
        _quiet(config, out)
    trial_dir = glob.glob(os.path.join(out, "search", "trial_*"))[0]
    assert os.path.isdir(os.path.join(trial_dir, f"seed{stopped_seed}_backup"))
    Backup.stop, epochs_run[:] = None, []
    resumed = _quiet(config, out)["trials"][0]
    # only what was left: the stopped seed's last epoch, then any seed not begun
    assert epochs_run == [(stopped_seed, 2)] + [(4, e) for e in range(3)
                                                if stopped_seed == 3]
    assert resumed["values"] == whole["values"]
    assert resumed["seeds"] == whole["seeds"]  # the same batches, the same weights
    assert resumed["val_accuracy"] == whole["val_accuracy"]
    for seed in (3, 4):  # accuracy on 20 images is coarse: the loss is not
        records = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(
            tmp_path, "*", "search", "trial_*", f"seed{seed}.json")))]
        assert len(records) == 2 and records[0] == records[1]
    assert not glob.glob(os.path.join(trial_dir, "seed*_backup"))


def test_grid_search_cut_in_a_trial_resumes_and_takes_every_value_once(tmp_path):
    grid = [0.004, 0.02, 0.1]
    config = _config(tmp_path, tuner="grid", augmentation="none", space={"lr": grid},
                     max_trials=3, retrain_best=False)
    out = str(tmp_path / "tune")
    _Interrupt.started, _Interrupt.at = 0, 2
    with pytest.raises(KeyboardInterrupt):
        _quiet(config, out, callbacks=[_Interrupt()])
    _Interrupt.started, _Interrupt.at = 0, None
    summary = _quiet(config, out, callbacks=[_Interrupt()])
    assert _Interrupt.started == 2  # the cut trial and the last, not the first
    assert sorted(t["values"]["lr"] for t in summary["trials"]) == grid
    assert all(t["status"] == "COMPLETED" for t in summary["trials"])
