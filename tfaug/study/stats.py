"""Paired comparisons over seeds.

Runs with the same seed share the labelled subset, the initial weights and the data
order, so the measure of a method against a baseline is the per-seed difference.
`paired` gives its mean and a two-sided t interval over seeds; `paired_ratio` the same
for a ratio (of training seconds, say), on the log scale.
"""

import dataclasses
import math
from typing import Dict, Sequence, Tuple

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class Paired:
    """mean of a - b over n paired seeds, with a `level` t interval [low, high]."""
    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def excludes_zero(self) -> bool:
        return self.n > 1 and (self.low > 0 or self.high < 0)

    def error_bar(self):
        """matplotlib's asymmetric error bar [[below], [above]] (None from one seed,
        whose interval is unbounded)."""
        return [[self.mean - self.low], [self.high - self.mean]] if self.n > 1 else None

    def scaled(self, factor: float) -> "Paired":
        return Paired(self.mean * factor, self.low * factor, self.high * factor,
                      self.n, self.level)


def paired(a: Dict[int, float], b: Dict[int, float], level: float = 0.95) -> Paired:
    """The paired difference a - b over the seeds both have ({seed: value})."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError("no seed in common")
    d = np.array([a[s] - b[s] for s in seeds], np.float64)
    mean = float(d.mean())
    if len(d) < 2:
        return Paired(mean, -math.inf, math.inf, 1, level)
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1)
                 / math.sqrt(len(d)))
    return Paired(mean, mean - half, mean + half, len(d), level)


def paired_ratio(a: Dict[int, float], b: Dict[int, float], level: float = 0.95) -> Paired:
    """The geometric mean of a / b over the seeds both have, with its t interval (the
    paired difference of logs, exponentiated): a cost ratio in which whatever slowed
    or sped up one seed's sitting cancels."""
    logs = paired({s: math.log(v) for s, v in a.items()},
                  {s: math.log(v) for s, v in b.items()}, level)
    return Paired(math.exp(logs.mean), math.exp(logs.low), math.exp(logs.high), logs.n,
                  level)


def mean_and_sd(values: Sequence[float]):
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def paired_p(a: Dict[int, float], b: Dict[int, float]) -> float:
    """Two-sided p-value of the paired t-test of a - b = 0 over the seeds both have
    (1 when there are fewer than two, or every difference is equal)."""
    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds], np.float64)
    if len(d) < 2 or d.std(ddof=1) == 0:
        return 1.0 if len(d) < 2 or d.mean() == 0 else 0.0
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    return float(2 * stats.t.sf(abs(t), len(d) - 1))


def holm(p_values: Dict[str, float], alpha: float = 0.05) -> Dict[str, Tuple[float, float]]:
    """Holm's step-down adjustment of a family of tests: {name: (adjusted p, level)}.
    The adjusted p is max over the tests ranked up to this one of (m - rank + 1) p,
    capped at 1; `level` is the confidence level 1 - alpha / (m - rank + 1) of the
    interval that goes with this test's step (rank 1: the smallest p)."""
    ranked = sorted(p_values, key=p_values.get)
    m, running, adjusted = len(ranked), 0.0, {}
    for rank, name in enumerate(ranked, 1):
        running = max(running, min(1.0, (m - rank + 1) * p_values[name]))
        adjusted[name] = (running, 1 - alpha / (m - rank + 1))
    return adjusted
