"""Whether a training step of a given batch size fits, checked before a run starts:
a batch far too large otherwise fails minutes later inside TensorFlow."""

from typing import Iterable, Tuple

import keras
import numpy as np

from tfaug.data.convert import available_memory
from tfaug.errors import ConfigError

BYTES_PER_FLOAT = 4
TENSOR_LIMIT = 2 ** 31  # TensorFlow cannot build a constant tensor of 2 GiB or more
GIB = 2 ** 30


def _output_sizes(model) -> Iterable[int]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _output_sizes(layer)
            continue
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # a layer never called symbolically
            continue
        for tensor in outputs:
            if None not in tensor.shape[1:]:
                yield int(np.prod(tensor.shape[1:]))


def keras_activations(model: keras.Model) -> Tuple[int, int]:
    """(all, largest): floats per example of the layer outputs of a built Keras model
    (0, 0 for a model whose layers were never called symbolically)."""
    sizes = list(_output_sizes(model))
    return sum(sizes), max(sizes, default=0)


def check_batch_fits(batch_size: int, parts: dict) -> None:
    """`parts` maps a name ("small_cnn", "the flow") to its (all, largest) floats per
    example. A step keeps the activations and their gradients: 2 x all x batch
    floats must fit in the memory available, and no single tensor may reach 2 GiB."""
    per_example = 2 * BYTES_PER_FLOAT * sum(total for total, _ in parts.values())
    largest = BYTES_PER_FLOAT * max((big for _, big in parts.values()), default=0)
    if not per_example:
        return
    available = available_memory()
    problems = []
    if batch_size * largest >= TENSOR_LIMIT:
        problems.append(f"its largest tensor would be {batch_size * largest / GIB:.1f} "
                        "GiB, past TensorFlow's 2 GiB limit")
    if batch_size * per_example > available:
        problems.append(f"a step needs about {batch_size * per_example / GIB:.1f} GiB "
                        f"({' + '.join(parts)}), and {available / GIB:.1f} GiB are "
                        "available")
    if problems:
        fits = min(available // per_example, (TENSOR_LIMIT - 1) // max(largest, 1))
        raise ConfigError(f"batch_size {batch_size} is too large: "
                          f"{'; '.join(problems)}. Lower --batch_size (at most about "
                          f"{fits} fits).")
