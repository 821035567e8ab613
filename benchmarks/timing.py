"""Timing helper shared by the benchmark scripts."""

import time

import numpy as np
import tensorflow as tf


def seconds_per_call(fn, *args, iters: int = 10, repeats: int = 3) -> float:
    """Median over `repeats` timed runs of `iters` calls, after two warm-up calls
    (compilation excluded); results are fetched so asynchronous work is counted."""
    fn(*args)
    fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            out = fn(*args)
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
        times.append((time.perf_counter() - start) / iters)
    return float(np.median(times))
