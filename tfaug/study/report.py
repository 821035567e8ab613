"""A study's outputs, written atomically: results.csv and results.json (one row per
run), report.md (computed from results.csv alone), accuracy.png (test accuracy per
budget) and cost.png (test accuracy against training time)."""

import collections
import csv
import io as _io
import math
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from tfaug import config as cfglib
from tfaug import io, plots, provenance
from tfaug.augment import registry
from tfaug.augment.spec import named
from tfaug.data.catalog import DATASETS
from tfaug.errors import CheckpointError, ConfigError
from tfaug.study import evidence, flows, one_sitting
from tfaug.study.convergence import PLATEAU_THRESHOLD
from tfaug.study.rows import CAPACITY, MAIN, MATCHED, by_seed
from tfaug.study.stats import Paired, mean_and_sd, paired, paired_ratio

COLUMNS = ("labels_per_class", "method", "variant", "seed", "model", "model_width",
           "augmentation", "lr", "steps", "val_accuracy", "test_accuracy",
           "val_last_quarter_gain", "train_seconds", "cpu_seconds", "step_seconds",
           "wall_time_s", "train_size", "optimizer_steps", "val_loss", "diverged")
_NUMBERS = {"labels_per_class": int, "seed": int, "steps": int, "train_size": int,
            "optimizer_steps": int, "diverged": int, "model_width": float, "lr": float,
            "val_accuracy": float, "test_accuracy": float, "val_last_quarter_gain": float,
            "train_seconds": float, "cpu_seconds": float, "step_seconds": float,
            "wall_time_s": float, "val_loss": float}
IMAGE_SPACE = ("standard", "mixup", "cutout", "image_pgd")


OUTPUTS = ("results.csv", "results.json", "report.md", "accuracy.png", "cost.png",
           "differences.png", "gain_vs_bits.png")


def write_outputs(out_dir: str, rows: List[dict], config) -> None:  # config: StudyConfig
    """results.csv, results.json, report.md (from results.csv) and the plots (the
    files of OUTPUTS that apply)."""
    rows = sorted(({"step_seconds": math.nan, "cpu_seconds": math.nan,
                    "val_loss": math.nan, "diverged": 0, **r}
                   for r in rows),  # older rows lack them
                  key=lambda r: (r["variant"], r["labels_per_class"], r["method"],
                                 r["seed"]))
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = os.path.join(out_dir, "results.csv")
    io.write_atomic(csv_path, buffer.getvalue().encode())
    inputs = io.read_json(os.path.join(out_dir, provenance.FILE))
    io.write_json(os.path.join(out_dir, "results.json"), {
        "config": cfglib.to_dict(config), "rows": rows,
        **({"inputs": inputs} if inputs else {})})
    rows = read_rows(csv_path)
    flow_reports = _flow_reports(out_dir, config)
    io.write_atomic(os.path.join(out_dir, "report.md"),
                    markdown_report(rows, config, flow_reports).encode())
    shipped = shipped_flow_report(config)
    if any(evidence.flow_name(r["variant"]) for r in rows):
        io.write_atomic(os.path.join(out_dir, "gain_vs_bits.png"),
                        evidence.plot_gain_vs_bits(rows, flow_reports,
                                                   shipped[1] if shipped else None))
    if config.primary():
        io.write_atomic(os.path.join(out_dir, "differences.png"),
                        evidence.plot_differences(rows, config.primary(),
                                                  config.method_pairs()))
    io.write_atomic(os.path.join(out_dir, "accuracy.png"), plot_accuracy(rows, config))
    io.write_atomic(os.path.join(out_dir, "cost.png"), plot_cost(rows, config))


def read_rows(csv_path: str) -> List[dict]:
    with open(csv_path, newline="") as f:
        return [{k: _NUMBERS.get(k, str)(v) for k, v in r.items()}
                for r in csv.DictReader(f)]


# -- tables of runs -----------------------------------------------------------------
def best_latent(rows: List[dict], budget: int) -> Optional[str]:
    """The latent method with the best mean validation accuracy at `budget` in the
    main grid (None before any has finished)."""
    means = {}
    for r in rows:
        if r["variant"] == MAIN and r["labels_per_class"] == budget and any(
                name in registry.LATENT_MODEL
                for name in registry.label(r["augmentation"]).split("+")):
            means.setdefault(r["method"], []).append(r["val_accuracy"])
    return max(means, key=lambda m: np.mean(means[m])) if means else None


def mean_seconds(rows, budget, method, variant=MAIN, key="train_seconds") -> float:
    """Mean of a time column over a cell's runs; nan if none has it (rows from before
    step_seconds was recorded lack it)."""
    times = [r.get(key, math.nan) for r in rows if r["variant"] == variant
             and r["labels_per_class"] == budget and r["method"] == method]
    times = [t for t in times if math.isfinite(t)]
    return float(np.mean(times)) if times else math.nan


def summarize(rows: List[dict], variant=MAIN) -> Dict[Tuple[str, int], dict]:
    """{(method, budget): {mean, sd, n}} of test accuracy."""
    groups = {}
    for r in rows:
        if r["variant"] == variant:
            groups.setdefault((r["method"], r["labels_per_class"]), []).append(
                r["test_accuracy"])
    return {key: dict(zip(("mean", "sd"), mean_and_sd(v)), n=len(v))
            for key, v in groups.items()}


def best_image_space(rows, budget) -> Optional[str]:
    """The image-space method with the best mean validation accuracy at `budget`."""
    means = {m: np.mean(list(by_seed(rows, budget, m, key="val_accuracy").values()))
             for m in IMAGE_SPACE if by_seed(rows, budget, m)}
    return max(means, key=means.get) if means else None


def relative_gain(table, method: str, baseline: str, budget: int):
    """Relative test-accuracy improvement of `method` over `baseline`, in percent."""
    a, b = table.get((method, budget)), table.get((baseline, budget))
    return None if a is None or b is None else 100.0 * (a["mean"] - b["mean"]) / b["mean"]


def _methods_and_budgets(rows, config, variant=MAIN):
    present = {(r["method"], r["labels_per_class"]) for r in rows
               if r["variant"] == variant}
    order = [named(m)[0] for m in config.methods]
    methods = [m for m in order if any(p[0] == m for p in present)]
    methods += sorted({p[0] for p in present} - set(methods))
    return methods, sorted({p[1] for p in present})


def _pct(x):
    return f"{100 * x:.2f}"


def _interval(d: Paired, baseline_mean: float) -> str:
    """evidence.interval_text with the gain relative to the baseline's mean."""
    if d.n < 2:
        return evidence.interval_text(d)
    return f"{evidence.interval_text(d)} ({100 * d.mean / baseline_mean:+.1f}%)"


def _data_note(config) -> str:
    """How a dataset of the user's own was split (built-in ones have their own)."""
    if config.dataset in DATASETS:
        return ""
    fraction = 0.2 if config.test_fraction is None else config.test_fraction
    return (f" Data: {config.dataset}, its own test split or, where it has none, "
            f"{fraction:g} of each class held out (split_seed {config.split_seed or 0}); "
            "each run's report.json records which.")


def _flow_reports(out_dir: str, config) -> Dict[str, List[dict]]:
    """{name: the training reports of the study's attribution flows of that name
    trained so far}."""
    found = {}
    for name, images, budget, seed in flows.attribution_flows(config):
        path = os.path.join(flows.attribution_dir(out_dir, name, images, budget, seed),
                            "export", "report.json")
        report = io.read_json(path, default=None)
        if report:
            found.setdefault(name, []).append(report)
    return found


def _schedules(config) -> str:
    """Optimizer steps per run at each budget; methods on a schedule of their own
    grouped by schedule: "400 at 10, 800 at 50 (a and b: 2000 at 10, 2000 at 50)"."""
    at = lambda label=None: ", ".join(f"{config.steps(b, label)} at {b}"
                                      for b in config.budgets)
    own = {}
    for label in config.method_steps:
        own.setdefault(at(label), []).append(label)
    return at() + (" (" + "; ".join(
        f"{_listed(labels)}: {schedule}" for schedule, labels in own.items()) + ")"
        if own else "")


def _listed(names: List[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def markdown_report(rows: List[dict], config, flow_reports=None) -> str:
    methods, budgets = _methods_and_budgets(rows, config)
    table = summarize(rows)
    head, rule = _budget_table_head(budgets)
    seeds = ", ".join(f"{len(config.seeds_for(b))} at {b}" for b in config.budgets)
    steps = _schedules(config)
    lrs, own_lrs = _learning_rates(rows)
    decay = ("coupled (L2 in the gradient before momentum, PyTorch's SGD, as the "
             "paper's 5e-4)" if config.weight_decay_mode == "coupled" else
             "decoupled (Keras' w -= lr * wd * w)")
    lines = [f"# Low-data study: {config.dataset}, {config.model} "
             f"(width {config.model_width:g})", "",
             f"Test accuracy (%) of the final weights on the full test split; seeds: "
             f"{seeds} (a seed fixes the labelled subset, the initial weights and the "
             f"data order, so methods are compared seed by seed). Each run: {steps} "
             f"optimizer steps of batch {config.batch_size}, SGD momentum "
             f"{config.momentum:g}{' Nesterov' if config.nesterov else ''}, "
             f"{config.schedule} learning rate from "
             + ", ".join(f"{lr:.3g} at {b}" for b, lr in lrs)
             + (" (learning rates of their own: " + ", ".join(
                 f"{m} {lr:.3g} at {b}" for (b, m), lr in own_lrs) + ")" if own_lrs
                else "")
             + f", weight decay {config.weight_decay:g} {decay}. "
             + (f"Method values and learning rates: {cfglib.shown(config.tuned)} "
                "(validation-split tuning)." if config.tuned
                else "Method values: as written in the specs.")
             + " All numbers are computed from results.csv."
             + _data_note(config)]
    lines += _accuracy_section(table, methods, budgets, head, rule)
    lines += _paired_section(rows, methods, budgets, "none", head, rule)
    lines += evidence.family_section(rows, config)
    shipped = shipped_flow_report(config)
    lines += evidence.attribution_section(rows, flow_reports or {},
                                          shipped[1] if shipped else None)
    baselines = {b: best_image_space(rows, b) for b in budgets}
    if any(baselines.values()):
        lines += ["", "## Paired difference to the best image-space method", "",
                  "The image-space method (standard, mixup, cutout, image_pgd) with the "
                  "best mean validation accuracy at each budget: " + ", ".join(
                      f"{baselines[b]} at {b}" for b in budgets if baselines[b]) + ".",
                  "", head, rule]
        for m in methods:
            cells = []
            for b in budgets:
                base = baselines[b]
                mine, theirs = by_seed(rows, b, m), by_seed(rows, b, base) if base else {}
                cells.append("—" if not mine or not theirs or m == base else _interval(
                    paired(mine, theirs), np.mean(list(theirs.values()))))
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += _convergence_section(rows, config, budgets)
    lines += _divergence_lines(rows)
    lines += _cost_section(rows, methods, budgets, head, rule, config)
    lines += _capacity_section(rows)
    lines += _values_section(rows, methods, budgets, config)
    if config.notes:
        lines += ["", "## Notes", "", config.notes]
    return "\n".join(lines) + "\n"


def _learning_rates(rows):
    """([(budget, lr most main runs of the budget share)], [((budget, method), lr)]
    of the methods trained at a learning rate of their own)."""
    main = [r for r in rows if r["variant"] == MAIN]
    shared, own = {}, {}
    for b in sorted({r["labels_per_class"] for r in main}):
        counts = collections.Counter(r["lr"] for r in main if r["labels_per_class"] == b)
        shared[b] = counts.most_common(1)[0][0]
        own.update({(b, r["method"]): r["lr"] for r in main
                    if r["labels_per_class"] == b and r["lr"] != shared[b]})
    return sorted(shared.items()), sorted(own.items())


def _budget_table_head(budgets):
    """The header and rule lines of a table with a column per budget."""
    return ("| method | " + " | ".join(f"{b} labels/class" for b in budgets) + " |",
            "|---|" + "---|" * len(budgets))


def _accuracy_section(table, methods, budgets, head, rule):
    lines = ["", "## Test accuracy", "", "mean ± sd (n)", "", head, rule]
    for m in methods:
        cells = [f"{_pct(s['mean'])} ± {_pct(s['sd'])} ({s['n']})"
                 if (s := table.get((m, b))) else "—" for b in budgets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _readme_tables(rows: List[dict], config) -> str:
    """The test-accuracy and paired-difference tables, and the declared primary
    comparison with its Holm family if the study has one, as README.md shows them."""
    methods, budgets = _methods_and_budgets(rows, config)
    head, rule = _budget_table_head(budgets)
    lines = (_accuracy_section(summarize(rows), methods, budgets, head, rule)
             + _paired_section(rows, methods, budgets, "none", head, rule)
             + evidence.family_section(rows, config))
    return "\n".join(line.replace("## ", "#### ", 1) for line in lines[1:]) + "\n"


def update_readme(path: str, name: str, rows: List[dict], config) -> None:
    """Rewrites the text of Markdown file `path` between the lines
    `<!-- study:NAME begin -->` and `<!-- study:NAME end -->` with the study's tables."""
    begin, end = f"<!-- study:{name} begin -->", f"<!-- study:{name} end -->"
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"Cannot read {path} ({e.strerror}).") from None
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(
            end):
        raise ConfigError(f"{path} needs one line {begin} and, after it, one line {end} "
                          "around the tables to regenerate.")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    io.write_atomic(path, f"{head}{begin}\n{_readme_tables(rows, config)}{end}{tail}"
                    .encode())


def _paired_section(rows, methods, budgets, baseline, head, rule):
    lines = ["", f"## Paired difference to `{baseline}`", "",
             "Accuracy points, mean over seeds of (method - none) with a 95% t interval; "
             "* where the interval excludes zero; relative gain in brackets.", "",
             head, rule]
    for m in methods:
        if m == baseline:
            continue
        cells = []
        for b in budgets:
            mine, base = by_seed(rows, b, m), by_seed(rows, b, baseline)
            cells.append(_interval(paired(mine, base), np.mean(list(base.values())))
                         if mine and base else "—")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _convergence_section(rows, config, budgets):
    lines = ["", "## Convergence of `none`", "",
             f"Gain of validation accuracy over the last quarter of training (least-"
             f"squares line through the epoch-end evaluations), mean over seeds; "
             f"plateaued when below {100 * PLATEAU_THRESHOLD:g} points."]
    has_matched = any(r["variant"] == MATCHED for r in rows)
    head = "| budget | steps | last-quarter gain (points) | plateaued |"
    rule = "|---|---|---|---|"
    if has_matched:
        lines[-1] += (" Matched compute: `none` trained for as many seconds as the best "
                      "latent method took (more steps, same schedule shape).")
        head += (" none at matched compute: steps, training seconds, paired difference "
                 "to none | best latent method (by validation) minus matched none |")
        rule += "---|---|"
    lines += ["", head, rule]
    for b in budgets:
        gain = _last_quarter_gain(rows, b, "none")
        if gain is None:
            continue
        line = f"| {b} | {config.steps(b)} | {_plateau_cells(gain)} |"
        if has_matched:
            matched = by_seed(rows, b, "none", MATCHED)
            base = by_seed(rows, b, "none")
            steps = sorted({r["steps"] for r in rows if r["variant"] == MATCHED
                            and r["labels_per_class"] == b})
            seconds = mean_seconds(rows, b, "none", MATCHED)
            latent = best_latent(rows, b)
            if matched and base and latent:
                gain = paired(matched, base)
                behind = paired(by_seed(rows, b, latent), matched)
                line += (f" {', '.join(map(str, steps))}, {seconds:.0f} s: "
                         f"{_interval(gain, np.mean(list(base.values())))} | {latent}: "
                         f"{_interval(behind, np.mean(list(matched.values())))} |")
            else:
                line += " — | — |"
        lines.append(line)
    return lines + _own_schedules(rows, config, budgets)


def _divergence_lines(rows) -> List[str]:
    """Which runs diverged (final validation loss over ten times a uniform guess's:
    their accuracies are no result), or that none did; nothing for results.csv files
    from before the check."""
    if not rows or "diverged" not in rows[0]:
        return []
    known = [r for r in rows if r["diverged"] or math.isfinite(r["val_loss"])]
    if not known:
        return []
    rule = "final validation loss over ten times a uniform guess's"
    bad = [f"{r['method']}" + (f" ({r['variant']})" if r["variant"] else "")
           + f" at {r['labels_per_class']} seed {r['seed']} (loss {r['val_loss']:.3g})"
           for r in known if r["diverged"]]
    text = (f"Diverged ({rule}; their accuracies count in the tables above): "
            + ", ".join(bad) + "." if bad else
            f"No run diverged ({rule}): the largest is "
            f"{max(r['val_loss'] for r in known):.3g}.")
    if len(known) < len(rows):
        text += f" Runs without a validation loss on record: {len(rows) - len(known)}."
    return ["", "## Divergence", "", text]


def _last_quarter_gain(rows, budget, method) -> Optional[float]:
    """Mean over seeds of `method`'s last-quarter validation gain at `budget` (None
    without a measured one)."""
    gains = [r["val_last_quarter_gain"] for r in rows if r["variant"] == MAIN
             and r["method"] == method and r["labels_per_class"] == budget
             and not math.isnan(r["val_last_quarter_gain"])]
    return float(np.mean(gains)) if gains else None


def _plateau_cells(gain: float) -> str:
    return f"{100 * gain:+.2f} | {'yes' if gain < PLATEAU_THRESHOLD else 'NO'}"


def _own_schedules(rows, config, budgets):
    """The same check for the methods trained on schedules of their own."""
    lines = [f"| {label}: {b} | {config.steps(b, label)} | {_plateau_cells(gain)} |"
             for label in config.method_steps for b in budgets
             for gain in [_last_quarter_gain(rows, b, label)] if gain is not None]
    if not lines:
        return []
    return ["", "Methods on schedules of their own (method_steps), the same check:",
            "", "| method: budget | steps | last-quarter gain (points) | plateaued |",
            "|---|---|---|---|", *lines]


def shipped_flow_report(config) -> Optional[Tuple[str, dict]]:
    """(directory, training report) of the study's flow (--flow, else the one shipped
    for the dataset); None when the study uses no flow or it has no report."""
    if not any(registry.needs_flow(named(m)[1]) for m in config.methods):
        return None
    from tfaug.flows.export import PRETRAINED_DIR
    try:
        directory = config.flow or io.shipped(PRETRAINED_DIR, config.dataset,
                                              "glow.json", "flow")
        report = io.read_json(os.path.join(directory, "report.json"), default={})
    except (CheckpointError, OSError, ValueError):  # the cost unreported, not the study
        return None
    return (directory, report) if isinstance(report, dict) and report else None


def flow_cost(config, key: str = "train_seconds") -> Optional[dict]:
    """How long the study's flow took to train ({"seconds", "steps", "directory"}):
    wall-clock seconds, or with key "cpu_seconds" its CPU seconds, from the report
    exported with it; None when the study uses no flow or its report does not say."""
    found = shipped_flow_report(config)
    field = {"train_seconds": "train_seconds", "cpu_seconds": "train_cpu_seconds"}[key]
    if not found or not found[1].get(field):
        return None
    directory, report = found
    return {"seconds": float(report[field]), "steps": report.get("steps"),
            "directory": cfglib.shown(directory)}


def _flow_share(rows, config, key: str = "train_seconds") -> Optional[dict]:
    """flow_cost with the methods that use the flow ("methods"), how many runs do
    ("runs") and the flow's seconds per such run ("per_run"); None without a flow or
    its time."""
    flow = flow_cost(config, key)
    users = [r for r in rows if registry.needs_flow(r["augmentation"])]
    if not flow or not users:
        return None
    return {**flow, "methods": {r["method"] for r in users}, "runs": len(users),
            "per_run": flow["seconds"] / len(users)}


def cost_key(rows) -> str:
    """What the cost table and plot measure: "cpu_seconds" when every run of the
    main grid recorded its CPU seconds (the work it did, whatever else shared the
    cores), else "train_seconds" (wall clock)."""
    main = [r for r in rows if r["variant"] == MAIN]
    return "cpu_seconds" if main and all(
        math.isfinite(r.get("cpu_seconds", math.nan)) for r in main) else "train_seconds"


def cost_ratio(rows, budget, method, baseline="none", key="train_seconds"
               ) -> Optional[Paired]:
    """Seconds (column `key`) of `method` over `baseline`'s at `budget`, paired by
    seed (stats.paired_ratio); None without a seed in common."""
    mine, base = (by_seed(rows, budget, m, key=key) for m in (method, baseline))
    return paired_ratio(mine, base) if set(mine) & set(base) else None


def _with_interval(d: Paired, fmt: str, unit: str = "") -> str:
    """"mean[unit] [low, high]", or the mean alone from one seed."""
    mean = f"{d.mean:{fmt}}{unit}"
    return f"{mean} [{d.low:{fmt}}, {d.high:{fmt}}]" if d.n > 1 else mean


_COST_MEASURES = {
    "train_seconds": "Training seconds per run (mean over seeds: the epochs including "
                     "their validation, plus encoding cached latents), 2 CPU cores.",
    "cpu_seconds": "CPU seconds per run (mean over seeds: the process's CPU time, "
                   "every thread, in the epochs including their validation, plus "
                   "encoding cached latents): the work a run did, whatever else shared "
                   "the machine's 2 cores (wall-clock seconds: train_seconds in "
                   "results.csv)."}


def _cost_section(rows, methods, budgets, head, rule, config):
    key = cost_key(rows)
    lines = ["", "## Cost", ""]
    if config.cost_timing:
        lines += _one_sitting_table(config.cost_timing, rows, methods, budgets, head,
                                    rule)
        lines += ["", _COST_MEASURES[key] + " These runs trained on more than one "
                  "machine, so they are not set against each other; the ratios are "
                  "the table's above.", "", head, rule]
    else:
        lines += [_COST_MEASURES[key] + " In brackets the ratio to `none`'s at the "
                  "same budget, paired by seed (the geometric mean of the per-seed "
                  "ratios with its 95% t interval), so that a change in the machine's "
                  "speed between seeds cancels. Plot: cost.png.", "", head, rule]
    for m in methods:
        cells = []
        for b in budgets:
            t = mean_seconds(rows, b, m, key=key)
            r = (cost_ratio(rows, b, m, key=key)
                 if m != "none" and not config.cost_timing else None)
            ratio = f" ({_with_interval(r, '.2f', 'x')})" if r else ""
            cells.append(f"{t:.0f}{ratio}" if math.isfinite(t) else "—")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    flow = _flow_share(rows, config, key)
    unit = "CPU seconds" if key == "cpu_seconds" else "s"
    if flow:
        lines += ["", f"The flow these latent methods use ({flow['directory']}) trained "
                  f"for {flow['seconds']:.0f} {unit} ({flow['seconds'] / 60:.0f} min"
                  + (f", {flow['steps']} steps" if flow.get("steps") else "")
                  + f") once, without labels. Amortised over the {flow['runs']} runs "
                  f"of this study that use it, that is {flow['per_run']:.0f} {unit} per "
                  "run on top of the seconds above (the hollow markers in cost.png); a "
                  "study of one run would pay all of it."]
    elif key == "cpu_seconds" and (wall := _flow_share(rows, config)):
        lines += ["", f"The flow these latent methods use ({wall['directory']}) trained "
                  f"for {wall['seconds']:.0f} s of wall clock once, without labels "
                  f"({wall['per_run']:.0f} s per run of this study that uses it); its "
                  "CPU seconds were not recorded, so it is not added above."]
    return lines


def _one_sitting_table(path, rows, methods, budgets, head, rule):
    about, seconds = one_sitting.read_timing(path, rows)
    lines = [f"Seconds of training per run, timed in one sitting "
             f"({cfglib.shown(cfglib.from_root(path))}: {about['machine']}, "
             f"{about['measured']}): a step of each row as it trained (its spec with "
             "its values, its model and labelled set, the pool's latents cached where "
             "the trainer caches them), times its optimizer steps; in brackets the "
             "ratio to `none`'s at the same budget. Left out: per-epoch validation and "
             "encoding cached latents, which the seconds per run below include. Plot: "
             "cost.png.", "",
             head, rule]
    for m in methods:
        cells = []
        for b in budgets:
            run, base = seconds.get((b, m)), seconds.get((b, "none"))
            ratio = f" ({run / base:.2f}x)" if run and base and m != "none" else ""
            cells.append(f"{run:.0f}{ratio}" if run else "—")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _capacity_section(rows):
    capacity = [r for r in rows if r["variant"] == CAPACITY]
    if not capacity:
        return []
    model = f"{capacity[0]['model']} width {capacity[0]['model_width']:g}"
    lines = ["", "## Capacity", "", f"The same comparison with a larger classifier "
             f"({model}), same schedules and values. Test accuracy (mean ± sd) and "
             "paired difference to `none` of that classifier; the gain of the main "
             "classifier beside it. Kept as a lever where its gain on these runs' "
             "validation splits exceeds the main classifier's on the same seeds "
             "(validation points, this classifier vs the main one).", "",
             "| budget | method | test accuracy | vs none | main classifier vs none | "
             "validation gain: kept? |", "|---|---|---|---|---|---|"]
    for b in sorted({r["labels_per_class"] for r in capacity}):
        base = by_seed(rows, b, "none", CAPACITY)
        for m in sorted({r["method"] for r in capacity if r["labels_per_class"] == b},
                        key=lambda m: (m != "none", m)):
            mine = by_seed(rows, b, m, CAPACITY)
            mean, sd = mean_and_sd(list(mine.values()))
            vs = "—" if m == "none" or not base else _interval(
                paired(mine, base), np.mean(list(base.values())))
            main_mine, main_base = by_seed(rows, b, m), by_seed(rows, b, "none")
            main = "—" if m == "none" or not main_mine or not main_base else _interval(
                paired(main_mine, main_base), np.mean(list(main_base.values())))
            lines.append(f"| {b} | {m} | {_pct(mean)} ± {_pct(sd)} ({len(mine)}) | "
                         f"{vs} | {main} | {_capacity_verdict(rows, b, m, set(mine))} |")
    return lines


def _capacity_verdict(rows, budget, method, seeds) -> str:
    """The mean validation gain over `none` of the capacity runs and of the main
    classifier's runs on the same `seeds` (the capacity runs'), and whether the
    first is larger."""
    def gain(variant, seeds=None):
        mine, base = (by_seed(rows, budget, m, variant, "val_accuracy")
                      for m in (method, "none"))
        mine = {s: v for s, v in mine.items() if v is not None
                and base.get(s) is not None and (seeds is None or s in seeds)}
        return paired(mine, base) if mine else None

    if method == "none":
        return "—"
    large = gain(CAPACITY)
    main = gain(MAIN, seeds)
    if large is None or main is None or main.n != large.n:
        return "—"
    kept = "kept" if large.mean > main.mean else "not kept"
    return (f"{100 * large.mean:+.2f} vs {100 * main.mean:+.2f} ({large.n} seeds): "
            f"{kept}")


def _values_section(rows, methods, budgets, config):
    lines = ["", "## Values used", "", "| budget | method | augmentation | lr |",
             "|---|---|---|---|"]
    for b in budgets:
        for m in methods:
            used = {(r["augmentation"], r["lr"]) for r in rows if r["variant"] == MAIN
                    and r["method"] == m and r["labels_per_class"] == b}
            for spec, lr in sorted(used):
                lines.append(f"| {b} | {m} | `{spec}` | {lr:.3g} |")
    return lines


# -- plots ----------------------------------------------------------------------------
def plot_accuracy(rows, config) -> bytes:
    """PNG bytes: test accuracy vs labels per class, one line per method."""
    plt = plots.pyplot()
    methods, budgets = _methods_and_budgets(rows, config)
    table = summarize(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for m in methods:
        points = [(b, table[(m, b)]) for b in budgets if (m, b) in table]
        ax.errorbar([b for b, _ in points], [100 * s["mean"] for _, s in points],
                    yerr=[100 * s["sd"] for _, s in points], marker="o", capsize=3,
                    label=m)
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{config.dataset}: {config.model}, mean ± sd over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return plots.png(fig, plt)


Point = Tuple[float, float, float, float]  # seconds, their sd, accuracy %, its sd


def cost_points(rows, config) -> Dict[int, Dict[str, Point]]:
    """{budget: {label: (seconds per run, their sd, test accuracy %, its sd)}} of each
    method (and of `none` at matched compute): the seconds of one sitting
    (config.cost_timing, no sd) where the study has them, else each run's cost_key."""
    key = cost_key(rows)
    timed = (one_sitting.read_timing(config.cost_timing, rows)[1]
             if config.cost_timing else None)
    methods, budgets = _methods_and_budgets(rows, config)
    points = {b: {} for b in budgets}
    for b in budgets:
        for m in methods + ["none (matched compute)"]:
            variant, name = (MATCHED, "none") if m.endswith("compute)") else (MAIN, m)
            mine = [r for r in rows if r["variant"] == variant and r["method"] == name
                    and r["labels_per_class"] == b]
            if not mine:
                continue
            if timed is None:
                seconds = mean_and_sd([r.get(key, math.nan) for r in mine])
            elif variant == MAIN and (b, name) in timed:
                seconds = (timed[b, name], 0.0)
            else:
                continue
            points[b][m] = (*seconds, *mean_and_sd([100 * r["test_accuracy"]
                                                     for r in mine]))
    return points


def plot_cost(rows, config) -> bytes:
    """PNG bytes: test accuracy against cost (cost_points), one panel per budget; for
    latent methods a hollow marker adds their share of the flow's training time."""
    plt = plots.pyplot()
    points = cost_points(rows, config)
    key = cost_key(rows)
    flow = None if config.cost_timing else _flow_share(rows, config, key)
    xlabel = ("training seconds per run (one sitting)" if config.cost_timing else
              "CPU seconds per run" if key == "cpu_seconds" else
              "training seconds per run (2 CPU cores)")
    fig, axes = plt.subplots(1, len(points), figsize=(4 * len(points), 4), dpi=110,
                             squeeze=False)
    for ax, (b, budget_points) in zip(axes[0], points.items()):
        for m, (t, t_sd, a, a_sd) in budget_points.items():
            bar = ax.errorbar(t, a, xerr=t_sd, yerr=a_sd, marker="o", capsize=2,
                              label=m)
            if flow and m in flow["methods"]:
                shifted = t + flow["per_run"]
                ax.plot([t, shifted], [a] * 2, ":", color=bar[0].get_color())
                ax.plot(shifted, a, "o", mfc="none", color=bar[0].get_color())
        _budget_panel(ax, b, xlabel, "test accuracy (%)")
    axes[0][-1].legend(fontsize=6)
    return plots.png(fig, plt)


def _budget_panel(ax, budget, xlabel, ylabel):
    """Log x axis, title and labels of one budget's panel."""
    ax.set_xscale("log")
    ax.set_title(f"{budget} labels per class")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def frontier_points(rows, baseline="none") -> Dict[Tuple[int, str], Tuple[Paired, Paired]]:
    """{(budget, method): (cost ratio to `baseline`, test-accuracy gain over it in
    points)}, both paired by seed within the study, so studies run in different
    sittings can be set side by side."""
    points = {}
    for b in sorted({r["labels_per_class"] for r in rows}):
        base_acc = by_seed(rows, b, baseline)
        for m in sorted({r["method"] for r in rows if r["variant"] == MAIN} - {baseline}):
            acc = by_seed(rows, b, m)
            if set(acc) & set(base_acc):
                points[b, m] = (cost_ratio(rows, b, m, baseline),
                                paired(acc, base_acc).scaled(100))
    return points


def frontier_table(studies: Dict[str, List[dict]]) -> str:
    """The points of plot_frontier as a Markdown table, per budget cheapest first."""
    points = [(b, cost, gain, m, name) for name, rows in studies.items()
              for (b, m), (cost, gain) in frontier_points(rows).items()]
    lines = ["| labels/class | method (study) | seconds, x none's | gain over none "
             "(points) | seeds |", "|---|---|---|---|---|"]
    for b, cost, gain, m, name in sorted(points, key=lambda p: (p[0], p[1].mean)):
        lines.append(f"| {b} | {m} ({name}) | {_with_interval(cost, '.2f')} | "
                     f"{_with_interval(gain, '+.2f')} | {cost.n} |")
    return "\n".join(lines) + "\n"


def plot_frontier(studies: Dict[str, List[dict]]) -> bytes:
    """PNG bytes: for each budget, every method of every study (marker per study) at
    its paired cost ratio and accuracy gain over `none` with their 95% intervals; the
    dashed line joins the frontier (no other point is cheaper and at least as good)."""
    plt = plots.pyplot()
    points = {name: frontier_points(rows) for name, rows in studies.items()}
    budgets = sorted({b for p in points.values() for b, _ in p})
    fig, axes = plt.subplots(1, len(budgets), figsize=(5 * len(budgets), 4.5), dpi=110,
                             squeeze=False)
    colors, markers, palette = {}, "osD^v<>p", plt.get_cmap("tab20").colors
    for ax, b in zip(axes[0], budgets):
        ax.plot(1, 0, "k*", markersize=10, label="none")
        ends = [(1.0, 0.0)]
        for (name, p), marker in zip(points.items(), markers):
            for (budget, m), (cost, gain) in p.items():
                if budget != b:
                    continue
                color = colors.setdefault(m, palette[len(colors) % len(palette)])
                ax.errorbar(cost.mean, gain.mean, xerr=cost.error_bar(),
                            yerr=gain.error_bar(),
                            fmt=marker, color=color, capsize=2, alpha=0.9,
                            label=f"{m} ({name})")
                ends.append((cost.mean, gain.mean))
        best, line = -math.inf, []
        for x, y in sorted(ends):
            if y > best:
                best = y
                line.append((x, y))
        ax.step(*zip(*line), "k--", where="post", linewidth=0.8, alpha=0.6)
        ax.axhline(0, color="grey", linewidth=0.5)
        _budget_panel(ax, b, "training seconds, x none's (paired by seed)",
                      "test accuracy gain over none (points)")
    axes[0][-1].legend(fontsize=6)
    return plots.png(fig, plt)
