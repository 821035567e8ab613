"""Tuning every method of a study alike, and the file of tuned values it reads.

At each budget: first the learning rate, searched for `none` (no augmentation); then
every other method's parameters with that learning rate, each search with the same
tuner and number of trials (a method whose space names "lr" searches its own, kept in
its entry of tuned.json; `tuners` may give a method another search algorithm). An
image-space part of a composed method that is a method of its own (`standard` in
`standard+latent_random`) keeps its own tuned values; the latent parts are searched
again in the composition. The result is tuned.json:

  {"training": {settings every run shares}, "budgets": {"10": {"lr": ...,
   "methods": {"standard": {"augmentation": "standard(pad=2,flip=true)",
                            "val_accuracy": ..., "trials": ...}, ...}}}}

which `read_tuned` loads and the study uses, never hand-edited values. Each search
resumes from its directory (out_dir/lpc<budget>/<method>/).
"""

import dataclasses
import os
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from tfaug import config as cfglib
from tfaug import io, provenance
from tfaug.augment import registry
from tfaug.augment.spec import Part, format_spec, named
from tfaug.errors import ConfigError
from tfaug.trainers.grid import BudgetGrid
from tfaug.tuning.curves import write_curves
from tfaug.tuning.search import (OTHER_INPUTS, TUNERS, TuningConfig, inputs,
                                 settings_changed, tune)

field = cfglib.field
# Settings a study must share with the tuning whose values it uses.
SHARED_TRAINING = ("dataset", "image_size", "channels", "test_fraction", "split_seed",
                   "model", "model_width", "batch_size", "epochs", "momentum",
                   "nesterov", "weight_decay", "weight_decay_mode", "schedule",
                   "val_per_class", "latent_cache", "unlabelled")


@dataclasses.dataclass(frozen=True)
class MethodsTuningConfig(BudgetGrid):
    """Tunes `methods` at every budget with the same search budget."""
    methods: Tuple[str, ...] = field(("standard", "latent_random"), "Augmentation specs "
                                     "to tune (parameters written in a spec are "
                                     "fixed), each optionally labelled ('la_pgd: "
                                     "latent_adversarial'); `none` is tuned first, "
                                     "for the lr.")
    lr_space: Dict[str, Any] = field({"min": 0.005, "max": 0.2, "log": True},
                                     "Learning-rate domain searched for `none`.")
    spaces: Dict[str, Any] = field({}, "Per method label, a search space overriding "
                                       "tfaug.tuning.space.DEFAULT_SPACE.")
    tuner: str = field("bayesian", "Search algorithm: random, bayesian, hyperband or "
                                   "grid.")
    tuners: Dict[str, str] = field({}, "Per method label, a search algorithm "
                                       "overriding `tuner` (e.g. grid over a list of "
                                       "learning rates).")
    max_trials: int = field(8, "Trials per (budget, method) search.")
    initial_points: Optional[int] = field(None, "bayesian: random trials before the "
                                                "model guides each search (default: "
                                                "Keras Tuner's 3 per parameter).")
    trial_seeds: int = field(1, "Seeds each trial is trained and scored on (mean "
                                "final validation accuracy).")
    reuse: Tuple[str, ...] = field((), "Records of earlier tunings (their out_dir or "
                                       "publish_dir): a search finished there with "
                                       "exactly this search's settings is taken over, "
                                       "not run again.")

    def validate(self):
        super().validate()
        labels = [named(m)[0] for m in self.methods]
        if "none" in labels or len(set(labels)) != len(labels):
            raise ConfigError(f"methods must be distinct and must not include none "
                              f"(tuned first, for the lr), got {self.methods}.")
        missing = [d for d in self.reuse if not os.path.isdir(cfglib.from_root(d))]
        if missing:
            raise ConfigError(f"reuse: no tuning records at {', '.join(missing)}: give "
                              "the out_dir or publish_dir of an earlier tuning.")
        unknown = (set(self.spaces) | set(self.tuners) | set(self.method_budgets)
                   | set(self.method_steps)) - set(labels)
        if unknown:
            raise ConfigError(f"spaces, tuners, method_budgets and method_steps name "
                              f"methods not tuned: {sorted(unknown)}.")
        if ({self.tuner, *self.tuners.values()} - set(TUNERS)) or self.max_trials < 1:
            raise ConfigError(f"tuner and tuners must each be one of {', '.join(TUNERS)} "
                              "and max_trials >= 1.")
        return self

    def searches(self) -> List[Tuple[int, str, str]]:
        """(budget, label, spec) of every search but `none`'s, budget by budget."""
        return [(budget, *named(m)) for budget in self.budgets for m in self.methods
                if budget in self.budgets_of(named(m)[0])]

    def search(self, budget: int, augmentation: str, space: dict,
               label: Optional[str] = None) -> TuningConfig:
        run = self.run_config(budget, augmentation, self.seed, label)
        values = {f.name: getattr(run, f.name)
                  for f in dataclasses.fields(run)}
        return cfglib.from_dict(TuningConfig, {
            **values, "tuner": self.tuners.get(label, self.tuner),
            "max_trials": self.max_trials,
            "initial_points": self.initial_points, "trial_seeds": self.trial_seeds,
            "space": space, "retrain_best": False})


def training_settings(config) -> dict:
    values = cfglib.to_dict(config)
    return {k: values[k] for k in SHARED_TRAINING}


def with_own_values(spec: str, tuned: Dict[str, str]) -> str:
    """`spec` whose image-space parts that are tuned methods of their own carry those
    values; its latent parts stay free, searched in the composition."""
    parts = registry.resolve(spec)
    if len(parts) == 1:
        return spec
    filled = []
    for part in parts:
        own = tuned.get(part.name) if part.name not in registry.LATENT_MODEL else None
        own_params = registry.resolve(own)[0].params if own else {}
        filled.append(Part(part.name, {**own_params, **part.params}))
    return registry.canonical(format_spec(filled))


def tune_methods(config: MethodsTuningConfig, out_dir: str, log: Callable = print,
                 verbose: int = 0, shard: Tuple[int, int] = (0, 1),
                 publish_dir: Optional[str] = None, poll_seconds: float = 5.0) -> dict:
    """Runs (or resumes) every search; writes and returns tuned.json's content.

    Processes started alike on one out_dir share the searches: each takes the next
    one whose dependencies have finished (`none` for the learning rate, an
    image-space part for its values) and no other process holds (a lock per search,
    released with its holder), a later budget's while an earlier one's wait, and
    waits at the end for those others hold. With shard (i, n), a fixed split where
    locks may not hold, this process takes only every n-th search from the i-th
    (`none`, at every budget, is shard 0's). With `publish_dir`, the records
    (tuned.json, the curves, each search's summary and trials, not its weights or
    logs) are copied there after every trial, e.g. into a repository, so a search
    goes on from its last finished trial on another machine (mid-trial backups stay
    in out_dir)."""
    config.validate()
    index, count = shard
    if not 0 <= index < count:
        raise ConfigError(f"shard must be i/n with 0 <= i < n, got {index}/{count}.")
    head = {"training": training_settings(config), "tuner": config.tuner,
            "max_trials": config.max_trials, "initial_points": config.initial_points,
            "trial_seeds": config.trial_seeds, "seed": config.seed,
            "planned_budgets": list(config.budgets),
            "planned_methods": ["none", *(named(m)[0] for m in config.methods)]}

    def run(budget, label, spec):
        steps = config.steps(budget, label)
        space = {"lr": config.lr_space} if label == "none" else config.spaces.get(
            label, {})
        if label != "none":
            spec = with_own_values(spec, {name: _best(out_dir, budget, name, config)[
                "augmentation"] for name in _parts_with_own_values(spec, config)})
        search = config.search(budget, spec, space, label)
        own_lr = "lr" in space  # searched, not the one given
        if not own_lr:
            search = dataclasses.replace(search, lr=_best(out_dir, budget, "none",
                                                          config)["lr"])
        log(f"[{budget} per class] tuning {label}: {spec} ({config.max_trials} "
            f"{search.tuner} trials of {steps} steps, {config.trial_seeds} "
            f"seed(s) each)")
        directory = search_dir(out_dir, budget, label)
        digests = inputs(search)
        if os.path.isdir(directory):  # begun or finished here: on these inputs only
            provenance.check(directory, digests, OTHER_INPUTS)
        summary = finished_search(search, directory) or take_over(
            search, budget, label, config.reuse, directory, digests, log) or tune(
            search, directory, log=log, verbose=verbose, after_trial=(
                lambda: publish(out_dir, publish_dir)) if publish_dir else None)
        best = summary["best"]
        _merge(out_dir, head, budget, config.steps(budget), steps, label, best,
               len(summary["trials"]), own_lr=own_lr and label != "none")
        write_curves(out_dir, config.initial_points)
        if publish_dir:
            publish(out_dir, publish_dir)
        log(f"  {label}: {best['augmentation']} (validation "
            f"{100 * best['val_accuracy']:.2f}%)")

    todo = [*((b, "none", "none") for b in config.budgets if index == 0),
            *(s for i, s in enumerate(config.searches()) if i % count == index)]
    waiting_for = None
    while todo:
        ready = sorted((s for s in todo if not _unmet(out_dir, config, *s)),
                       key=lambda s: (config.budgets.index(s[0]), s[1] != "none",
                                      not _recorded(out_dir, config, *s),  # no training
                                      len(registry.resolve(s[2]))))  # parts first
        for search in ready:
            with io.claimed(search_dir(out_dir, *search[:2]) + ".lock") as ours:
                if ours:
                    run(*search)
                    todo.remove(search)
                    break
        else:  # every search left is another process's, or waits for one that is
            blocked = sorted({f"{name} at {budget} per class"
                              for budget, label, spec in todo for name in
                              _unmet(out_dir, config, budget, label, spec) or [label]})
            if blocked != waiting_for:
                log(f"waiting for the searches another process runs: "
                    f"{', '.join(blocked)} ({out_dir})")
                waiting_for = blocked
            time.sleep(poll_seconds)
    return io.read_json(os.path.join(out_dir, "tuned.json"))


def publish(out_dir: str, publish_dir: str) -> None:
    """Copies the tuning's records (.json, .md, .png; no weights, no TensorBoard logs)
    from out_dir to publish_dir, atomically file by file."""
    io.copy_files(out_dir, publish_dir, lambda path: (
        "tensorboard" not in path.split(os.sep)
        and path.endswith((".json", ".md", ".png"))))


def finished_search(search: TuningConfig, directory: str,
                    digests: Optional[dict] = None) -> Optional[dict]:
    """The summary of `search` if it has finished in `directory` with the same
    settings and number of trials (and, with `digests`, not on other inputs: see
    tfaug.provenance), else None."""
    recorded = io.read_json(os.path.join(directory, "tuning_config.json"))
    summary = io.read_json(os.path.join(directory, "summary.json"))
    if (recorded is None or summary is None or settings_changed(search, recorded)
            or summary["config"]["max_trials"] != search.max_trials
            or (digests is not None and provenance.changed(directory, digests))):
        return None
    return summary


def take_over(search: TuningConfig, budget: int, label: str, earlier: Tuple[str, ...],
              directory: str, digests: dict, log: Callable) -> Optional[dict]:
    """The summary of `search` finished in one of the `earlier` tunings' records on
    the inputs of `digests`, its records copied into `directory`; or None (the search
    is to be run)."""
    if io.read_json(os.path.join(directory, "tuning_config.json")) is not None:
        return None  # begun here: resumed here
    for tuning in earlier:
        source = search_dir(cfglib.from_root(tuning), budget, label)
        summary = finished_search(search, source, digests)
        if summary is not None:
            publish(source, directory)
            log(f"  {label}: the same search finished in {source}; taken over")
            return summary
    return None


def _recorded(out_dir: str, config: MethodsTuningConfig, budget: int, label: str,
              spec: str) -> bool:
    """Whether the search of `label` and those of the parts it takes its values from
    have summaries here or in the `reuse` records: a guess that it needs no training
    (its settings are checked when it runs), so it is done before the searches that
    train and its values do not wait behind theirs."""
    labels = [label, *_parts_with_own_values(spec, config)]
    roots = [out_dir, *(cfglib.from_root(d) for d in config.reuse)]
    return all(any(os.path.exists(os.path.join(search_dir(root, budget, name),
                                               "summary.json")) for root in roots)
               for name in labels)


def search_dir(out_dir: str, budget: int, label: str) -> str:
    return os.path.join(out_dir, f"lpc{budget}", label)


def _best(out_dir: str, budget: int, label: str,
          config: MethodsTuningConfig) -> Optional[dict]:
    """The best values of the search of `label` at `budget` if it has finished."""
    summary = io.read_json(os.path.join(search_dir(out_dir, budget, label),
                                        "summary.json"))
    if summary and summary["config"]["max_trials"] == config.max_trials:
        return summary["best"]
    return None


def _unmet(out_dir: str, config: MethodsTuningConfig, budget: int, label: str,
           spec: str) -> List[str]:
    """The searches at `budget` that must finish before that of `label` can run:
    `none`'s (the learning rate), the parts' that keep values of their own."""
    needed = [] if label == "none" else ["none", *_parts_with_own_values(spec, config)]
    return [name for name in needed if _best(out_dir, budget, name, config) is None]


def _parts_with_own_values(spec: str, config: MethodsTuningConfig) -> List[str]:
    """The image-space parts of composed `spec` that are methods of this tuning: they
    keep their own tuned values in the composition."""
    parts = registry.resolve(spec)
    tuned = {named(m)[0] for m in config.methods}
    return [p.name for p in parts if len(parts) > 1 and p.name in tuned
            and p.name not in registry.LATENT_MODEL]


def _merge(out_dir, head, budget, steps, method_steps, label, best, trials,
           own_lr=False) -> None:
    """Adds one finished search to out_dir/tuned.json (under a lock: shards share
    it); `method_steps`, the search's own, is recorded where it differs from the
    budget's `steps`, and the method's learning rate if it searched its own."""
    path = os.path.join(out_dir, "tuned.json")
    with io.locked(path + ".lock"):
        content = {**(io.read_json(path) or {}), **head}
        budgets = content.setdefault("budgets", {})
        entry = budgets.setdefault(str(budget), {"steps": steps, "methods": {}})
        if label == "none":
            entry["lr"] = best["lr"]
        entry["methods"][label] = {"augmentation": best["augmentation"],
                                   "val_accuracy": best["val_accuracy"],
                                   "trials": trials,
                                   **({"steps": method_steps}
                                      if method_steps != steps else {}),
                                   **({"lr": best["lr"]} if own_lr else {})}
        content["budgets"] = dict(sorted(budgets.items(), key=lambda kv: int(kv[0])))
        io.write_json(path, content)


@dataclasses.dataclass(frozen=True)
class Tuned:
    """Values read from a tuned.json."""
    path: str
    content: dict

    def budget_used(self, budget: int) -> int:
        """The tuned budget whose values serve `budget`: the largest tuned budget not
        above it (else the smallest). Refused while that budget's tuning is unfinished,
        rather than silently serving another budget's values."""
        tuned = sorted(int(b) for b in self.content["budgets"])
        planned = sorted(self.content.get("planned_budgets", tuned))
        below = [b for b in planned if b <= budget]
        used = below[-1] if below else planned[0]
        if used not in tuned:
            raise ConfigError(f"{self.path}: the tuning at {used} per class, whose "
                              f"values serve {budget} per class, has not finished: "
                              "resume bin/tune_methods.py with its --out_dir first.")
        return used

    def lr(self, budget: int, label: Optional[str] = None) -> float:
        """The learning rate at `budget`: `label`'s own if it searched one, else the
        one `none`'s search found."""
        entry = self.content["budgets"][str(self.budget_used(budget))]
        own = entry["methods"].get(label, {}).get("lr") if label else None
        return float(entry["lr"] if own is None else own)

    def spec(self, budget: int, label: str) -> str:
        methods = self.content["budgets"][str(self.budget_used(budget))]["methods"]
        if label not in methods:
            raise ConfigError(f"{self.path} has no tuned values for {label!r} at "
                              f"{self.budget_used(budget)} per class; tuned: "
                              f"{', '.join(sorted(methods))}.")
        return methods[label]["augmentation"]

    def steps(self, budget: int, label: str) -> Optional[int]:
        """The steps `label`'s search trained at the budget serving `budget` (None in
        a tuned.json from before they were recorded)."""
        entry = self.content["budgets"][str(self.budget_used(budget))]
        return entry["methods"].get(label, {}).get("steps", entry.get("steps"))

    def pending(self, budget: int, label: str) -> bool:
        """Whether `label` at `budget` is planned in this tuning but its search has
        not finished yet."""
        if not self.has_planned(label):
            return False
        try:
            return not self.has(budget, label)
        except ConfigError:  # the budget's tuning has not finished
            return True

    def has_planned(self, label: str) -> bool:
        return label in self.content.get("planned_methods", ())

    def has(self, budget: int, label: str) -> bool:
        return label in self.content["budgets"][str(self.budget_used(budget))]["methods"]

    def val_accuracy(self, budget: int, label: str) -> float:
        entry = self.content["budgets"][str(self.budget_used(budget))]["methods"]
        return float(entry[label]["val_accuracy"])

    def check_training(self, config) -> None:
        """The study must train as the tuning did, or the values do not carry over."""
        mine = cfglib.to_dict(config)
        differ = sorted(k for k, v in self.content["training"].items() if mine.get(k) != v)
        if differ:
            raise ConfigError(f"{self.path} was tuned with other training settings "
                              f"({', '.join(differ)} differ): tune again with this "
                              "study's settings, or use its settings.")


def read_tuned(path: str) -> Tuned:
    try:
        content = io.read_json(path)
    except ValueError as e:  # json.JSONDecodeError
        raise ConfigError(f"{path} is not valid JSON ({e}): restore it (git checkout) "
                          "or rerun bin/tune_methods.py.") from None
    if content is None:
        raise ConfigError(f"No tuned values at {path}: run bin/tune_methods.py first "
                          "(or drop --tuned to use the specs as written).")
    if not isinstance(content, dict) or not content.get("budgets"):
        raise ConfigError(f"{path} is not a tuned.json written by bin/tune_methods.py.")
    return Tuned(path, content)
