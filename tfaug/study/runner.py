"""Running a study: one classifier per (labels per class, method, seed), all with the
same model, schedule and data, evaluated on the full test split.

Each run is an ordinary `train_classifier` run in its own directory; a finished run
(a valid report.json) is skipped when the study is re-run, an interrupted one resumes
from its Keras backup. After every run the outputs are rewritten (tfaug.study.report).
"""

import dataclasses
import json
import os
import time
from typing import Callable, List, Optional, Tuple

import numpy as np

from tfaug import config as cfglib
from tfaug import flows
from tfaug.augment import registry
from tfaug.errors import ConfigError
from tfaug.study.report import write_outputs
from tfaug.trainers.classifier import (ClassifierTrainConfig, load_splits, make_strategy,
                            train_classifier)

field = cfglib.field
# Flow presets (hparams/) for datasets that ship no flow, by image shape.
FLOW_PRESETS = {(28, 28, 1): "fashion_mnist_glow", (32, 32, 3): "cifar10_glow_cpu"}
MEASURED_FLOW_IMAGES_PER_SECOND = 300  # benchmarks/flow_throughput.py, 2 CPU cores


@dataclasses.dataclass(frozen=True)
class StudyConfig(ClassifierTrainConfig):
    """A classifier config (model, schedule, augmentation parameters) shared by every
    run, plus the grid: budgets x methods x seeds."""
    budgets: Tuple[int, ...] = field((10, 50, 250), "Labelled examples per class, one "
                                                    "budget per point of the plot.")
    methods: Tuple[str, ...] = field(("none", "standard", "latent_random",
                                      "latent_adversarial"),
                                     "Augmentations to compare (names or '+' chains, "
                                     "as --augmentation of train_classifier).")
    seeds: int = field(3, "Seeds per (budget, method): seeds seed..seed+seeds-1 "
                          "(each draws its own labelled subset and initialisation).")
    flow_preset: Optional[str] = field(None, "Flow preset (hparams/) trained first when "
                                             "the dataset ships no flow and --flow is "
                                             "not given (default: by image shape).")
    notes: str = field("", "Free text for the report, e.g. how eps was chosen.")

    def validate(self):
        if self.labels_per_class is not None or self.label_fraction is not None:
            raise ConfigError("A study sets labels per class from --budgets; do not "
                              "set labels_per_class or label_fraction.")
        if not self.budgets or min(self.budgets) < 1:
            raise ConfigError(f"budgets must be integers >= 1, got {self.budgets}.")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"methods must be distinct and non-empty, got "
                              f"{self.methods}.")
        if self.seeds < 1:
            raise ConfigError("seeds must be >= 1.")
        for method in self.methods:
            self.run_config(self.budgets[0], method, self.seed)
        return self

    def run_config(self, budget: int, method: str, seed: int) -> ClassifierTrainConfig:
        """The classifier config of one run (validated)."""
        return cfglib.narrow(ClassifierTrainConfig, self, labels_per_class=budget,
                             augmentation=method, seed=seed)

    def grid(self) -> List[Tuple[int, str, int]]:
        return [(b, m, self.seed + s) for s in range(self.seeds) for b in self.budgets
                for m in self.methods]


def run_dir(out_dir: str, budget: int, method: str, seed: int) -> str:
    return os.path.join(out_dir, "runs", f"lpc{budget}", method, f"seed{seed}")


def finished_row(directory: str, budget: int, method: str, seed: int, log) -> dict:
    """The result row of a finished run, or None if it has not finished. A corrupt
    report is reported and moved aside (the run is then done again)."""
    path = os.path.join(directory, "report.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            report = json.load(f)
        return row(report, budget, method, seed)
    except (ValueError, KeyError, TypeError) as e:
        os.replace(path, path + ".corrupt")
        log(f"corrupt result {path} ({type(e).__name__}: {e}); moved to "
            f"{path}.corrupt, running it again")
        return None


def row(report: dict, budget: int, method: str, seed: int) -> dict:
    config = report["config"]
    if (config["labels_per_class"], config["augmentation"], config["seed"]) != (
            budget, method, seed):
        raise ValueError(f"it belongs to another run ({config['labels_per_class']}, "
                         f"{config['augmentation']}, {config['seed']})")
    return {"labels_per_class": budget, "method": method, "seed": seed,
            "val_accuracy": float("nan") if report["val_accuracy"] is None
            else float(report["val_accuracy"]),
            "test_accuracy": float(report["test_accuracy"]),
            "wall_time_s": float(report["wall_time_s"]),
            "train_size": int(report["sizes"]["train"]),
            "optimizer_steps": int(report["optimizer_steps"])}


def ensure_flow(config: StudyConfig, out_dir: str, full, test, log) -> StudyConfig:
    """The config with a flow for its latent methods: --flow, the shipped one, or
    (when neither exists) one trained now into out_dir/flow."""
    if config.flow or not any(registry.needs_flow(m) for m in config.methods):
        return config
    try:
        flows.pretrained(config.dataset)
        return config
    except flows.CheckpointError:
        pass
    from tfaug.trainers.flow import FlowTrainConfig, FlowTrainer
    shape = tuple(full.info.image_shape)
    preset = config.flow_preset or FLOW_PRESETS.get(shape)
    if preset is None:
        raise ConfigError(f"No flow ships for {config.dataset} and no flow preset fits "
                          f"{shape} images: train one with bin/train_flow.py "
                          "--export_dir=DIR and pass --flow=DIR (or --flow_preset).")
    flow_config = cfglib.load(FlowTrainConfig, preset, {
        "dataset": config.dataset, "data_dir": config.data_dir,
        "tfds_data_dir": config.tfds_data_dir, "manual_dir": config.manual_dir})
    export_dir = os.path.join(out_dir, "flow", "export")
    if not os.path.isdir(export_dir):
        minutes = flow_config.train_steps * flow_config.batch_size / (
            60 * MEASURED_FLOW_IMAGES_PER_SECOND)
        log(f"No flow ships for {config.dataset}: training one first with preset "
            f"{preset} ({flow_config.train_steps} steps, about {minutes:.0f} min on 2 "
            f"CPU cores; resumable) in {os.path.join(out_dir, 'flow')}.")
        trainer = FlowTrainer(flow_config, os.path.join(out_dir, "flow"), full, test)
        report = trainer.fit(log=log)
        flows.save(trainer.glow, export_dir, report)
    return dataclasses.replace(config, flow=export_dir)


def run_study(config: StudyConfig, out_dir: str, log: Callable = print) -> List[dict]:
    """Runs every (budget, method, seed) not yet finished; returns all rows."""
    config.validate()
    full, test = config.load("train"), config.load("test")
    config = ensure_flow(config, out_dir, full, test, log)
    strategy = make_strategy(config.strategy)
    grid, rows, timings = config.grid(), [], []
    done = {key: finished_row(run_dir(out_dir, *key), *key, log) for key in grid}
    pending = sum(result is None for result in done.values())
    log(f"study: {len(config.budgets)} budgets x {len(config.methods)} methods x "
        f"{config.seeds} seeds = {len(grid)} runs in {out_dir}, {pending} to run")
    for i, (budget, method, seed) in enumerate(grid, 1):
        result = done[budget, method, seed]
        if result is None:
            run_config = config.run_config(budget, method, seed)
            started = time.time()
            report = train_classifier(run_config, run_dir(out_dir, budget, method, seed),
                                      load_splits(run_config, full, test),
                                      strategy, verbose=0)
            timings.append(time.time() - started)
            result = row(report, budget, method, seed)
            status = f"test {result['test_accuracy']:.4f} ({timings[-1]:.0f} s)"
        else:
            status = f"test {result['test_accuracy']:.4f} (done before, skipped)"
        rows.append(result)
        write_outputs(out_dir, rows, config)
        eta = np.mean(timings) * (pending - len(timings)) if timings else 0.0
        log(f"[{i}/{len(grid)}] {progress_bar(i, len(grid))} lpc={budget} {method} "
            f"seed={seed}: {status}; ETA {eta / 60:.1f} min")
    return rows


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"
