"""Running a study: one classifier per (labels per class, method, seed), all with the
same model, schedule and data, evaluated on the full test split.

Each method's parameters (and the learning rate) come from a tuned.json written by
bin/tune_methods.py (`tuned`), or else from its spec as written. After the main grid,
optional extra runs: the main comparison repeated with a larger classifier (capacity),
and `none` trained for as long as the best latent method took (matched compute).

Each run is an ordinary `train_classifier` run in its own directory; a finished run
(a valid report.json) is skipped when the study is re-run, an interrupted one resumes
from its Keras backup. A study moved to another machine goes on from the results.json
it committed (`earlier`): its rows stand for the runs whose settings they match; or,
simpler, from its record (tfaug.study.records) kept in `publish_dir`. After every run
the outputs are rewritten (tfaug.study.report), and the record published.
"""

import collections
import dataclasses
import math
import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tfaug import config as cfglib
from tfaug import flows, io, provenance
from tfaug.augment import registry
from tfaug.augment.spec import named
from tfaug.errors import ConfigError
from tfaug.study import records
from tfaug.study.convergence import last_quarter
from tfaug.study.flows import (attribution_flow, attribution_flows, flow_name,
                               flow_specs, has_trained_flow, train_flow, variant)
from tfaug.study.report import best_latent, mean_seconds, write_outputs
from tfaug.study.rows import CAPACITY, MAIN, MATCHED
from tfaug.trainers.classifier import divergence, load_splits, train_classifier
from tfaug.trainers.distribution import make_strategy
from tfaug.trainers.grid import BudgetGrid
from tfaug.tuning.methods import read_tuned

field = cfglib.field
BEST_LATENT = "best_latent"


@dataclasses.dataclass(frozen=True)
class StudyConfig(BudgetGrid):
    """Classifier settings shared by every run, plus the grid: budgets x methods x
    seeds, and the optional capacity and matched-compute runs."""
    methods: Tuple[str, ...] = field(("none", "standard", "latent_random",
                                      "latent_adversarial"),
                                     "Augmentation specs to compare (as --augmentation "
                                     "of train_classifier); with --tuned, method names "
                                     "whose values the tuned file gives, and parameters "
                                     "written here set on top (e.g. 'la_free: "
                                     "latent_adversarial(free=true)').")
    seeds: Tuple[int, ...] = field((3,), "Seeds per budget (one number: every budget); "
                                         "seeds seed, seed+1, ...: each draws its own "
                                         "labelled subset and initialisation.")
    tuned: Optional[str] = field(None, "tuned.json of bin/tune_methods.py: every "
                                       "method's parameters and the learning rate, per "
                                       "budget (relative paths from the project root).")
    capacity_model: Optional[str] = field(None, "A larger classifier to repeat "
                                                "capacity_methods with (e.g. small_cnn "
                                                "with capacity_width 4).")
    capacity_width: float = field(1.0, "Width multiplier of capacity_model.")
    capacity_budgets: Tuple[int, ...] = field((), "Budgets of the capacity runs.")
    capacity_seeds: Optional[int] = field(None, "Seeds of the capacity runs per budget "
                                                "(the first ones of the main grid; "
                                                "None: all of them).")
    capacity_methods: Tuple[str, ...] = field(("none", "standard", BEST_LATENT),
                                              "Methods of the capacity runs; "
                                              "best_latent: the latent method with the "
                                              "best mean validation accuracy at that "
                                              "budget in the main grid.")
    matched_compute: bool = field(False, "Also train none for as long (training "
                                         "seconds) as best_latent took, per budget.")
    flow_data: Dict[str, str] = field({}, "Attribution flows, {name: 'images:preset'} "
                                          "(or {images: preset}), images one of "
                                          "labelled (each seed's labelled and "
                                          "validation images), unlabelled (the "
                                          "training split without any study seed's "
                                          "validation images) or all (the whole "
                                          "training split, e.g. with a shorter "
                                          "preset); flow_data_methods are run again "
                                          "with each.")
    flow_data_methods: Tuple[str, ...] = field((), "Latent methods (labels) run again "
                                                   "with each flow_data flow.")
    flow_data_budgets: Tuple[int, ...] = field((), "Budgets of those runs (every seed "
                                                   "of the budget).")
    primary_method: Optional[str] = field(None, "The comparison declared primary before "
                                                "the runs: this method against "
                                                "primary_baseline at primary_budget "
                                                "(reported unadjusted; every other "
                                                "comparison "
                                                "Holm-adjusted).")
    primary_budget: Optional[int] = field(None, "The budget of the primary comparison.")
    primary_baseline: str = field("none", "What primary_method is compared with (a "
                                          "method of the study).")
    contrasts: Tuple[str, ...] = field((), "Comparisons between two methods, 'a - b' "
                                           "(labels), at every budget both ran; in the "
                                           "Holm family with the others.")
    flow_preset: Optional[str] = field(None, "Flow preset (hparams/) trained first when "
                                             "the dataset ships no flow and --flow is "
                                             "not given (default: by the images' "
                                             "channels, as bin/train_flow.py picks).")
    notes: str = field("", "Free text for the report, e.g. how settings were chosen.")
    cost_timing: Optional[str] = field(None, "The rows' step times measured in one "
                                             "sitting (benchmarks/semi_step.py "
                                             "--results --out): the cost table's "
                                             "ratios come from it, for runs that "
                                             "trained on more than one machine.")

    def validate(self):
        super().validate()
        labels = [named(m)[0] for m in self.methods]
        if not self.methods or len(set(labels)) != len(labels):
            raise ConfigError(f"methods must have distinct labels (write 'label: spec' "
                              f"to tell specs of one method apart), got "
                              f"{self.methods}.")
        if len(self.seeds) not in (1, len(self.budgets)) or min(self.seeds) < 1:
            raise ConfigError(f"seeds must be one count >= 1 or one per budget, got "
                              f"{self.seeds}.")
        for method in self.methods:
            registry.validate(named(method)[1])
        stray = (set(self.method_budgets) | set(self.method_steps)) - set(labels)
        if stray:
            raise ConfigError(f"method_budgets and method_steps name methods not in "
                              f"the study: {sorted(stray)}.")
        if set(self.capacity_budgets) - set(self.budgets):
            raise ConfigError("capacity_budgets must be among budgets.")
        if self.capacity_budgets and not self.capacity_model:
            raise ConfigError("capacity_budgets needs capacity_model.")
        flow_specs(self.flow_data)
        if self.flow_data and not (self.flow_data_methods and self.flow_data_budgets):
            raise ConfigError("flow_data needs flow_data_methods and flow_data_budgets.")
        not_latent = [m for m in self.flow_data_methods if m not in labels or not
                      registry.needs_flow(dict(named(x) for x in self.methods)[m])]
        if not_latent or set(self.flow_data_budgets) - set(self.budgets):
            raise ConfigError(f"flow_data_methods must be latent methods of the study "
                              f"(not {not_latent}) and flow_data_budgets among budgets.")
        if (self.primary_method is None) != (self.primary_budget is None) or (
                self.primary_method is not None and (
                    self.primary_method not in labels or
                    self.primary_budget not in self.budgets)):
            raise ConfigError("primary_method (a method of the study) and "
                              "primary_budget (one of budgets) go together.")
        for a, b in self.method_pairs():
            if a not in labels or b not in labels or a == b:
                raise ConfigError(f"Comparison '{a} - {b}' (primary_baseline, "
                                  f"contrasts) must name two methods of the study, "
                                  f"of {', '.join(labels)}.")
        if self.capacity_seeds is not None and self.capacity_seeds < 1:
            raise ConfigError(f"capacity_seeds must be >= 1 (or unset for every seed), "
                              f"got {self.capacity_seeds}.")
        return self

    def primary(self) -> Optional[Tuple[str, int]]:
        """(name, budget) of the primary comparison, or None."""
        if self.primary_method is None:
            return None
        return f"{self.primary_method} - {self.primary_baseline}", self.primary_budget

    def method_pairs(self) -> List[Tuple[str, str]]:
        """(a, b) of the comparisons between methods other than against none."""
        pairs = [tuple(x.strip() for x in c.split(" - ")) for c in self.contrasts]
        if any(len(p) != 2 for p in pairs):
            raise ConfigError(f"contrasts are 'a - b' (method labels with ' - ' "
                              f"between), got {self.contrasts}.")
        if self.primary_method and self.primary_baseline != "none":
            pairs.append((self.primary_method, self.primary_baseline))
        return pairs

    def seeds_for(self, budget: int) -> List[int]:
        n = self.seeds[0] if len(self.seeds) == 1 else self.seeds[self.budgets.index(
            budget)]
        return [self.seed + i for i in range(n)]

    def grid(self) -> List["Run"]:
        """The main grid: seed-major, so early stops leave whole seeds."""
        most = max(len(self.seeds_for(b)) for b in self.budgets)
        return [Run(b, named(m)[0], self.seed + s)
                for s in range(most) for b in self.budgets
                if s < len(self.seeds_for(b)) for m in self.methods
                if b in self.budgets_of(named(m)[0])]


class Run(NamedTuple):
    budget: int
    method: str          # label: the spec's names without parameters
    seed: int
    variant: str = MAIN  # MAIN, CAPACITY, MATCHED or an attribution flow's variant


OWN_FLOW = "_flow"  # run_dir's suffix of runs on a flow of their own (attribution)


def run_dir(out_dir: str, run: Run) -> str:
    name = flow_name(run.variant)
    suffix = f"@{name}{OWN_FLOW}" if name else {MAIN: "", CAPACITY: "@capacity",
                                          MATCHED: "@matched"}[run.variant]
    return os.path.join(out_dir, "runs", f"lpc{run.budget}", run.method + suffix,
                        f"seed{run.seed}")


class Plan:
    """What each run trains: its classifier config, from the study config and the
    tuned values."""

    def __init__(self, config: StudyConfig):
        self.config = config
        self.tuned = read_tuned(cfglib.from_root(config.tuned)) if config.tuned else None
        if self.tuned:
            self.tuned.check_training(config)
        self.specs = dict(named(m) for m in config.methods)

    def spec(self, budget: int, label: str) -> str:
        """The spec of method `label`: as written, or with a tuned file the tuned
        spec of that label if it was tuned, else of the method its names make, with
        the written parameters on top ('la_free: latent_adversarial(free=true)' is the
        tuned latent_adversarial, made free)."""
        written = self.specs[label]
        if not self.tuned:
            return written
        tuned_label = self._tuned_label(budget, label)
        spec = self.tuned.spec(budget, tuned_label)
        tuned_steps, steps = self.tuned.steps(budget, tuned_label), self.config.steps(
            budget, label)
        if self.tuned.budget_used(budget) == budget and tuned_steps not in (None, steps):
            raise ConfigError(f"{self.tuned.path}: {tuned_label} was tuned at {budget} "
                              f"per class with {tuned_steps} steps, but the study trains "
                              f"{label} for {steps}: tune it at the study's steps "
                              "(steps_by_budget, method_steps) or train at the tuned "
                              "ones.")
        return registry.overlay(spec, written)

    def _tuned_label(self, budget: int, label: str) -> str:
        """The label whose tuned values `label` uses: its own, else its method's."""
        return label if self.tuned.has(budget, label) else registry.label(
            self.specs[label])

    def lr(self, budget: int, label: str) -> float:
        """The tuned learning rate of `label` (its own if its search had one)."""
        return self.tuned.lr(budget, self._tuned_label(budget, label)) if self.tuned \
            else self.config.lr

    def waits_for_tuning(self, run: "Run") -> bool:
        """Whether the run's values are still being tuned (tuned.json is read again:
        a tuning running beside the study adds them as its searches finish)."""
        if not self.tuned:
            return False
        self.tuned = read_tuned(self.tuned.path)
        label = run.method if self.tuned.has_planned(run.method) else registry.label(
            self.specs[run.method])
        return self.tuned.pending(run.budget, "none") or self.tuned.pending(
            run.budget, label)

    def check_trained(self, directory: str, run: Run, result: dict,
                      steps: Optional[int] = None) -> None:
        """Raises unless the finished `result` (a row) was trained as this plan
        trains `run` now: the same augmentation, learning rate, steps and model."""
        planned, trained = self.trains(run, steps), trained_as(result)
        if trained != planned:
            raise ConfigError(f"{directory} was trained with {_how(trained, planned)}, "
                              f"but the study now trains {_how(planned, trained)} (its "
                              "tuned values or its methods changed): move that run "
                              "aside, here and in the publish directory if any, to "
                              "train it again.")

    def trains(self, run: Run, steps: Optional[int] = None) -> tuple:
        """How this plan trains `run`, as `trained_as` gives it for a finished one."""
        c = self.run_config(run, steps)
        return (c.augmentation, c.lr, c.steps_per_epoch * c.epochs, c.model,
                c.model_width)

    def run_config(self, run: Run, steps: Optional[int] = None,
                   flow: Optional[str] = None):
        updates = {"lr": self.lr(run.budget, run.method),
                   **({"flow": flow} if flow else {})}
        if run.variant == CAPACITY:
            updates.update(model=self.config.capacity_model,
                           model_width=self.config.capacity_width)
        if steps:
            updates["steps"] = steps
        return self.config.run_config(run.budget, self.spec(run.budget, run.method),
                                      run.seed, run.method, **updates)


def trained_as(result: dict) -> tuple:
    """(augmentation, lr, steps, model, model_width) of a result row."""
    return tuple(result[k] for k in ("augmentation", "lr", "steps", "model",
                                     "model_width"))


def _how(trained: tuple, other: tuple) -> str:
    """'spec at lr x', with steps and model where they differ from `other`'s."""
    spec, lr, steps, model, width = trained
    return f"{spec} at lr {lr:.6g}" + (
        f" for {steps} steps on {model} (width {width:g})" if trained[2:] != other[2:]
        else "")


def finished_row(directory: str, run: Run, log, steps: Optional[int] = None
                 ) -> Optional[dict]:
    """The result row of a finished run, or None if it has not finished. A corrupt
    report is reported and moved aside (the run is then done again); a run of other
    than `steps` (a matched-compute run from other timings) is an error."""
    path = os.path.join(directory, "report.json")
    if not os.path.exists(path):
        return None
    try:
        result = row(io.read_json(path), run)
    except (ValueError, KeyError, TypeError) as e:
        os.replace(path, path + ".corrupt")
        log(f"corrupt result {path} ({type(e).__name__}: {e}); moved to "
            f"{path}.corrupt, running it again")
        return None
    if steps and result["steps"] != steps:
        raise ConfigError(f"{directory} holds a run of {result['steps']} steps, but the "
                          f"study now trains it for {steps} (matched compute follows the "
                          "main grid's timings): move that directory aside to train it "
                          "again.")
    return result


# Settings that shape the grid, not a run: a study may grow beyond its earlier results.
GRID_KEYS = {"budgets", "seeds", "methods", "capacity_budgets", "capacity_methods",
             "capacity_seeds", "matched_compute", "notes", "strategy", "cost_timing"}


def earlier_rows(path: str, plan: "Plan") -> Dict[Run, dict]:
    """The rows of an earlier run of this study (its results.json, e.g. committed from
    another machine), by run, where they match the run this study would train. Its
    settings must equal this study's but for GRID_KEYS (a setting tfaug added since it
    was written reads as its default); matched-compute runs are not
    taken (their length depends on the whole grid's times)."""
    try:
        results = io.read_json(path)
        settings, rows = results["config"], list(results["rows"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"earlier results {path}: not a study's results.json "
                          f"({type(e).__name__}: {e}).") from None
    ours = cfglib.to_dict(plan.config)
    settings = cfglib.with_defaults(plan.config, settings)
    changed = sorted(k for k in ours if k not in GRID_KEYS and settings.get(k) != ours[k])
    if changed:
        raise ConfigError(f"earlier results {path} come from other settings "
                          f"({', '.join(changed)}), so they cannot stand for this "
                          "study's runs: run with those settings or without them.")
    found = {}
    for i, r in enumerate(rows):
        try:
            run = Run(r["labels_per_class"], r["method"], r["seed"], r["variant"])
            trained = trained_as(r)
        except (KeyError, TypeError) as e:
            raise ConfigError(f"earlier results {path}: row {i} is not a study's result "
                              f"row ({type(e).__name__}: {e}).") from None
        if run.variant == MATCHED or flow_name(run.variant) or (
                run.method not in plan.specs):
            continue
        if trained == plan.trains(run):
            found[run] = r
    return found


def row(report: dict, run: Run) -> dict:
    config = report["config"]
    if (config["labels_per_class"], config["seed"]) != (run.budget, run.seed):
        raise ValueError(f"it belongs to another run ({config['labels_per_class']}, "
                         f"{config['augmentation']}, {config['seed']})")
    steps = config["steps_per_epoch"] * config["epochs"]
    curve = report["history"].get("val_accuracy", [])
    # Runs before report.json had val_loss: the last epoch's, the same weights'.
    val_loss = report.get("val_loss", (report["history"].get("val_loss") or [None])[-1])
    gain = float("nan")
    if len(curve) >= 3:
        points = np.arange(1, len(curve) + 1) * config["steps_per_epoch"]
        gain = last_quarter(points, curve).gain
    return {"labels_per_class": run.budget, "method": run.method, "variant": run.variant,
            "seed": run.seed, "model": config["model"],
            "model_width": config["model_width"],
            "augmentation": config["augmentation"], "lr": config["lr"], "steps": steps,
            "val_accuracy": float("nan") if report["val_accuracy"] is None
            else float(report["val_accuracy"]),
            "test_accuracy": float(report["test_accuracy"]),
            "val_last_quarter_gain": gain,
            "train_seconds": float(report["train_seconds"])
            + float(report.get("cache_seconds", 0.0)),
            "cpu_seconds": float(report.get("train_cpu_seconds", float("nan")))
            + float(report.get("cache_cpu_seconds", 0.0)),
            "step_seconds": float(report.get("step_seconds", float("nan"))),
            "wall_time_s": float(report["wall_time_s"]),
            "train_size": int(report["sizes"]["train"]),
            "optimizer_steps": int(report["optimizer_steps"]),
            "val_loss": math.nan if val_loss is None else float(val_loss),
            "diverged": int(divergence(val_loss, report["data"]["train"]["classes"],
                                       config["lr"]) is not None)}


def check_inputs(out_dir: str, inputs: Dict[str, str], publish_dir: Optional[str],
                 log) -> None:
    """Records what the study in out_dir trains on (tfaug.provenance), refusing other
    inputs than its runs were trained on. A flow or VAE-GAN changed since is refused
    only while runs that read one remain: the others (`none`, image-space methods)
    stand and the study goes on with the new one."""
    before = io.read_json(os.path.join(out_dir, provenance.FILE))
    changed = set(provenance.changed_keys(before, inputs))
    if not changed or not changed <= set(registry.LATENT_MODEL.values()):
        provenance.check(out_dir, inputs,
                         "Its finished runs would stand for runs on these: move out_dir "
                         "aside or choose another --out_dir to train on them, or give "
                         "the study the inputs it was trained on.")
        return
    what = "; ".join(provenance.differences(before, inputs))
    used = runs_reading(out_dir, changed)
    if used:
        shown = ", ".join(used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5
                                       else "")
        also = f", and from {publish_dir}, which restores them," if publish_dir else ""
        raise ConfigError(
            f"{out_dir} was trained on other inputs: {what} since, and {len(used)} of "
            f"its runs read them ({shown}). Move those run directories out of "
            f"{out_dir}{also} to train them again on these (the runs that never read "
            "them stay), or give the study the ones they were trained on.")
    log(f"{what} since the study began; none of its runs read them: going on with "
        "these.")
    io.write_json(os.path.join(out_dir, provenance.FILE), inputs)


def runs_reading(out_dir: str, models: set) -> List[str]:
    """The run directories under out_dir (relative to it), finished or not, whose
    augmentation reads one of the study's latent `models` ("flow", "vaegan"); one
    whose settings cannot be read counts as reading them. Attribution runs
    (run_dir's `method@NAME_flow`) read flows of their own."""
    found = []
    for root, _, names in os.walk(os.path.join(out_dir, "runs")):
        method = os.path.basename(os.path.dirname(root))
        own_flow = "@" in method and method.endswith(OWN_FLOW)
        if "settings.json" not in names or own_flow:
            continue
        try:
            spec = (io.read_json(os.path.join(root, "settings.json")) or {}).get(
                "augmentation") or "none"
            reads = bool(registry.latent_models_needed(spec) & models)
        except (ValueError, AttributeError, ConfigError):
            reads = True
        if reads:
            found.append(os.path.relpath(root, out_dir))
    return sorted(found)


def ensure_flow(config: StudyConfig, out_dir: str, full, test, log) -> StudyConfig:
    """The config with a flow for its latent methods: --flow, the shipped one, or
    (when neither exists) one trained now into out_dir/flow."""
    if config.flow or not _flow_needed(config):
        return config
    export_dir = os.path.join(out_dir, "flow", "export")
    if not os.path.isdir(export_dir):
        log(f"No flow ships for {config.dataset}: training one first.")
        train_flow(os.path.dirname(export_dir), full, test, config, config.flow_preset,
                   log)
    return dataclasses.replace(config, flow=export_dir)


def matched_steps(config: StudyConfig, rows: List[dict], budget: int, method: str
                  ) -> int:
    """The steps (whole epochs) that make `none` train as many seconds as `method`
    took: its own steps plus the extra seconds at its compiled per-step time. Rows
    from before per-step times were recorded fall back to none's seconds per step,
    which include its fixed costs (compilation, validation), so give fewer steps."""
    steps = config.steps(budget)
    base = mean_seconds(rows, budget, "none")
    per_step = mean_seconds(rows, budget, "none", key="step_seconds")
    if not per_step > 0:
        per_step = base / steps
    extra = max(mean_seconds(rows, budget, method) - base, 0.0) / per_step
    return config.epochs * max(round((steps + extra) / config.epochs), 1)


def extra_runs(config: StudyConfig, rows: List[dict]) -> List[Tuple[Run, Optional[int]]]:
    """The capacity, attribution and matched-compute runs (with their step counts),
    resolved from the finished main grid."""
    extra = []
    for budget in config.capacity_budgets:
        for method in config.capacity_methods:
            label = best_latent(rows, budget) if method == BEST_LATENT else method
            if label is not None:
                seeds = config.seeds_for(budget)[:config.capacity_seeds]
                extra += [(Run(budget, label, s, CAPACITY), None) for s in seeds]
    for name in config.flow_data:
        extra += [(Run(budget, label, s, variant(name)), None)
                  for budget in config.flow_data_budgets
                  for label in config.flow_data_methods
                  for s in config.seeds_for(budget)]
    if config.matched_compute:
        for budget in config.budgets:
            latent = best_latent(rows, budget)
            if latent is None:
                continue
            steps = matched_steps(config, rows, budget, latent)
            extra += [(Run(budget, "none", s, MATCHED), steps)
                      for s in config.seeds_for(budget)]
    return extra


SHARD_HELP = "shard must be i/n with 0 <= i < n (e.g. 0/2 and 1/2 for two processes)"


def parse_shard(text: str) -> Tuple[int, int]:
    """'i/n' -> (i, n); run_study checks the range."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"{SHARD_HELP}, got {text!r}.") from None
    return index, count


def run_study(config: StudyConfig, out_dir: str, log: Callable = print,
              shard: Tuple[int, int] = (0, 1), earlier: Optional[str] = None,
              publish_dir: Optional[str] = None) -> List[dict]:
    """Runs every run not yet finished: the main grid (what its tuning has values
    for), then the extra runs of each budget whose main grid has finished (they
    depend on it): first the attribution runs whose flow is trained, then the
    attribution flows still to train, then the others (while another process trains
    a flow, the ones that do not need it); returns the rows of every finished run in
    out_dir.

    Processes sharing out_dir split the work as they go: each takes the next run no
    other holds (a lock per run), and ends by waiting for the runs others hold,
    training any that one left unfinished (killed). With shard (i, n), this process
    only considers the runs whose position in the grid is i modulo n (a fixed split,
    e.g. between machines); the extra runs are shared the same ways, budget by
    budget. The outputs are rewritten after every run this process trains, and at
    the end, from every finished run in out_dir, whoever ran it, and the matching
    rows of `earlier` (a results.json of this study from elsewhere), which count as
    finished runs.

    With `publish_dir` (e.g. a directory under version control), the study first
    takes from there what out_dir lacks of its record (finished runs, trained
    flows), then copies its record there after every run and every flow, so it goes
    on from there on another machine or checkout."""
    index, count = shard
    if not 0 <= index < count:
        raise ConfigError(f"{SHARD_HELP}, got {index}/{count}.")
    config.validate()
    io.prepare_out_dir(out_dir)
    if publish_dir:
        restored = records.restore(publish_dir, out_dir)
        if restored:
            log(f"{restored} files of the study's record taken from {publish_dir}")
    plan = Plan(config)
    taken = earlier_rows(earlier, plan) if earlier else {}

    def done(run: Run, steps: Optional[int] = None) -> Optional[dict]:
        """The row of `run` if it has finished, trained as the plan trains it."""
        directory = run_dir(out_dir, run)
        result = finished_row(directory, run, log, steps) or taken.get(run)
        if result is not None and not plan.waits_for_tuning(run):
            plan.check_trained(directory, run, result, steps)
        return result

    full, test = config.load("train"), config.load("test")
    if count > 1 and config.flow is None and _flow_needed(config):
        raise ConfigError("A sharded study needs its flow first: train it with "
                          "bin/train_flow.py --export_dir=DIR and pass --flow=DIR, or "
                          "run one process without --shard until the flow is trained.")
    config = ensure_flow(config, out_dir, full, test, log)
    plan.config = config
    inputs = provenance.of_config(config)
    check_inputs(out_dir, inputs, publish_dir, log)
    if earlier:
        differ = provenance.differences(io.read_json(earlier).get("inputs"), inputs)
        if differ:
            raise ConfigError(f"earlier results {earlier} were trained on other inputs "
                              f"({'; '.join(differ)}), so they cannot stand for this "
                              "study's runs: run without --earlier, or on the inputs "
                              "they were trained on.")
    strategy = make_strategy(config.strategy)
    main = config.grid()
    mine = main[index::count]
    pending = sum(done(r) is None for r in mine)
    log(f"study: {len(config.budgets)} budgets x {len(config.methods)} methods, seeds "
        f"{', '.join(str(len(config.seeds_for(b))) for b in config.budgets)} = "
        f"{len(main)} runs in {out_dir}"
        + (f"; shard {index}/{count} takes {len(mine)}" if count > 1 else "")
        + f", {pending} to run"
        + (f"; values from {plan.tuned.path}" if plan.tuned else "")
        + (f"; {len(taken)} finished runs taken from {earlier}" if earlier else ""))

    def reported(runs):
        """The rows of the finished `runs` and of the finished extra runs whose steps
        do not hang on the main grid's timings (attribution, capacity): mid-way
        through the main grid, the outputs keep the extra runs of an earlier pass."""
        rows = _finished(runs, done)
        known = set(runs)
        return rows + _finished([run for run, steps in extra_runs(config, rows)
                                 if steps is None and run not in known], done)

    def publish(runs):
        """Writes the outputs from every finished run; again if another process
        finished one meanwhile, so the last writer's outputs are complete."""
        written, rows = None, reported(runs)
        while len(rows) != written:
            write_outputs(out_dir, rows, config)
            written, rows = len(rows), reported(runs)
        if publish_dir:
            records.publish(out_dir, publish_dir)
        return rows

    def train(run, steps):
        flow = None
        if flow_name(run.variant):
            flow = attribution_flow(out_dir, flow_name(run.variant), full, test,
                                    config, run.budget, run.seed, log)
        run_config = plan.run_config(run, steps, flow)
        report = train_classifier(run_config, run_dir(out_dir, run),
                                  load_splits(run_config, full, test), strategy,
                                  verbose=0)
        if report["diverged"]:
            log(f"  warning: {report['diverged']}")
        return row(report, run)

    def execute(position, pairs, known, clock, wait=False) -> bool:
        """Trains the run of pairs[position - 1], a (run, steps), unless it has
        finished or waits for its tuning; False when another process is training it
        (with `wait`: once that process lets go, this one trains the run if it is
        still unfinished). clock: (time, runs of pairs finished then) for the ETA."""
        run, steps = pairs[position - 1]
        total = len(pairs)
        title = (f"lpc={run.budget} {run.method}"
                 f"{' (' + run.variant + ')' if run.variant else ''} seed={run.seed}")
        result, seconds = done(run, steps), None
        if result is None and plan.waits_for_tuning(run):
            log(f"[{position}/{total}] {title}: its values are still being tuned "
                f"({plan.tuned.path}); skipped for now, rerun the study when the "
                "tuning has finished")
            return True
        if result is None:
            with io.claimed(run_dir(out_dir, run) + ".lock", wait) as ours:
                if not ours:
                    log(f"[{position}/{total}] {title}: another process is training "
                        "it; back to it after the rest")
                    return False
                result = done(run, steps)  # it may have finished meanwhile
                if result is None:
                    started = time.time()
                    result = train(run, steps)
                    seconds = time.time() - started
        status = (f"test {result['test_accuracy']:.4f} "
                  + (f"({seconds:.0f} s)" if seconds else "(done before, skipped)"))
        if seconds:  # a new result (a process publishes its own; all at the end)
            publish(known)
        unfinished = [r for r, s in pairs if done(r, s) is None]  # by any process
        eta = time_left(clock, len(pairs) - len(unfinished), sum(
            not plan.waits_for_tuning(r) for r in unfinished))
        log(f"[{position}/{total}] {progress_bar(position, total)} {title}: {status}"
            + (f"; ETA {eta / 60:.1f} min" if eta is not None else ""))
        return True

    def execute_all(pairs, known):
        """Every (run, steps) of `pairs`, so this process ends with all of them."""
        clock = (time.time(), sum(done(r, s) is not None for r, s in pairs))
        held_ones_last(range(1, len(pairs) + 1), lambda position, wait: execute(
            position, pairs, known, clock, wait))

    execute_all([(run, None) for run in mine], main)

    def extra_work(quiet=False):
        """(this process's share of the extra runs at the budgets whose main grid has
        finished, split budget by budget so a shard's share stays put as more
        budgets finish; every run to publish)."""
        rows = _finished(main, done)
        finished = collections.Counter(r["labels_per_class"] for r in rows)
        ready = [b for b in config.budgets
                 if finished[b] == sum(run.budget == b for run in main)]
        if len(ready) < len(config.budgets) and not quiet:
            log(f"{len(main) - len(rows)} runs of the main grid have not finished "
                "(other shards', or waiting for their values): the extra runs at "
                f"{', '.join(str(b) for b in config.budgets if b not in ready)} labels "
                "per class follow once they have (rerun any shard, or bin/study.py "
                "without --shard).")
        extra = [pair for pair in extra_runs(config, rows) if pair[0].budget in ready]
        return ([pair for b in ready for pair in
                 [p for p in extra if p[0].budget == b][index::count]],
                main + [run for run, _ in extra])

    # after the main grid (the primary comparison's rows): the attribution runs whose
    # flow is trained, then the flows still to train, then the other extra runs
    pairs, runs = extra_work(quiet=True)
    early = [p for p in pairs if has_trained_flow(out_dir, config, p[0])]
    execute_all(early, runs)

    def ensure_attribution_flow(flow, wait) -> bool:
        trained = attribution_flow(out_dir, flow[0], full, test, config, flow[2],
                                   flow[3], log, wait)
        if trained and publish_dir:
            records.publish(out_dir, publish_dir)
        return trained is not None

    held = [flow for flow in attribution_flows(config)[index::count]
            if not ensure_attribution_flow(flow, False)]
    pairs, runs = extra_work()  # while others train the held flows: what needs none
    ready = [p for p in pairs if p not in early and (
        flow_name(p[0].variant) is None or has_trained_flow(out_dir, config, p[0]))]
    execute_all(ready, runs)
    for flow in held:
        ensure_attribution_flow(flow, True)
    pairs, runs = extra_work(quiet=True)
    execute_all([p for p in pairs if p not in early and p not in ready], runs)
    return publish(runs)


def held_ones_last(items: Sequence, attempt: Callable[[Any, bool], bool]) -> None:
    """attempt(item, False) on each item, which returns False when another process
    holds the item; then attempt(item, True) on those, each once it is let go."""
    held = [item for item in items if not attempt(item, False)]
    for item in held:
        attempt(item, True)


def time_left(clock: Tuple[float, int], finished: int, left: int) -> Optional[float]:
    """Seconds to finish `left` runs at the pace runs have finished since clock =
    (time, runs finished then), by this process and any other sharing the study;
    None before one has."""
    since, finished_then = clock
    if finished <= finished_then:
        return None
    return (time.time() - since) * left / (finished - finished_then)


def _finished(runs, done) -> List[dict]:
    rows = [done(r) for r in runs]
    return [r for r in rows if r is not None]


def _flow_needed(config: StudyConfig) -> bool:
    """Whether a latent method needs a flow that does not ship (so is trained)."""
    if not any(registry.needs_flow(named(m)[1]) for m in config.methods):
        return False
    try:
        flows.pretrained(config.dataset)
        return False
    except flows.CheckpointError:
        return True


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"
