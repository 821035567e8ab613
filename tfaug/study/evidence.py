"""What a reviewer reads first: the comparison declared primary before the runs and
every other comparison, Holm-adjusted as one family; what the latent methods owe to
the unlabelled images their flow saw (runs with attribution flows); and a plot of the
paired differences with their intervals."""

from typing import Dict, List, NamedTuple, Optional

import numpy as np

from tfaug import plots
from tfaug.study.flows import KIND_OF, VARIANT_OF
from tfaug.study.stats import holm, paired, paired_p

MAIN = ""  # report.MAIN, the main grid's variant (report imports this module)


class Comparison(NamedTuple):
    name: str
    budget: int
    mine: Dict[int, float]   # {seed: test accuracy}
    base: Dict[int, float]


def _seeds(rows, budget, method, variant=MAIN):
    return {r["seed"]: r["test_accuracy"] for r in rows if r["labels_per_class"] ==
            budget and r["method"] == method and r["variant"] == variant}


def comparisons(rows) -> List[Comparison]:
    """Every method against `none` (main runs and attribution runs), and every method
    with the shipped flow against itself with each attribution flow."""
    found = []
    for budget in sorted({r["labels_per_class"] for r in rows}):
        base = _seeds(rows, budget, "none")
        methods = sorted({r["method"] for r in rows if r["labels_per_class"] == budget
                          and r["variant"] in (MAIN, *KIND_OF)} - {"none"})
        for m in methods:
            shipped = _seeds(rows, budget, m)
            found.append(Comparison(f"{m} - none", budget, shipped, base))
            for variant in VARIANT_OF.values():
                other = _seeds(rows, budget, m, variant)
                if other:
                    found += [Comparison(f"{m} ({variant}) - none", budget, other, base),
                              Comparison(f"{m} - {m} ({variant})", budget, shipped,
                                         other)]
    return [c for c in found if set(c.mine) & set(c.base)]


def _cell(d, base_mean):
    text = f"{100 * d.mean:+.2f} [{100 * d.low:+.2f}, {100 * d.high:+.2f}]"
    return text + ("*" if d.excludes_zero else "")


def family_section(rows, config) -> List[str]:
    """The primary comparison, then the others with Holm-adjusted p-values and
    intervals; empty when the study declares no primary comparison."""
    if not config.primary_method:
        return []
    primary = (f"{config.primary_method} - none", config.primary_budget)
    found = comparisons(rows)
    first = [c for c in found if (c.name, c.budget) == primary]
    others = [c for c in found if (c.name, c.budget) != primary]
    adjusted = holm({i: paired_p(c.mine, c.base) for i, c in enumerate(others)})
    lines = ["", "## Primary comparison, and the others adjusted for multiplicity", "",
             f"Declared before the runs: `{primary[0]}` at {primary[1]} labels per "
             "class, unadjusted. Every other comparison below is one family of "
             f"{len(others)} paired t-tests, Holm-adjusted: the adjusted p, and the "
             "interval at the level of the comparison's Holm step (1 - 0.05 / (m - "
             "rank + 1)). Accuracy points, test split, paired by seed; * where the "
             "interval excludes zero; relative to the baseline's mean in the last "
             "column.", "",
             "| comparison | labels/class | seeds | difference [95%] | p | Holm p | "
             "difference [Holm level] | relative |", "|---|---|---|---|---|---|---|---|"]
    for c in first:
        d = paired(c.mine, c.base)
        lines.append(f"| **{c.name}** (primary) | {c.budget} | {d.n} | "
                     f"{_cell(d, 0)} | {paired_p(c.mine, c.base):.3g} | — | — | "
                     f"{_relative(d, c.base)} |")
    order = sorted(range(len(others)), key=lambda i: (others[i].budget, others[i].name))
    for i in order:
        c = others[i]
        d = paired(c.mine, c.base)
        p_holm, level = adjusted[i]
        wide = paired(c.mine, c.base, level)
        lines.append(f"| {c.name} | {c.budget} | {d.n} | {_cell(d, 0)} | "
                     f"{paired_p(c.mine, c.base):.3g} | {p_holm:.3g} | "
                     f"{_cell(wide, 0)} ({100 * level:.2f}%) | {_relative(d, c.base)} |")
    return lines


def _relative(d, base) -> str:
    return f"{100 * d.mean / np.mean(list(base.values())):+.1f}%"


def attribution_section(rows, flow_reports: Dict[str, List[dict]]) -> List[str]:
    """Each attribution method with the shipped flow and with each attribution flow:
    its paired difference to `none`, and what those flows cost and reached."""
    methods = sorted({(r["labels_per_class"], r["method"]) for r in rows
                      if r["variant"] in KIND_OF})
    if not methods:
        return []
    kinds = [v for v in VARIANT_OF.values() if any(r["variant"] == v for r in rows)]
    lines = ["", "## What the flow's unlabelled images contribute", "",
             "Each method trained with the shipped flow (all training images, the "
             "validation images included) and with flows trained on less: "
             "`labelled-only flow` saw only the seed's labelled and validation images "
             "(what its classifier may use anyway), `flow without validation` the "
             "training split without any study seed's validation images. Paired "
             "difference to `none` (accuracy points, 95% t interval).", "",
             "| labels/class | method | shipped flow | " + " | ".join(kinds) + " |",
             "|---|---|---|" + "---|" * len(kinds)]
    for budget, m in methods:
        base = _seeds(rows, budget, "none")
        cells = [_cell(paired(_seeds(rows, budget, m, v), base), 0)
                 if _seeds(rows, budget, m, v) else "—" for v in (MAIN, *kinds)]
        lines.append(f"| {budget} | {m} | " + " | ".join(cells) + " |")
    if flow_reports:
        lines += ["", "| flow | flows | images each | test bits/dim | training seconds "
                      "each |", "|---|---|---|---|---|"]
        for kind, reports in flow_reports.items():
            if reports:
                bpd = [r["final_test_bits_per_dim"] for r in reports]
                secs = [r["train_seconds"] for r in reports]
                size = sorted({r.get("train_examples") for r in reports} - {None})
                lines.append(f"| {VARIANT_OF[kind]} | {len(reports)} | "
                             f"{', '.join(map(str, size)) or '—'} | "
                             f"{np.mean(bpd):.3f} (range {min(bpd):.3f}-{max(bpd):.3f}) | "
                             f"{np.mean(secs):.0f} |")
    return lines


def plot_differences(rows, primary: Optional[tuple] = None) -> bytes:
    """PNG bytes: every comparison's paired difference (points) with its 95%
    interval, one panel per budget; the primary comparison in bold."""
    plt = plots.pyplot()
    found = comparisons(rows)
    budgets = sorted({c.budget for c in found}) or [0]
    fig, axes = plt.subplots(1, len(budgets), figsize=(5 * len(budgets), 1 + 0.35 * max(
        (sum(c.budget == b for c in found) for b in budgets), default=1)), dpi=110,
        squeeze=False)
    for ax, b in zip(axes[0], budgets):
        mine = [c for c in found if c.budget == b]
        for y, c in enumerate(mine):
            d = paired(c.mine, c.base)
            bold = primary == (c.name, c.budget)
            ax.errorbar(100 * d.mean, y, xerr=[[100 * (d.mean - d.low)],
                                               [100 * (d.high - d.mean)]]
                        if d.n > 1 else None, fmt="o", capsize=3,
                        color="C3" if bold else "C0")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(mine)), [c.name for c in mine], fontsize=7)
        ax.invert_yaxis()
        ax.set(title=f"{b} labels per class", xlabel="paired difference in test "
               "accuracy (points), 95% interval")
        ax.grid(alpha=0.3, axis="x")
    return plots.png(fig, plt)
