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

    def write(self, index, rows, written=None):
        """Stores `rows` at `index` (every replica's, under a distribution strategy)
        and marks them written (or sets the flags `written`). Returns the ops;
        whatever follows in the step should depend on them, so every replica launches
        its collectives (these gathers, then the gradients' all-reduce) in the same
        order."""
        index = tf.cast(index, tf.int64)
        flags = None if written is None else tf.cast(written, self.written.dtype)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            index = context.all_gather(index, 0)
            with tf.control_dependencies([index]):
                rows = context.all_gather(tf.identity(rows), 0)
            if flags is not None:
                with tf.control_dependencies([rows]):
                    flags = context.all_gather(tf.identity(flags), 0)
        if flags is None:
            flags = tf.ones(tf.shape(index), self.written.dtype)
        return [_variable(self.rows).scatter_update(tf.IndexedSlices(rows, index)),
                _variable(self.written).scatter_update(tf.IndexedSlices(flags, index))]


def _variable(v):
    """The TensorFlow variable behind a Keras 3 variable (scatter updates need it)."""
    return getattr(v, "value", v) if not isinstance(v, tf.Variable) else v


class ImageBank:
    """Each example's last perturbed image, and a count of the training steps, so
    that a batch's perturbations are recomputed on every k-th step (`now`) and its
    banked images replayed on the others (ATTA's carried perturbations, taken as far
    as the image and refreshed on a schedule)."""

    def __init__(self, make_variable, name: str, num_examples: int, image_shape,
                 every: int):
        self.images = ExampleState(make_variable, name, num_examples, image_shape)
        self.steps = make_variable(f"{name}_steps", ())
        self.every = every

    def now(self):
        """(whether this step refreshes, the op that counts it)."""
        steps = _variable(self.steps)
        count = steps.read_value()
        with tf.control_dependencies([count]):
            counted = steps.assign_add(1.0)
        return tf.equal(tf.math.floormod(count, float(self.every)), 0.0), counted

    def read(self, index, default):
        """The banked images at `index`; `default` for examples never banked."""
        return self.images.read(index, default)

    def write(self, index, images, now):
        """Banks the batch's images if `now` (else keeps what is there); the ops."""
        old = tf.gather(self.images.written, index)
        return self.images.write(index, images, tf.where(now, tf.ones_like(old), old))
