"""Low-data studies: one classifier per (labels per class, method, seed), all with the
same model, schedule and data, evaluated on the full test split.

Each run is an ordinary `train_classifier` run in its own directory; a finished run
(a valid report.json) is skipped when the study is re-run, an interrupted one resumes
from its Keras backup. After every run the study rewrites, atomically, results.csv and
results.json (one row per run), report.md (computed from results.csv alone) and
accuracy.png.
"""

import csv
import dataclasses
import io as _io
import json
import os
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from tfaug import config as cfglib
from tfaug import flows, io
from tfaug.augment import registry
from tfaug.errors import ConfigError
from tfaug.training import (ClassifierTrainConfig, load_splits, make_strategy,
                            train_classifier)

field = cfglib.field
COLUMNS = ("labels_per_class", "method", "seed", "val_accuracy", "test_accuracy",
           "wall_time_s", "train_size", "optimizer_steps")
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
        values = {name: getattr(self, name) for name in cfglib.fields(
            ClassifierTrainConfig)}
        values.update(labels_per_class=budget, augmentation=method, seed=seed)
        return ClassifierTrainConfig(**values).validate()

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
    from tfaug.flows.trainer import FlowTrainConfig, FlowTrainer
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
    log(f"study: {len(config.budgets)} budgets x {len(config.methods)} methods x "
        f"{config.seeds} seeds = {len(grid)} runs in {out_dir}")
    for i, (budget, method, seed) in enumerate(grid, 1):
        directory = run_dir(out_dir, budget, method, seed)
        result = finished_row(directory, budget, method, seed, log)
        if result is None:
            run_config = config.run_config(budget, method, seed)
            started = time.time()
            report = train_classifier(run_config, directory,
                                      load_splits(run_config, full, test),
                                      strategy, verbose=0)
            timings.append(time.time() - started)
            result = row(report, budget, method, seed)
            status = f"test {result['test_accuracy']:.4f} ({timings[-1]:.0f} s)"
        else:
            status = f"test {result['test_accuracy']:.4f} (done before, skipped)"
        rows.append(result)
        write_outputs(out_dir, rows, config)
        eta = np.mean(timings) * (len(grid) - i) if timings else 0.0
        log(f"[{i}/{len(grid)}] {progress_bar(i, len(grid))} lpc={budget} {method} "
            f"seed={seed}: {status}; ETA {eta / 60:.1f} min")
    return rows


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


# -- outputs --------------------------------------------------------------------------
def write_outputs(out_dir: str, rows: List[dict], config: StudyConfig) -> None:
    """results.csv, results.json, report.md (from results.csv) and accuracy.png."""
    rows = sorted(rows, key=lambda r: (r["labels_per_class"], r["method"], r["seed"]))
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = os.path.join(out_dir, "results.csv")
    io.write_atomic(csv_path, buffer.getvalue().encode())
    io.write_json(os.path.join(out_dir, "results.json"),
                  {"config": cfglib.to_dict(config), "rows": rows})
    table = summarize(read_rows(csv_path))
    io.write_atomic(os.path.join(out_dir, "report.md"),
                    markdown_report(table, config).encode())
    io.write_atomic(os.path.join(out_dir, "accuracy.png"), plot(table, config))


def read_rows(csv_path: str) -> List[dict]:
    with open(csv_path, newline="") as f:
        return [{**r, "labels_per_class": int(r["labels_per_class"]),
                 "seed": int(r["seed"]), "test_accuracy": float(r["test_accuracy"]),
                 "val_accuracy": float(r["val_accuracy"])} for r in csv.DictReader(f)]


def summarize(rows: List[dict]) -> Dict[Tuple[str, int], dict]:
    """{(method, budget): {mean, std, n}} of test accuracy (sample std; 0 if n=1)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["method"], r["labels_per_class"]), []).append(
            r["test_accuracy"])
    return {key: {"mean": float(np.mean(v)), "n": len(v),
                  "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
            for key, v in groups.items()}


def relative_gain(table, method: str, baseline: str, budget: int):
    """Relative test-accuracy improvement of `method` over `baseline`, in percent."""
    a, b = table.get((method, budget)), table.get((baseline, budget))
    return None if a is None or b is None else 100.0 * (a["mean"] - b["mean"]) / b["mean"]


def _methods_and_budgets(table, config):
    methods = [m for m in config.methods if any(k[0] == m for k in table)]
    budgets = sorted({k[1] for k in table})
    return methods, budgets


def markdown_report(table, config: StudyConfig) -> str:
    methods, budgets = _methods_and_budgets(table, config)
    head = "| method | " + " | ".join(f"{b} labels/class" for b in budgets) + " |"
    rule = "|---|" + "---|" * len(budgets)
    lines = [f"# Low-data study: {config.dataset}, {config.model} "
             f"(width {config.model_width:g})", "",
             f"Test accuracy (%) on the full test split, mean ± std over seeds (n per "
             f"cell in brackets); {config.epochs} epochs x "
             f"{config.steps_per_epoch or 'one pass'} steps of batch "
             f"{config.batch_size}, {config.schedule} lr {config.lr:g}. Latent "
             f"methods: eps {config.eps:g}, alpha {config.alpha:g}, "
             f"{config.attack_steps} attack steps, {config.norm} ball, ratio "
             f"{config.ratio:g}. All numbers are computed from results.csv.", "",
             head, rule]
    for m in methods:
        cells = []
        for b in budgets:
            s = table.get((m, b))
            cells.append(f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f} ({s['n']})"
                         if s else "—")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for baseline in ("none", "standard"):
        if baseline not in methods:
            continue
        lines += ["", f"Relative improvement over `{baseline}` (%, of mean test "
                      "accuracy):", "", head, rule]
        for m in methods:
            if m == baseline:
                continue
            gains = [relative_gain(table, m, baseline, b) for b in budgets]
            lines.append(f"| {m} | " + " | ".join(
                "—" if g is None else f"{g:+.2f}" for g in gains) + " |")
    if config.notes:
        lines += ["", config.notes]
    return "\n".join(lines) + "\n"


def plot(table, config: StudyConfig) -> bytes:
    """PNG bytes: test accuracy vs labels per class, one line per method."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    methods, budgets = _methods_and_budgets(table, config)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for m in methods:
        points = [(b, table[(m, b)]) for b in budgets if (m, b) in table]
        ax.errorbar([b for b, _ in points], [100 * s["mean"] for _, s in points],
                    yerr=[100 * s["std"] for _, s in points], marker="o", capsize=3,
                    label=m)
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{config.dataset}: {config.model}, mean ± std over seeds")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
