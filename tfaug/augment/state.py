"""Per-example state of an augmentation, kept in variables the training model owns.

`ExampleState` holds one row per training example (e.g. the latent perturbation an
amortised attack reached at the example's last visit) and a flag per example telling
whether it has been written yet. Rows are read and written by example index inside
the compiled training step. Under tf.distribute every replica writes the rows of every
replica (gathered across replicas), so the mirrored copies stay identical and a
checkpoint of the first replica's copy is the whole state.
"""

import tensorflow as tf


class ExampleState:
    """Rows of shape `row_shape` for `num_examples` examples."""

    def __init__(self, make_variable, name: str, num_examples: int, row_shape):
        self.rows = make_variable(name, (num_examples, *row_shape))
        self.written = make_variable(f"{name}_written", (num_examples,))

    def read(self, index, default):
        """The rows at `index`; `default` (same shape) where nothing was written."""
        rows = tf.gather(self.rows, index)
        written = tf.gather(self.written, index) > 0
        written = tf.reshape(written, [-1] + [1] * (rows.shape.rank - 1))
        return tf.where(written, rows, default)

    def write(self, index, rows):
        """Stores `rows` at `index` (every replica's, under a distribution strategy).
        Returns the ops; whatever follows in the step should depend on them, so every
        replica launches its collectives (these gathers, then the gradients'
        all-reduce) in the same order."""
        index = tf.cast(index, tf.int64)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            index = context.all_gather(index, 0)
            with tf.control_dependencies([index]):
                rows = context.all_gather(tf.identity(rows), 0)
        ones = tf.ones(tf.shape(index), self.written.dtype)
        return [_variable(self.rows).scatter_update(tf.IndexedSlices(rows, index)),
                _variable(self.written).scatter_update(tf.IndexedSlices(ones, index))]


def _variable(v):
    """The TensorFlow variable behind a Keras 3 variable (scatter updates need it)."""
    return getattr(v, "value", v) if not isinstance(v, tf.Variable) else v


class ImageBank:
    """Each example's last perturbed image and its number of visits, so that its
    perturbation is recomputed at visits 0, k, 2k, ... (`due`) and read back from here
    in between (ATTA's carried perturbations, taken as far as the image)."""

    def __init__(self, make_variable, name: str, num_examples: int, image_shape,
                 every: int):
        self.images = ExampleState(make_variable, name, num_examples, image_shape)
        self.visits = ExampleState(make_variable, f"{name}_visits", num_examples, ())
        self.every = every

    def due(self, index):
        """(B,) bool: which examples of the batch get a fresh perturbation now."""
        visits = tf.gather(self.visits.rows, index)
        return tf.equal(tf.math.floormod(visits, float(self.every)), 0.0)

    def read(self, index):
        return tf.gather(self.images.rows, index)

    def write(self, index, images):
        """Stores the batch's images and counts the visit; returns the ops."""
        visits = tf.gather(self.visits.rows, index) + 1.0
        return self.images.write(index, images) + self.visits.write(index, visits)


class Part:
    """Some examples of a batch (positions `where`), or all of it: `take` selects
    them from a batch tensor, `merge` puts their new values back into one."""

    def __init__(self, where=None):
        self.positions = None if where is None else tf.where(where)[:, 0]

    def take(self, t):
        return t if self.positions is None else tf.gather(t, self.positions)

    def merge(self, whole, part):
        if self.positions is None:
            return part
        return tf.tensor_scatter_nd_update(whole, self.positions[:, None], part)
