"""Reproducible stratified subsets: validation carve-outs and low-data budgets.

Each example gets a pseudo-random key from (seed, index) by SplitMix64, computed in
plain uint64 arithmetic, so a seed picks the same examples on every machine and every
NumPy version. Within each class, examples are ranked by key: the first ones form the
validation split, the next ones the labelled training subset. Budgets are therefore
nested (for one seed, the 10-per-class subset lies inside the 50-per-class one) and the
validation split does not depend on the budget.
"""

from typing import Optional, Tuple

import numpy as np

from tfaug.data.labeled import LabeledImages
from tfaug.errors import DataError


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def example_keys(n: int, seed: int) -> np.ndarray:
    """n uint64 keys, a pure function of (seed, index)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}.")
    base = _splitmix64(np.array([seed], dtype=np.uint64))[0]
    return _splitmix64(np.arange(n, dtype=np.uint64) + base)


def ranked_by_class(labels: np.ndarray, num_classes: int, seed: int):
    """For each class, its example indices in the seed's key order."""
    keys = example_keys(len(labels), seed)
    return [np.flatnonzero(labels == c)[np.argsort(keys[labels == c], kind="stable")]
            for c in range(num_classes)]


def _count(available: int, per_class: Optional[int], fraction: Optional[float],
           what: str, cls: int) -> int:
    if per_class is not None:
        if per_class > available:
            raise DataError(f"{what}: class {cls} has only {available} examples left, "
                            f"fewer than the {per_class} per class asked for.")
        return per_class
    if fraction is not None:
        return int(round(fraction * available))
    return available


def _check_budget(per_class, fraction, what):
    if per_class is not None and fraction is not None:
        raise DataError(f"{what}: give a count per class or a fraction, not both.")
    if per_class is not None and (not isinstance(per_class, (int, np.integer))
                                  or per_class < 0):
        raise DataError(f"{what}: per-class count must be an integer >= 0, "
                        f"got {per_class!r}.")
    if fraction is not None and not 0.0 < fraction <= 1.0:
        raise DataError(f"{what}: fraction must be in (0, 1], got {fraction!r}.")


def split_indices(labels: np.ndarray, num_classes: int, *, seed: int,
                  per_class: Optional[int] = None, fraction: Optional[float] = None,
                  val_per_class: int = 0,
                  val_fraction: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices, each sorted ascending.

    Per class: the validation examples first (val_per_class, or val_fraction of the
    class), then the training subset from what remains (per_class, or fraction of
    what remains; neither = all of it).
    """
    _check_budget(per_class, fraction, "training subset")
    _check_budget(val_per_class or None, val_fraction, "validation split")
    train, val = [], []
    for c, ranked in enumerate(ranked_by_class(np.asarray(labels), num_classes, seed)):
        n_val = _count(len(ranked), None if val_fraction else val_per_class,
                       val_fraction, "validation split", c)
        rest = ranked[n_val:]
        n_train = _count(len(rest), per_class, fraction, "training subset", c)
        val.append(ranked[:n_val])
        train.append(rest[:n_train])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def held_out_split(data: LabeledImages, fraction: float, seed: int
                   ) -> Tuple[LabeledImages, LabeledImages]:
    """(rest, held out): `fraction` of each class (of all images, if unlabelled)
    held out, chosen by `seed`."""
    labels = data.labels if data.info.labelled else np.zeros(len(data), np.int64)
    rest, held = split_indices(labels, max(data.info.num_classes, 1), seed=seed,
                               val_fraction=fraction)
    return data.take(rest), data.take(held)


def low_data_split(data: LabeledImages, *, seed: int, per_class: Optional[int] = None,
                   fraction: Optional[float] = None, val_per_class: int = 0,
                   val_fraction: Optional[float] = None
                   ) -> Tuple[LabeledImages, LabeledImages]:
    """(labelled training subset, validation split) carved from a training split."""
    data.require_labels()
    train, val = split_indices(data.labels, data.info.num_classes, seed=seed,
                               per_class=per_class, fraction=fraction,
                               val_per_class=val_per_class, val_fraction=val_fraction)
    return data.take(train), data.take(val)
