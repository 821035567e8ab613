"""Search curves of a tune_methods directory: each search's validation accuracy trial
by trial (in the order run) and the best so far, read from the searches' summaries;
written as curves.md and curves.png beside tuned.json."""

import glob
import os
from typing import Dict, List, Optional

import numpy as np

from tfaug import io, plots


def search_curves(out_dir: str) -> Dict[int, Dict[str, List[Optional[float]]]]:
    """{budget: {method: [validation accuracy of trial 1, 2, ...]}} of every finished
    search under out_dir (a failed trial: None)."""
    curves = {}
    for path in glob.glob(os.path.join(out_dir, "lpc*", "*", "summary.json")):
        label_dir = os.path.dirname(path)
        budget = int(os.path.basename(os.path.dirname(label_dir))[len("lpc"):])
        trials = sorted(io.read_json(path)["trials"], key=lambda t: t["trial_id"])
        curves.setdefault(budget, {})[os.path.basename(label_dir)] = [
            t["val_accuracy"] for t in trials]
    return {b: dict(sorted(curves[b].items())) for b in sorted(curves)}


def best_so_far(scores: List[Optional[float]]) -> List[float]:
    return list(np.fmax.accumulate([np.nan if s is None else s for s in scores]))


def curves_markdown(curves, random_starts: Optional[int]) -> str:
    lines = ["# Search curves", "",
             "Validation accuracy (%) of each trial in the order run; **bold**: the "
             "trial chosen. " + (f"The first {random_starts} trials of each search are "
                                 "random, the rest guided by the tuner's model."
                                 if random_starts else "")]
    for budget, methods in curves.items():
        width = max(len(s) for s in methods.values())
        lines += ["", f"## {budget} labels per class", "",
                  "| method | " + " | ".join(str(i + 1) for i in range(width)) + " |",
                  "|---" * (width + 1) + "|"]
        for label, scores in methods.items():
            best = int(np.nanargmax([np.nan if s is None else s for s in scores]))
            cells = ["-" if s is None else (f"**{100 * s:.1f}**" if i == best
                                             else f"{100 * s:.1f}")
                     for i, s in enumerate(scores)]
            lines.append(f"| {label} | " + " | ".join(cells + [""] * (width - len(cells)))
                         + " |")
    return "\n".join(lines) + "\n"


def plot_curves(curves) -> bytes:
    """PNG bytes: best validation accuracy so far against trials, one panel per
    budget, one line per method (dots: each trial)."""
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4),
                             squeeze=False)
    for ax, (budget, methods) in zip(axes[0], curves.items()):
        for label, scores in methods.items():
            trials = np.arange(1, len(scores) + 1)
            line, = ax.plot(trials, 100 * np.array(best_so_far(scores)), label=label)
            ax.scatter(trials, [np.nan if s is None else 100 * s for s in scores],
                       s=10, color=line.get_color())
        ax.set(title=f"{budget} labels per class", xlabel="trial",
               ylabel="validation accuracy (%), best so far")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    return plots.png(fig, plt)


def write_curves(out_dir: str, random_starts: Optional[int] = None) -> None:
    curves = search_curves(out_dir)
    if curves:
        io.write_atomic(os.path.join(out_dir, "curves.md"),
                        curves_markdown(curves, random_starts).encode())
        io.write_atomic(os.path.join(out_dir, "curves.png"), plot_curves(curves))
