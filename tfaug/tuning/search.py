"""One Keras Tuner search: an augmentation's parameters (and optionally the learning
rate) on a validation split carved from the training set.

MethodHyperModel builds the augmented classifier of one trial (tfaug.tuning.space
turns the trial's values into a spec) and scores it by the validation accuracy of its
final weights, as the study evaluates them. `tune` runs the search, resumes it from
its directory, optionally retrains the best values and evaluates them once on the test
split, and writes summary.json and summary.md. Every trial logs TensorBoard scalars
and its hyperparameters (the HParams dashboard) under out_dir/tensorboard.
"""

import dataclasses
import functools
import itertools
import json
import os
import shutil
import time
import warnings
import zlib
from typing import Any, Callable, Dict, Optional

import keras
import keras_tuner
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from keras_tuner.src.backend import io as kt_io
from keras_tuner.src.engine import tuner_utils
import tensorflow as tf

from tfaug import config as cfglib
from tfaug import io, provenance
from tfaug.errors import ConfigError
from tfaug.trainers.classifier import (ClassifierTrainConfig, compile_classifier,
                                       fit_datasets, load_latent_models, load_splits,
                                       Splits, steps_per_epoch, train_classifier)
from tfaug.trainers.backup import AtomicBackupAndRestore
from tfaug.trainers.distribution import make_strategy
from tfaug.tuning.space import declare, effective_space

field = cfglib.field
TUNERS = ("random", "bayesian", "hyperband", "grid")
OBJECTIVE = "val_accuracy"


@dataclasses.dataclass(frozen=True)
class TuningConfig(ClassifierTrainConfig):
    """A classifier config whose augmentation parameters (those not written in
    --augmentation) and, if the space names it, learning rate are searched."""
    tuner: str = field("bayesian", "Search algorithm: random, bayesian, hyperband or "
                                   "grid (every combination of the space's lists of "
                                   "values, in order, up to max_trials).")
    max_trials: int = field(10, "Trials to run (random and bayesian; hyperband sizes "
                                "its brackets from epochs and hyperband_factor).")
    hyperband_factor: int = field(3, "hyperband: reduction factor between rounds.")
    initial_points: Optional[int] = field(None, "bayesian: random trials before the "
                                                "model guides the search (default: "
                                                "Keras Tuner's 3 per searched "
                                                "parameter).")
    trial_seeds: int = field(1, "Seeds each trial trains on (seed, seed+1, ...: each "
                                "its own labelled subset, validation split and "
                                "initialisation); its score is their mean final "
                                "validation accuracy.")
    space: Dict[str, Any] = field({}, "Search space (JSON object): 'part.param' or 'lr' "
                                      "-> [choices], {\"min\", \"max\", \"log\"}, "
                                      "{\"fraction_of\": param, \"min\", \"max\"} or a "
                                      "fixed value. Parameters written in the "
                                      "augmentation are fixed; the others get "
                                      "tfaug.tuning.space.DEFAULT_SPACE.")
    retrain_best: bool = field(True, "Retrain the best values and evaluate them once "
                                     "on the test split.")

    def validate(self):
        super().validate()
        if self.tuner not in TUNERS:
            raise ConfigError(f"Unknown tuner {self.tuner!r}; choose one of "
                              f"{', '.join(TUNERS)}.")
        space = effective_space(self.augmentation, self.space)
        if not space:
            raise ConfigError(f"Nothing to tune in {self.augmentation!r}: its parameters "
                              "are all written in the spec and the space names no other "
                              "(add e.g. \"lr\" to the space).")
        ranges = sorted(k for k, v in space.items() if isinstance(v, dict))
        if self.tuner == "grid" and ranges:
            raise ConfigError(f"A grid search needs a list of values for every searched "
                              f"parameter; {', '.join(ranges)} has a range: give it a "
                              "list (e.g. \"lr\": [0.005, 0.01, 0.02]) or choose another "
                              "tuner.")
        if self.max_trials < 1 or self.hyperband_factor < 2 or self.trial_seeds < 1:
            raise ConfigError("max_trials and trial_seeds must be >= 1, "
                              "hyperband_factor >= 2.")
        if self.initial_points is not None and self.initial_points < 1:
            raise ConfigError(f"initial_points must be >= 1 (or unset for Keras "
                              f"Tuner's default), got {self.initial_points}.")
        if self.val_per_class < 1:
            raise ConfigError("val_per_class must be >= 1: the objective is accuracy on "
                              "the validation split.")
        return self

    def search_config(self) -> dict:
        """What must stay the same for a search to be resumed: its settings but the
        number of trials, and the lr when the space searches it."""
        skip = {"max_trials"} | ({"lr"} if "lr" in self.space else set())
        return {k: v for k, v in cfglib.to_dict(self).items() if k not in skip}


def trial_config(config: TuningConfig, hp: keras_tuner.HyperParameters):
    """The classifier config of the trial whose values are in `hp`."""
    spec, lr = declare(hp, config.augmentation, config.space)
    updates = {"augmentation": spec, **({"lr": float(lr)} if lr is not None else {})}
    return cfglib.narrow(ClassifierTrainConfig, config, **updates)


class MethodHyperModel(keras_tuner.HyperModel):
    """Builds the compiled augmented classifier of one trial over the shared, frozen
    latent models (every trial from the same initial weights, seeded by the config)
    and scores it by its final validation accuracy: with `trial_seeds` > 1 the mean
    over the config's seed and the next ones, each trained on `datasets(seed)`."""

    def __init__(self, config: TuningConfig, latent_models: dict, info,
                 total_steps: int, num_examples: int,
                 datasets: Optional[Callable] = None, log: Callable = print):
        super().__init__(name="augmented_classifier")
        self.config, self.latent_models, self.info = config, latent_models, info
        self.total_steps, self.num_examples = total_steps, num_examples
        self.datasets, self.log, self.trials = datasets, log, 0
        self.trial_dir = None

    def build(self, hp, seed: Optional[int] = None):
        config = self.config if seed is None else dataclasses.replace(self.config,
                                                                      seed=seed)
        keras.utils.set_random_seed(config.seed)
        return compile_classifier(trial_config(config, hp), self.latent_models,
                                  self.info, self.total_steps, self.num_examples)

    def fit(self, hp, model, *args, **kwargs):
        worker = search_role() == "worker"  # Keras Tuner reports on the chief only
        if worker:
            print(f"worker {os.environ['KERASTUNER_TUNER_ID']}: trial "
                  f"{json.dumps(hp.values, sort_keys=True)}", flush=True)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        for callback in callbacks:
            if isinstance(callback, tuner_utils.SaveBestEpoch):
                callback._save_model = _atomic_save(callback)
        self.trials += 1
        started = time.time()
        train_ds, val_ds = args[0], kwargs.pop("validation_data")
        scores = {self.config.seed: self._train_seed(
            model, self.config.seed, train_ds, val_ds, kwargs, callbacks)}
        # the other seeds' models start afresh: all epochs (Hyperband's
        # initial_epoch counts the first seed's epochs in a former bracket)
        fresh = {k: v for k, v in kwargs.items() if k != "initial_epoch"}
        for seed in range(self.config.seed + 1,
                          self.config.seed + self.config.trial_seeds):
            with model.distribute_strategy.scope():
                seed_model = self.build(hp, seed)
            scores[seed] = self._train_seed(seed_model, seed, *self.datasets(seed),
                                            fresh)
        score = float(sum(scores.values()) / len(scores))
        self.log(f"  trial {self.trials} of this sitting: {OBJECTIVE} {score:.4f} "
                 + (f"(seeds {', '.join(f'{v:.4f}' for v in scores.values())}) "
                    if len(scores) > 1 else "")
                 + f"in {time.time() - started:.0f} s; "
                 + ", ".join(f"{k} {_show(v)}" for k, v in sorted(hp.values.items())))
        return {OBJECTIVE: score, **{f"{OBJECTIVE}_seed{s}": v
                                     for s, v in scores.items()}}

    def _train_seed(self, model, seed, train_ds, val_ds, fit_kwargs,
                    callbacks=()) -> float:
        """The final validation accuracy of `model` trained with `seed`'s data. In the
        trial's directory (set by `tune` as each trial starts) a seed's training is
        backed up at every epoch end and its score recorded once finished, so a trial
        interrupted in a former sitting goes on from its last epoch, on the batches
        it would have seen, and does not train its finished seeds again."""
        record = os.path.join(self.trial_dir, f"seed{seed}.json")
        finished = io.read_json(record)
        if finished is not None:
            return float(finished[OBJECTIVE])
        backup_dir = os.path.join(self.trial_dir, f"seed{seed}_backup")
        backup = AtomicBackupAndRestore(backup_dir, fit_kwargs["steps_per_epoch"],
                                        double_checkpoint=True, delete_checkpoint=False)
        backup.set_model(model)
        before = int(model.optimizer.iterations.numpy())
        backup.restore()
        done = int(model.optimizer.iterations.numpy()) - before
        if done:
            self.log(f"  seed {seed}: resuming the trial's training after {done} steps")
        history = model.fit(train_ds.skip(done), validation_data=val_ds,
                            callbacks=[backup, *callbacks], **fit_kwargs)
        if history.epoch:
            final = {k: float(history.history[k][-1]) for k in (OBJECTIVE, "val_loss")}
        else:  # stopped after the last epoch's backup: its final weights
            metrics = model.evaluate(val_ds, verbose=0, return_dict=True)
            final = {OBJECTIVE: metrics["accuracy"], "val_loss": metrics["loss"]}
        io.write_json(record, final)
        shutil.rmtree(backup_dir, ignore_errors=True)
        return final[OBJECTIVE]


def _atomic_save(callback):
    """Keras Tuner's best-epoch save (a non-chief worker writes to a temporary
    directory, as Keras Tuner does), written whole: a kill mid-write must not leave a
    truncated checkpoint.weights.h5."""
    def save():
        strategy = callback.model.distribute_strategy
        path = kt_io.write_filepath(callback.filepath, strategy)
        io.save_weights_atomic(callback.model, path)
        kt_io.remove_temp_dir_with_filepath(path, strategy)
    return save


class GridOracle(keras_tuner.Oracle):
    """A grid search that resumes. Keras Tuner's GridSearchOracle keeps its place in
    the grid in memory only, so a reloaded search fails on its next trial (KeyError
    in its _ordered_ids); this one derives the place from the trials on record: the
    first combination, in the order of each parameter's values, no trial has taken."""

    def populate_space(self, trial_id):
        space = self.get_space().space
        names = [hp.name for hp in space]
        taken = {tuple(t.hyperparameters.values.get(n) for n in names)
                 for t in self.trials.values()}
        for combination in itertools.product(*(list(hp.values) for hp in space)):
            if combination not in taken:
                return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                        "values": dict(zip(names, combination))}
        return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}


FLAT = 1e-9  # an acquisition_spread below this: the oracle proposes a random draw


def acquisition_spread(process, beta: float, dimensions: int) -> float:
    """How much the upper confidence bound (mean - beta * std, minimised) of a fitted
    Gaussian process varies over 2,000 random points of the unit cube. Below FLAT the
    Bayesian oracle's optimiser stays at each of its random restarts and proposes the
    first one: a random draw."""
    probes = np.random.RandomState(0).uniform(size=(2000, dimensions))
    mean, std = process.predict(probes, return_std=True)
    bound = mean - beta * std
    return float(bound.max() - bound.min())


class BayesianOracle(keras_tuner.oracles.BayesianOptimizationOracle):
    """Keras Tuner's Bayesian oracle with two repairs, which also says when a "guided"
    trial is a random draw.

    Keras Tuner draws the acquisition optimiser's 50 restarts from a random state made
    when the oracle is built and never saved, so every resumed sitting draws the same
    restarts again: under a flat fit (below) each sitting's first proposal was the
    point of the sitting before, a trial run twice (docs/study_evidence/README.md).
    Here each trial's restarts come from the seed and the trial's id, so a resumed
    search proposes what an uninterrupted one would. And a proposal equal to an
    earlier trial's values (whose score training, being deterministic, would only
    repeat) is replaced by a random draw of untried values; with none left the search
    stops.

    Its Gaussian process has one length scale and no noise term; fitted to a few noisy
    trials, the scale often falls to its bound (1e-5) and the acquisition is flat
    (docs/study_evidence/README.md). Such trials, and replaced repeats, are logged and
    kept in the oracle's state as `random_draws`."""

    def __init__(self, *args, log: Optional[Callable] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = log
        self.random_draws = []

    def populate_space(self, trial_id):
        self._random_state = np.random.RandomState(
            [self.seed, zlib.crc32(str(trial_id).encode())])
        before = getattr(self.gpr, "X_train_", None)
        with warnings.catch_warnings():  # sklearn's warning of the bound: said below
            warnings.simplefilter("ignore", ConvergenceWarning)
            proposal = super().populate_space(trial_id)
        fitted = getattr(self.gpr, "X_train_", None)  # a new array if it fitted now
        if proposal["status"] != "RUNNING" or fitted is before:
            return proposal  # a random start
        if acquisition_spread(self.gpr, self.beta, fitted.shape[1]) < FLAT:
            self._drawn(trial_id, True, f"the Gaussian process fitted to {len(fitted)} "
                        f"trials is flat (length scale "
                        f"{self.gpr.kernel_.length_scale:.2g}), so this trial is a "
                        "random draw, not a guided one")
        known = self._compute_values_hash(proposal["values"])
        earlier = [i for i, h in self._id_to_hash.items() if h == known]
        if earlier:
            proposal = self._random_populate_space()
            runs = proposal["status"] == "RUNNING"
            self._drawn(trial_id, runs, f"the oracle proposed trial "
                        f"{', '.join(earlier)}'s values again; " + (
                            "this trial is a random draw of untried values instead"
                            if runs else "every value of the space has been tried, "
                            "so the search stops"))
        return proposal

    def _drawn(self, trial_id, runs, why):
        if runs and trial_id not in self.random_draws:
            self.random_draws.append(trial_id)
        if self.log:
            self.log(f"  trial {trial_id}: {why}")

    def get_state(self):
        return {**super().get_state(), "random_draws": self.random_draws}

    def set_state(self, state):
        super().set_state(state)
        self.random_draws = list(state.get("random_draws", []))


def make_tuner(config: TuningConfig, hypermodel, directory: str, strategy,
               log: Optional[Callable] = None):
    # Keras Tuner draws a random seed for a falsy one: seed 0 gets a fixed stand-in.
    seed = config.seed if config.seed else 2**31 - 1
    common = dict(objective=keras_tuner.Objective(OBJECTIVE, "max"), seed=seed,
                  directory=directory, project_name="search", overwrite=False,
                  distribution_strategy=strategy)
    if config.tuner == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=config.max_trials,
                                        **common)
    if config.tuner == "bayesian":
        oracle = BayesianOracle(objective=common.pop("objective"),
                                seed=common.pop("seed"), max_trials=config.max_trials,
                                num_initial_points=config.initial_points, log=log)
        return keras_tuner.Tuner(oracle, hypermodel, **common)
    if config.tuner == "grid":
        oracle = GridOracle(objective=common.pop("objective"), seed=common.pop("seed"),
                            max_trials=config.max_trials)
        return keras_tuner.Tuner(oracle, hypermodel, **common)
    return keras_tuner.Hyperband(hypermodel, max_epochs=config.epochs,
                                 factor=config.hyperband_factor, **common)


def settings_changed(config: TuningConfig, recorded: dict) -> list:
    """The settings in which `config` differs from a search's recorded
    tuning_config.json (a setting added to tfaug since reads as its default)."""
    current = config.search_config()
    recorded = {k: v for k, v in cfglib.with_defaults(config, recorded).items()
                if k in current}
    return sorted(k for k in set(recorded) | set(current)
                  if recorded.get(k) != current.get(k))


def check_resumable(config: TuningConfig, out_dir: str) -> None:
    """Records the search's config in out_dir; a different one there is an error."""
    path = os.path.join(out_dir, "tuning_config.json")
    previous = io.read_json(path)
    if previous is not None:
        changed = settings_changed(config, previous)
        if changed:
            raise ConfigError(f"{out_dir} holds a search with other settings "
                              f"({', '.join(changed)} differ): resume it with the same "
                              "settings (only max_trials may change), or use a new "
                              "--out_dir.")
    io.write_json(path, config.search_config())


def write_hparams_config(log_dir: str, space: keras_tuner.HyperParameters) -> None:
    """The HParams dashboard's experiment: each hyperparameter's domain, and the
    metrics to show per trial."""
    from tensorboard.plugins.hparams import api as hparams_api

    def domain(hp):
        config = hp.get_config()
        if "values" in config:
            return hparams_api.Discrete(config["values"])
        if "min_value" in config:
            return hparams_api.RealInterval(float(config["min_value"]),
                                            float(config["max_value"]))
        return hparams_api.Discrete([config["value"]])

    with tf.summary.create_file_writer(log_dir).as_default():
        hparams_api.hparams_config(
            hparams=[hparams_api.HParam(hp.name, domain(hp)) for hp in space.space],
            metrics=[hparams_api.Metric("epoch_accuracy", group="validation",
                                        display_name="validation accuracy"),
                     hparams_api.Metric("epoch_accuracy", group="train",
                                        display_name="training accuracy")])


def trial_rows(tuner) -> list:
    """Every trial (id, status, final validation accuracy, values, and its accuracy
    per seed when scored on several), best first."""
    rows = [{"trial_id": t.trial_id, "status": t.status, OBJECTIVE: t.score,
             "values": dict(t.hyperparameters.values), **_per_seed(t)}
            for t in tuner.oracle.trials.values()]
    return sorted(rows, key=lambda r: (r[OBJECTIVE] is None, -(r[OBJECTIVE] or 0),
                                       r["trial_id"]))


def _per_seed(trial) -> dict:
    prefix = OBJECTIVE + "_seed"
    seeds = {int(name[len(prefix):]): trial.metrics.get_last_value(name)
             for name in trial.metrics.metrics if name.startswith(prefix)}
    return {"seeds": dict(sorted(seeds.items()))} if seeds else {}


def retrain_best(best_config, out_dir: str, splits, strategy, verbose: int) -> dict:
    """Trains the best values once more (all epochs) and evaluates them on the test
    split; a finished retraining of the same values is reused."""
    report = io.read_json(os.path.join(out_dir, "report.json"))
    if report is not None and report.get("config") == cfglib.to_dict(best_config):
        return report
    return train_classifier(best_config, out_dir, splits, strategy, verbose=verbose)


def _seed_datasets(config: TuningConfig, full, test,
                   latent_models) -> Optional[Callable]:
    """seed -> (training, validation) datasets of the config trained with that seed
    (carved from the training split `full`), for trials scored on several seeds;
    None for one seed. Built once per seed, as the first seed's are: every trial
    iterates them from their start, and cached latents (an unlabelled pool's take
    a minute) are encoded once per search, not once per trial."""
    if config.trial_seeds == 1:
        return None

    @functools.cache
    def datasets(seed):
        seeded = dataclasses.replace(config, seed=seed)
        return fit_datasets(seeded, load_splits(seeded, full, test), latent_models)
    return datasets


def search_role() -> str:
    """"chief", "worker" or "single", from Keras Tuner's distributed-search variables:
    KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT (the chief's address) and
    KERASTUNER_TUNER_ID ("chief" for the process that serves the oracle, any other
    unique id for a worker)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
               if v not in os.environ]
    if missing:
        raise ConfigError(f"KERASTUNER_ORACLE_IP is set but {', '.join(missing)} is not: "
                          "a distributed search needs all three variables.")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def tune(config: TuningConfig, out_dir: str, log: Callable = print, verbose: int = 2,
         callbacks=(), splits=None, after_trial: Optional[Callable[[], None]] = None
         ) -> dict:
    """Runs (or resumes) the search, retrains the best values if asked, writes the
    summary; returns it. `callbacks` are extra Keras callbacks for every trial;
    `after_trial()` is called once each trial's record is saved (e.g. to copy it
    somewhere that outlives the machine).

    In a distributed search (see `search_role`) the chief serves the oracle until the
    workers have run every trial, then writes the summary; a worker runs trials and
    returns {"worker": its id}."""
    config.validate()
    role = search_role()
    io.prepare_out_dir(out_dir)
    if role != "worker":
        check_resumable(config, out_dir)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        latent_models = load_latent_models(config)
    if role != "worker":
        provenance.check(out_dir, inputs(config, splits), OTHER_INPUTS)
    # the training split, loaded once: the first seed's splits and any other seed's
    full = config.load("train") if splits is None or config.trial_seeds > 1 else None
    splits = splits or load_splits(config, full)
    steps = steps_per_epoch(config, len(splits.train))
    hypermodel = MethodHyperModel(config, latent_models, splits.train.info,
                                  steps * config.epochs, len(splits.train),
                                  _seed_datasets(config, full, splits.test,
                                                 latent_models), log)
    tuner = make_tuner(config, hypermodel, out_dir, strategy, log)
    run_trial = tuner.run_trial

    def run_trial_in_its_dir(trial, *args, **kwargs):
        hypermodel.trial_dir = tuner.get_trial_dir(trial.trial_id)
        return run_trial(trial, *args, **kwargs)
    tuner.run_trial = run_trial_in_its_dir  # each seed's backup and score go there
    if after_trial is not None:
        end_trial = tuner.on_trial_end

        def on_trial_end(trial):
            end_trial(trial)  # the oracle records the trial and saves its state
            after_trial()
        tuner.on_trial_end = on_trial_end
    log_dir = os.path.join(out_dir, "tensorboard")
    if role != "worker":
        write_hparams_config(log_dir, tuner.oracle.hyperparameters)
    if role == "chief":
        log(f"serving the {config.tuner} search of {config.augmentation} on "
            f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
            " until the workers have run its trials")
        tuner.search()
    else:
        train_ds, val_ds = fit_datasets(config, splits, latent_models)
        log(f"searching {config.augmentation} with {config.tuner} ({len(splits.train)} "
            f"labelled training images, {len(splits.val)} for validation); TensorBoard: "
            f"{log_dir}")
        tuner.search(train_ds, validation_data=val_ds, epochs=config.epochs,
                     steps_per_epoch=steps, shuffle=False, verbose=verbose,
                     callbacks=[keras.callbacks.TensorBoard(log_dir), *callbacks])
    if role == "worker":
        log(f"worker {tuner.tuner_id}: no trials left; the chief writes the summary")
        return {"worker": tuner.tuner_id}
    rows = trial_rows(tuner)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best_config = trial_config(config, best_hp)
    best = {"values": dict(best_hp.values), "augmentation": best_config.augmentation,
            "lr": best_config.lr, OBJECTIVE: rows[0][OBJECTIVE]}
    if config.retrain_best:
        log(f"best: {best_config.augmentation}, lr {best_config.lr:g}: retraining it and "
            "evaluating once on the test split")
        report = retrain_best(best_config, os.path.join(out_dir, "best"), splits,
                              strategy, verbose)
        best.update(val_accuracy=report["val_accuracy"],
                    test_accuracy=report["test_accuracy"],
                    report=os.path.join(out_dir, "best", "report.json"))
    summary = {
        "tuner": config.tuner, "objective": OBJECTIVE, "augmentation": config.augmentation,
        "labels_per_class": config.labels_per_class, "label_fraction":
            config.label_fraction, "search_space": [
                {"class": type(hp).__name__, **hp.get_config()}
                for hp in tuner.oracle.hyperparameters.space],
        "trials": rows, "best": best, "log_dir": log_dir,
        "config": cfglib.to_dict(config), "versions": io.versions(),
    }
    io.write_json(os.path.join(out_dir, "summary.json"), summary)
    io.write_atomic(os.path.join(out_dir, "summary.md"), markdown(summary).encode())
    return summary


OTHER_INPUTS = ("Its finished trials would stand for trials on these: resume it with "
                "the inputs it began with, or search in another --out_dir.")


def inputs(config: TuningConfig, splits: Optional[Splits] = None) -> dict:
    """The digests of what a search reads (tfaug.provenance): its config's data, or
    the `splits` it was given."""
    if splits is None:
        return provenance.of_config(config, config.augmentation)
    return provenance.of_splits(config, splits)


def markdown(summary: dict) -> str:
    names = [hp["name"] for hp in summary["search_space"]]
    lines = [f"# Search: {summary['augmentation']} ({summary['tuner']})", "",
             f"Objective: {summary['objective']} of the final weights (validation split "
             "carved from the training set; the test split is used at most once, for "
             "the retrained best values). Trials sorted best first.", "",
             "| rank | trial | " + " | ".join(names) + " | val accuracy | status |",
             "|---" * (len(names) + 4) + "|"]
    for rank, row in enumerate(summary["trials"], 1):
        score = "-" if row[OBJECTIVE] is None else f"{100 * row[OBJECTIVE]:.2f}%"
        cells = [_show(row["values"].get(n)) for n in names]
        lines.append(f"| {rank} | {row['trial_id']} | " + " | ".join(cells) +
                     f" | {score} | {row['status']} |")
    best = summary["best"]
    lines += ["", f"Chosen: `{best['augmentation']}`, lr {best['lr']:g}."]
    if "test_accuracy" in best:
        lines[-1] += (f" Retrained: validation {100 * best['val_accuracy']:.2f}%, test "
                      f"{100 * best['test_accuracy']:.2f}%.")
    lines += ["", f"TensorBoard (scalars per trial, HParams tab): `tensorboard --logdir "
                  f"{summary['log_dir']}`", ""]
    return "\n".join(lines)


def _show(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
