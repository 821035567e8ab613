"""Whether reduced precision can speed up the flow on this machine: img/s of one Glow
coupling network (3x3 conv -> 1x1 conv -> 3x3 conv, the bulk of a flow pass) in
float32, bfloat16 and float16, forward and forward+backward, at the shapes of flow (b)
and of the paper's Glow. On CPUs without bf16/fp16 arithmetic (no AVX-512-BF16/AMX)
TensorFlow emulates the narrow types, so they are expected to be slower, not faster;
the round trip's error then does not matter. Run with the machine otherwise idle:

  .venv/bin/python benchmarks/conv_precision.py
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402

# name: (batch, height, width, channels in, hidden width): the first level's coupling
SHAPES = {"b": (128, 14, 14, 2, 64), "paper": (16, 16, 16, 6, 512)}
flags.DEFINE_list("shapes", list(SHAPES), "Which coupling shapes to measure.")
flags.DEFINE_list("dtypes", ["float32", "bfloat16", "float16"], "Compute dtypes.")
flags.DEFINE_integer("iters", 5, "Calls per timed run.")
flags.DEFINE_integer("repeats", 3, "Timed runs; the median is reported.")
flags.DEFINE_string("out", None, "Write the figures as JSON here.")
FLAGS = flags.FLAGS


def coupling_net(batch, h, w, c, width, dtype):
    rng = np.random.default_rng(0)
    make = lambda *shape: tf.Variable(
        (rng.standard_normal(shape) * 0.05).astype(np.float32))
    kernels = [make(3, 3, c, width), make(1, 1, width, width), make(3, 3, width, 2 * c)]
    x = tf.constant(rng.uniform(size=(batch, h, w, c)).astype(np.float32))

    def forward(x):
        y = tf.cast(x, dtype)
        for i, k in enumerate(kernels):
            y = tf.nn.conv2d(y, tf.cast(k, dtype), 1, "SAME")
            y = tf.nn.relu(y) if i < 2 else y
        return tf.cast(y, tf.float32)

    def forward_backward(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(forward(x))
        return tape.gradient(loss, kernels)

    return x, tf.function(forward), tf.function(forward_backward)


def main(argv):
    del argv
    figures = {}
    for name in FLAGS.shapes:
        batch, *shape = SHAPES[name]
        for dtype in FLAGS.dtypes:
            x, fwd, fwd_bwd = coupling_net(batch, *shape, tf.as_dtype(dtype))
            row = {what: batch / timing.seconds_per_call(fn, x, iters=FLAGS.iters,
                                                         repeats=FLAGS.repeats)
                   for what, fn in (("forward", fwd), ("forward+backward", fwd_bwd))}
            figures.setdefault(name, {})[dtype] = row
            print(f"({name}) {dtype:<9} " + "  ".join(
                f"{what} {rate:9.1f} img/s" for what, rate in row.items()), flush=True)
        base = figures[name]["float32"]
        for dtype in FLAGS.dtypes[1:]:
            print(f"({name}) {dtype} / float32: " + ", ".join(
                f"{what} {figures[name][dtype][what] / base[what]:.2f}x"
                for what in base))
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    app.run(main)
