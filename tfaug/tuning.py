"""Searching the latent augmentation's strength with Keras Tuner.

EpsilonHyperModel builds a config's augmented classifier with eps (log scale) and,
for the adversarial variant, alpha (a fraction of eps) and PGD steps, plus the norm and
the ratio, drawn from the search space the config declares. `tune` runs the search
(objective: accuracy on a validation split carved from the training set), resumes it
from its directory, retrains the best values, evaluates them once on the test split,
and writes summary.json and summary.md. Every trial logs TensorBoard scalars and its
hyperparameters (the HParams dashboard) under out_dir/tensorboard.
"""

import dataclasses
import json
import os
from typing import Callable, Tuple

import keras
import keras_tuner
import tensorflow as tf

from tfaug import config as cfglib
from tfaug import io
from tfaug.augment import registry
from tfaug.errors import ConfigError
from tfaug.trainers.classifier import (ClassifierTrainConfig, compile_classifier, fit_datasets,
                            load_latent_models, load_splits, make_strategy, steps_per_epoch,
                            train_classifier)

field = cfglib.field
TUNERS = ("random", "bayesian", "hyperband")
NORMS = ("l2", "linf")
OBJECTIVE = "val_accuracy"


@dataclasses.dataclass(frozen=True)
class TuningConfig(ClassifierTrainConfig):
    """A classifier config whose latent augmentation parameters (eps, alpha,
    attack_steps, norm, ratio) are searched instead of set."""
    tuner: str = field("bayesian", "Search algorithm: random, bayesian or hyperband.")
    max_trials: int = field(10, "Trials to run (random and bayesian; hyperband sizes "
                                "its brackets from epochs and hyperband_factor).")
    hyperband_factor: int = field(3, "hyperband: reduction factor between rounds.")
    eps_min: float = field(0.1, "Smallest latent eps searched (log scale).")
    eps_max: float = field(4.0, "Largest latent eps searched (log scale).")
    alpha_fraction_min: float = field(0.25, "latent_adversarial: smallest PGD step, as "
                                            "a fraction of eps.")
    alpha_fraction_max: float = field(1.0, "latent_adversarial: largest PGD step, as a "
                                           "fraction of eps.")
    steps_choices: Tuple[int, ...] = field((1,), "latent_adversarial: PGD step counts "
                                                 "to choose from.")
    norm_choices: Tuple[str, ...] = field(("l2",), "Latent ball norms to choose from "
                                                   "(l2, linf).")
    ratio_min: float = field(1.0, "Smallest share of each batch that is perturbed.")
    ratio_max: float = field(1.0, "Largest share of each batch that is perturbed.")

    def validate(self):
        super().validate()
        if self.tuner not in TUNERS:
            raise ConfigError(f"Unknown tuner {self.tuner!r}; choose one of "
                              f"{', '.join(TUNERS)}.")
        if not latent_part(self.augmentation):
            raise ConfigError(f"Nothing to tune in augmentation {self.augmentation!r}: "
                              "it must include a latent one (latent_random, "
                              "latent_adversarial, vaegan_random or "
                              "vaegan_adversarial).")
        if self.eps_min <= 0:
            raise ConfigError(f"eps_min must be > 0 (eps is searched on a log scale), "
                              f"got {self.eps_min}.")
        for name, low, high in (("eps", self.eps_min, self.eps_max),
                                ("alpha_fraction", self.alpha_fraction_min,
                                 self.alpha_fraction_max),
                                ("ratio", self.ratio_min, self.ratio_max)):
            if low > high:
                raise ConfigError(f"{name}_min ({low}) is larger than {name}_max "
                                  f"({high}).")
        if self.alpha_fraction_min <= 0:
            raise ConfigError("alpha_fraction_min must be > 0.")
        if not 0 < self.ratio_min <= self.ratio_max <= 1:
            raise ConfigError("ratio_min and ratio_max must lie in (0, 1].")
        if not self.steps_choices or min(self.steps_choices) < 1:
            raise ConfigError(f"steps_choices must be PGD step counts >= 1, got "
                              f"{self.steps_choices}.")
        if not self.norm_choices or set(self.norm_choices) - set(NORMS):
            raise ConfigError(f"norm_choices must be taken from {', '.join(NORMS)}, "
                              f"got {self.norm_choices}.")
        if self.max_trials < 1 or self.hyperband_factor < 2:
            raise ConfigError("max_trials must be >= 1 and hyperband_factor >= 2.")
        if self.val_per_class < 1:
            raise ConfigError("val_per_class must be >= 1: the objective is accuracy on "
                              "the validation split.")
        return self

    def search_config(self) -> dict:
        """What must stay the same for a search to be resumed."""
        return {k: v for k, v in cfglib.to_dict(self).items() if k != "max_trials"}


def latent_part(augmentation: str) -> str:
    """The latent augmentation in a '+' chain ('' if there is none)."""
    parts = [p.strip() for p in augmentation.split("+")]
    return next((p for p in parts if p in registry.LATENT_MODEL), "")


def declare(hp: keras_tuner.HyperParameters, config: TuningConfig) -> dict:
    """Declares the config's search space in `hp`; returns this trial's values as
    classifier config fields."""

    def real(name, low, high, sampling="linear"):
        return hp.Fixed(name, low) if low == high else hp.Float(name, low, high,
                                                                 sampling=sampling)

    def choice(name, values):
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name,
                                                                            values)

    values = {"eps": real("eps", config.eps_min, config.eps_max, "log")}
    if latent_part(config.augmentation).endswith("_adversarial"):
        values["alpha"] = values["eps"] * real("alpha_fraction", config.alpha_fraction_min,
                                               config.alpha_fraction_max)
        values["attack_steps"] = choice("attack_steps", list(config.steps_choices))
    values["norm"] = choice("norm", list(config.norm_choices))
    values["ratio"] = real("ratio", config.ratio_min, config.ratio_max)
    return values


def trial_config(config: TuningConfig, hp: keras_tuner.HyperParameters):
    """The classifier config of the trial whose values are in `hp`."""
    return cfglib.narrow(ClassifierTrainConfig, config, **declare(hp, config))


class EpsilonHyperModel(keras_tuner.HyperModel):
    """Builds the compiled augmented classifier of one trial over the shared, frozen
    latent models; every trial starts from the same initial weights (seeded by the
    config)."""

    def __init__(self, config: TuningConfig, latent_models: dict, info,
                 total_steps: int):
        super().__init__(name="augmented_classifier")
        self.config, self.latent_models, self.info = config, latent_models, info
        self.total_steps = total_steps

    def build(self, hp):
        keras.utils.set_random_seed(self.config.seed)
        return compile_classifier(trial_config(self.config, hp), self.latent_models,
                                  self.info, self.total_steps)


def make_tuner(config: TuningConfig, hypermodel, directory: str, strategy):
    common = dict(objective=keras_tuner.Objective(OBJECTIVE, "max"), seed=config.seed,
                  directory=directory, project_name="search", overwrite=False,
                  distribution_strategy=strategy)
    if config.tuner == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=config.max_trials,
                                        **common)
    if config.tuner == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel,
                                                max_trials=config.max_trials, **common)
    return keras_tuner.Hyperband(hypermodel, max_epochs=config.epochs,
                                 factor=config.hyperband_factor, **common)


def check_resumable(config: TuningConfig, out_dir: str) -> None:
    """Records the search's config in out_dir; a different one there is an error."""
    path = os.path.join(out_dir, "tuning_config.json")
    if os.path.exists(path):
        with open(path) as f:
            previous = json.load(f)
        changed = sorted(k for k in set(previous) | set(config.search_config())
                         if previous.get(k) != config.search_config().get(k))
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
    """Every trial (id, status, best validation accuracy, values), best first."""
    rows = [{"trial_id": t.trial_id, "status": t.status, OBJECTIVE: t.score,
             "values": dict(t.hyperparameters.values)}
            for t in tuner.oracle.trials.values()]
    return sorted(rows, key=lambda r: (r[OBJECTIVE] is None, -(r[OBJECTIVE] or 0),
                                       r["trial_id"]))


def retrain_best(config: TuningConfig, best_hp, out_dir: str, splits, strategy,
                 verbose: int) -> dict:
    """Trains the best values once more (all epochs) and evaluates them on the test
    split; a finished retraining of the same values is reused."""
    best_config = trial_config(config, best_hp)
    path = os.path.join(out_dir, "report.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                report = json.load(f)
            if report["config"] == cfglib.to_dict(best_config):
                return report
        except (ValueError, KeyError):
            pass  # incomplete or another run: train again
    return train_classifier(best_config, out_dir, splits, strategy, verbose=verbose)


def tune(config: TuningConfig, out_dir: str, log: Callable = print, verbose: int = 2,
         callbacks=()) -> dict:
    """Runs (or resumes) the search, retrains the best values, writes the summary;
    returns it. `callbacks` are extra Keras callbacks for every trial."""
    config.validate()
    os.makedirs(out_dir, exist_ok=True)
    check_resumable(config, out_dir)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        latent_models = load_latent_models(config)
    splits = load_splits(config)
    steps = steps_per_epoch(config, len(splits.train))
    hypermodel = EpsilonHyperModel(config, latent_models, splits.train.info,
                                   steps * config.epochs)
    tuner = make_tuner(config, hypermodel, out_dir, strategy)
    log_dir = os.path.join(out_dir, "tensorboard")
    write_hparams_config(log_dir, tuner.oracle.hyperparameters)
    train_ds, val_ds = fit_datasets(config, splits)
    log(f"searching {config.augmentation} with {config.tuner} ({len(splits.train)} "
        f"labelled training images, {len(splits.val)} for validation); TensorBoard: "
        f"{log_dir}")
    tuner.search(train_ds, validation_data=val_ds, epochs=config.epochs,
                 steps_per_epoch=steps, shuffle=False, verbose=verbose,
                 callbacks=[keras.callbacks.TensorBoard(log_dir), *callbacks])
    rows = trial_rows(tuner)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    log(f"best values {dict(best_hp.values)}: retraining them and evaluating once on "
        "the test split")
    best = retrain_best(config, best_hp, os.path.join(out_dir, "best"), splits,
                        strategy, verbose)
    summary = {
        "tuner": config.tuner, "objective": OBJECTIVE, "augmentation": config.augmentation,
        "labels_per_class": config.labels_per_class, "label_fraction":
            config.label_fraction, "search_space": [
                {"class": type(hp).__name__, **hp.get_config()}
                for hp in tuner.oracle.hyperparameters.space],
        "trials": rows,
        "best": {"values": dict(best_hp.values), "config_values": declare(best_hp, config),
                 "val_accuracy": best["val_accuracy"],
                 "test_accuracy": best["test_accuracy"],
                 "report": os.path.join(out_dir, "best", "report.json")},
        "log_dir": log_dir, "config": cfglib.to_dict(config), "versions": io.versions(),
    }
    io.write_json(os.path.join(out_dir, "summary.json"), summary)
    io.write_atomic(os.path.join(out_dir, "summary.md"), markdown(summary).encode())
    return summary


def markdown(summary: dict) -> str:
    names = [hp["name"] for hp in summary["search_space"]]
    lines = [f"# Epsilon search: {summary['augmentation']} ({summary['tuner']})", "",
             f"Objective: {summary['objective']} (validation split carved from the "
             "training set; the test split is used once, for the retrained best "
             "values). Trials sorted best first.", "",
             "| rank | trial | " + " | ".join(names) + " | val accuracy | status |",
             "|---" * (len(names) + 4) + "|"]
    for rank, row in enumerate(summary["trials"], 1):
        score = "-" if row[OBJECTIVE] is None else f"{100 * row[OBJECTIVE]:.2f}%"
        cells = [_show(row["values"].get(n)) for n in names]
        lines.append(f"| {rank} | {row['trial_id']} | " + " | ".join(cells) +
                     f" | {score} | {row['status']} |")
    best = summary["best"]
    lines += ["", "Chosen: " + ", ".join(f"{k}={_show(v)}" for k, v in
                                         best["config_values"].items()) +
              f". Retrained: validation {100 * best['val_accuracy']:.2f}%, test "
              f"{100 * best['test_accuracy']:.2f}%.", "",
              f"TensorBoard (scalars per trial, HParams tab): `tensorboard --logdir "
              f"{summary['log_dir']}`", ""]
    return "\n".join(lines)


def _show(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
