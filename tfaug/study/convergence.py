"""Has a training run plateaued? The validation curve's last quarter, fitted by least
squares: its slope, and the gain it implies over that quarter. A run whose last
quarter still gains `threshold` or more was stopped while improving."""

import dataclasses
from typing import Sequence

import numpy as np

PLATEAU_THRESHOLD = 0.005  # accuracy gained over the last quarter (0.5 points)


@dataclasses.dataclass(frozen=True)
class LastQuarter:
    slope_per_1000_steps: float
    gain: float          # slope x the quarter's length, in accuracy
    points: int

    def plateaued(self, threshold: float = PLATEAU_THRESHOLD) -> bool:
        return self.gain < threshold


def last_quarter(steps: Sequence[float], accuracy: Sequence[float]) -> LastQuarter:
    """The least-squares line through the curve's points in its last quarter of steps
    (at least 3 points)."""
    steps, accuracy = np.asarray(steps, np.float64), np.asarray(accuracy, np.float64)
    if len(steps) != len(accuracy) or len(steps) < 3:
        raise ValueError("need at least 3 points of (step, accuracy)")
    start = steps[-1] - (steps[-1] - steps[0]) / 4
    keep = steps >= start
    if keep.sum() < 3:
        keep = np.arange(len(steps)) >= len(steps) - 3
    slope = float(np.polyfit(steps[keep], accuracy[keep], 1)[0])
    span = float(steps[-1] - steps[keep][0])
    return LastQuarter(1000 * slope, slope * span, int(keep.sum()))
