"""What a reviewer reads first: the comparison declared primary before the runs and
every other comparison, Holm-adjusted as one family; what the latent methods owe to
the unlabelled images their flow saw (runs with attribution flows); and a plot of the
paired differences with their intervals."""

from typing import Dict, List, NamedTuple, Optional

import numpy as np

from tfaug import plots
from tfaug.study.flows import flow_name
from tfaug.study.rows import MAIN, by_seed
from tfaug.study.stats import holm, paired, paired_p



class Comparison(NamedTuple):
    name: str
    budget: int
    mine: Dict[int, float]   # {seed: test accuracy}
    base: Dict[int, float]


def comparisons(rows, pairs=()) -> List[Comparison]:
    """Every method against `none` (main runs and attribution runs), every method
    with the shipped flow against itself with each attribution flow, and each pair
    (a, b) of method labels in `pairs`."""
    found = []
    for budget in sorted({r["labels_per_class"] for r in rows}):
        found += [Comparison(f"{a} - {b}", budget, by_seed(rows, budget, a),
                             by_seed(rows, budget, b)) for a, b in pairs]
        base = by_seed(rows, budget, "none")
        methods = sorted({r["method"] for r in rows if r["labels_per_class"] == budget
                          and (r["variant"] == MAIN or flow_name(r["variant"]))}
                         - {"none"})
        for m in methods:
            shipped = by_seed(rows, budget, m)
            found.append(Comparison(f"{m} - none", budget, shipped, base))
            for variant in _flow_variants(rows):
                other = by_seed(rows, budget, m, variant)
                if other:
                    found += [Comparison(f"{m} ({variant}) - none", budget, other, base),
                              Comparison(f"{m} - {m} ({variant})", budget, shipped,
                                         other)]
    return [c for c in found if set(c.mine) & set(c.base)]


def _flow_variants(rows) -> List[str]:
    return sorted({r["variant"] for r in rows if flow_name(r["variant"])})


def interval_text(d) -> str:
    """A paired difference in points with its interval (a single seed has none)."""
    if d.n < 2:
        return f"{100 * d.mean:+.2f} (1 seed)"
    text = f"{100 * d.mean:+.2f} [{100 * d.low:+.2f}, {100 * d.high:+.2f}]"
    return text + ("*" if d.excludes_zero else "")


def family_section(rows, config) -> List[str]:
    """The primary comparison, then the others with Holm-adjusted p-values and
    intervals; empty when the study declares no primary comparison."""
    primary = config.primary()
    if primary is None:
        return []
    found = comparisons(rows, config.method_pairs())
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
                     f"{interval_text(d)} | {paired_p(c.mine, c.base):.3g} | — | — | "
                     f"{_relative(d, c.base)} |")
    order = sorted(range(len(others)), key=lambda i: (others[i].budget, others[i].name))
    for i in order:
        c = others[i]
        d = paired(c.mine, c.base)
        p_holm, level = adjusted[i]
        wide = paired(c.mine, c.base, level)
        lines.append(f"| {c.name} | {c.budget} | {d.n} | {interval_text(d)} | "
                     f"{paired_p(c.mine, c.base):.3g} | {p_holm:.3g} | "
                     f"{interval_text(wide)} ({100 * level:.2f}%) | "
                     f"{_relative(d, c.base)} |")
    return lines


def _relative(d, base) -> str:
    return f"{100 * d.mean / np.mean(list(base.values())):+.1f}%"


def attribution_section(rows, flow_reports: Dict[str, List[dict]],
                        shipped: Optional[dict] = None) -> List[str]:
    """Each attribution method with the shipped flow and with each attribution flow:
    its paired difference to `none`, and what those flows cost and reached."""
    methods = sorted({(r["labels_per_class"], r["method"]) for r in rows
                      if flow_name(r["variant"])})
    if not methods:
        return []
    variants = _flow_variants(rows)
    lines = ["", "## What the flow contributes: its images, its quality", "",
             "Each method trained with the shipped flow (all training images, the "
             "validation images included) and with the study's attribution flows "
             "(`labelled`: only the seed's labelled and validation images, what its "
             "classifier may use anyway; `unlabelled`: the training split without any "
             "study seed's validation images; `all`: every training image, another "
             "preset). Paired difference to `none` (accuracy points, 95% t interval); "
             "gain_vs_bits.png plots it against each flow's test bits/dim.", "",
             "| labels/class | method | shipped flow | " + " | ".join(variants) + " |",
             "|---|---|---|" + "---|" * len(variants)]
    for budget, m in methods:
        base = by_seed(rows, budget, "none")
        cells = [interval_text(paired(by_seed(rows, budget, m, v), base))
                 if by_seed(rows, budget, m, v) else "—" for v in (MAIN, *variants)]
        lines.append(f"| {budget} | {m} | " + " | ".join(cells) + " |")
    reports = {**({"shipped": [shipped]} if shipped else {}), **flow_reports}
    if reports:
        lines += ["", "Training seconds are wall clock, beside whatever else ran then; "
                      "CPU seconds the training's own work (the mean of the flows that "
                      "recorded it: a flow trained before tfaug recorded it has none).",
                  "",
                  "| flow | flows | training images | test bits/dim | training "
                  "seconds each | CPU seconds each |", "|---|---|---|---|---|---|"]
        for name, found in reports.items():
            bpd = [r["final_test_bits_per_dim"] for r in found]
            size = sorted({r.get("train_examples") for r in found} - {None})
            lines.append(f"| {name} | {len(found)} | {', '.join(map(str, size)) or '—'} "
                         f"| {np.mean(bpd):.3f} (range {min(bpd):.3f}-{max(bpd):.3f}) | "
                         f"{np.mean([r['train_seconds'] for r in found]):.0f} | "
                         f"{_cpu_seconds(found)} |")
    return lines


def _cpu_seconds(reports: List[dict]) -> str:
    """The mean CPU seconds of the flow reports that recorded them, "(n of m)" when
    not all did."""
    cpu = [r["train_cpu_seconds"] for r in reports if r.get("train_cpu_seconds")]
    if not cpu:
        return "—"
    return f"{np.mean(cpu):.0f}" + (f" ({len(cpu)} of {len(reports)})"
                                    if len(cpu) < len(reports) else "")


def flow_ticks(bits: Dict[str, float], close: float = 0.02):
    """(positions, names) naming each flow once along the bits/dim axis; flows
    within `close` bits/dim of each other share one tick ("shipped / unlabelled")."""
    ticks, names = [], []
    for name, x in sorted(bits.items(), key=lambda kv: kv[1]):
        short = "shipped" if name == MAIN else name.removesuffix(" flow")
        if ticks and x - ticks[-1][-1] < close:
            ticks[-1].append(x)
            names[-1] += f" / {short}"
        else:
            ticks.append([x])
            names.append(short)
    return [float(np.mean(t)) for t in ticks], names


def plot_gain_vs_bits(rows, flow_reports: Dict[str, List[dict]],
                      shipped: Optional[dict]) -> bytes:
    """PNG bytes: each attribution method's paired gain over `none` (95% interval)
    against the test bits/dim of the flow it used (the mean over a flow's seeds),
    one panel per budget; the flows named along the top, the methods side by side."""
    plt = plots.pyplot()
    bits = {f"{name} flow": float(np.mean([r["final_test_bits_per_dim"] for r in found]))
            for name, found in flow_reports.items()}
    if shipped:
        bits[MAIN] = float(shipped["final_test_bits_per_dim"])
    methods = sorted({(r["labels_per_class"], r["method"]) for r in rows
                      if flow_name(r["variant"])})
    budgets = sorted({b for b, _ in methods}) or [0]
    fig, axes = plt.subplots(1, len(budgets), figsize=(5 * len(budgets), 4.4), dpi=110,
                             squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        base = by_seed(rows, budget, "none")
        mine = [m for b, m in methods if b == budget]
        shown = {}
        for i, m in enumerate(mine):
            used = [v for v in bits if by_seed(rows, budget, m, v)]
            points = sorted((bits[v], paired(by_seed(rows, budget, m, v), base))
                            for v in used)
            shown.update({v: bits[v] for v in used})
            dodge = 0.006 * (i - (len(mine) - 1) / 2)  # intervals side by side
            ax.errorbar([x + dodge for x, _ in points], [100 * d.mean for _, d in points],
                        yerr=np.hstack([d.scaled(100).error_bar() or [[0], [0]]
                                        for _, d in points]),
                        marker="o", capsize=3, label=m)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=f"{budget} labels per class", xlabel="flow test bits/dim",
               ylabel="paired gain over none (points), 95% interval")
        top = ax.secondary_xaxis("top")
        top.set_xticks(*flow_ticks(shown), fontsize=6, rotation=20, ha="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return plots.png(fig, plt)


def plot_differences(rows, primary: Optional[tuple] = None, pairs=()) -> bytes:
    """PNG bytes: every comparison's paired difference (points) with its 95%
    interval, one panel per budget; the primary comparison in bold."""
    plt = plots.pyplot()
    found = comparisons(rows, pairs)
    budgets = sorted({c.budget for c in found}) or [0]
    fig, axes = plt.subplots(1, len(budgets), figsize=(5 * len(budgets), 1 + 0.35 * max(
        (sum(c.budget == b for c in found) for b in budgets), default=1)), dpi=110,
        squeeze=False)
    for ax, b in zip(axes[0], budgets):
        mine = [c for c in found if c.budget == b]
        for y, c in enumerate(mine):
            d = paired(c.mine, c.base)
            bold = primary == (c.name, c.budget)
            ax.errorbar(100 * d.mean, y, xerr=d.scaled(100).error_bar(), fmt="o",
                        capsize=3, color="C3" if bold else "C0")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(mine)), [c.name for c in mine], fontsize=7)
        ax.invert_yaxis()
        ax.set(title=f"{b} labels per class", xlabel="paired difference in test "
               "accuracy (points), 95% interval")
        ax.grid(alpha=0.3, axis="x")
    return plots.png(fig, plt)
