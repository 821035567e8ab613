"""A study's outputs, written atomically: results.csv and results.json (one row per
run), report.md (computed from results.csv alone) and accuracy.png."""

import csv
import io as _io
import os
from typing import Dict, List, Tuple

import numpy as np

from tfaug import config as cfglib
from tfaug import io

COLUMNS = ("labels_per_class", "method", "seed", "val_accuracy", "test_accuracy",
           "wall_time_s", "train_size", "optimizer_steps")


def write_outputs(out_dir: str, rows: List[dict], config) -> None:  # config: StudyConfig
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


def markdown_report(table, config) -> str:
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


def plot(table, config) -> bytes:
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
