"""tf.distribute strategies for the trainers, and where each worker writes.

Under a multi-worker strategy every worker runs the same program; only the chief
writes the run's out_dir (checkpoints, TensorBoard, reports). Another worker writes to
out_dir/workers/<task>, starting from a copy of the chief's state, so every worker
resumes from the same step.
"""

import json
import os
import shutil

import tensorflow as tf

from tfaug import io
from tfaug.errors import ConfigError

STRATEGIES = ("auto", "mirrored", "multi_worker", "default")
STRATEGY_HELP = ("auto (multi-worker when TF_CONFIG names several workers, else "
                 "mirrored over local GPUs, else one device), mirrored, multi_worker "
                 "or default.")


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy that reduces what Keras 3's `fit` gives it: a nest
    of values (the batch it builds the model from) and scalars with axis=0 (every
    step's logs), which the parent rejects (tensorflow/tensorflow#72388)."""

    def reduce(self, reduce_op, value, axis):
        if len(tf.nest.flatten(value)) > 1 or isinstance(value, dict):
            return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis),
                                         value)
        if axis is not None and _rank(value) == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)


def _rank(value):
    values = getattr(value, "values", (value,))
    return tf.convert_to_tensor(values[0]).shape.rank


def check_strategy(name: str) -> None:
    """A config's `strategy` must name one of STRATEGIES."""
    if name not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got "
                          f"{name!r}.")


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    if name == "auto":
        workers = json.loads(os.environ.get("TF_CONFIG", "{}")).get(
            "cluster", {}).get("worker", [])
        if len(workers) > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "multi_worker":
        return MultiWorkerStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _task(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    return resolver.task_type, resolver.task_id


def is_chief(strategy) -> bool:
    """Whether this process writes the run's results: the chief, worker 0 of a
    cluster without a chief, or a single process."""
    task = _task(strategy)
    if task is None:
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task == ("chief", 0) or (task == ("worker", 0) and "chief" not in cluster)


def worker_dir(out_dir: str, strategy, from_chief: str) -> str:
    """Where this process writes: out_dir for the chief; out_dir/workers/<task> for
    another worker, whose `from_chief` subdirectory (its checkpoints) starts as a copy
    of the chief's, so every worker resumes the same state."""
    if is_chief(strategy):
        return out_dir
    task_type, task_id = _task(strategy)
    own = os.path.join(out_dir, "workers", f"{task_type}{task_id}")
    chief_state, own_state = (os.path.join(d, from_chief) for d in (out_dir, own))
    shutil.rmtree(own_state, ignore_errors=True)
    if os.path.isdir(chief_state):
        shutil.copytree(chief_state, own_state)
    return io.prepare_out_dir(own)
