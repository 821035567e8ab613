"""Glow throughput on this machine: img/s of a training step, encode and decode.

Configurations from the Glow issue:
  (a) 32x32x3, L=3, K=4, width 64, training batch 64
  (b) 28x28x1, L=2, K=8, width 64, training batch 64
  (paper) the paper's CIFAR-10 Glow: 32x32x3, L=3, K=32, width 512, tanh coupling,
          training batch 16 (the reference harness' A3), about 0.3 s per image here
encode/decode at batch --eval_batch (256; 16 for the paper's Glow). Each figure is
the median of --repeats timed runs of --iters calls after a warm-up (compilation
excluded); --out writes them as JSON for benchmarks/compare.py. Run with the machine
otherwise idle:
  .venv/bin/python benchmarks/flow_throughput.py [--jit] [--configs=b]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from tfaug.flows import Glow, GlowConfig  # noqa: E402
from tfaug.flows.preprocess import dequantize  # noqa: E402

CONFIGS = {
    "a": GlowConfig((32, 32, 3), levels=3, steps=4, width=64),
    "b": GlowConfig((28, 28, 1), levels=2, steps=8, width=64),
    "paper": GlowConfig((32, 32, 3), levels=3, steps=32, width=512, coupling="tanh"),
}
# (training batch, encode/decode batch or None for --eval_batch, calls per timed run)
BATCHES = {"a": (64, None, None), "b": (64, None, None), "paper": (16, 16, 2)}
flags.DEFINE_list("configs", ["a", "b", "paper"], "Which configurations to measure.")
flags.DEFINE_bool("jit", False, "XLA-compile (jit_compile=True) the measured functions "
                               "(slower on CPU).")
flags.DEFINE_integer("iters", 10, "Calls per timed run.")
flags.DEFINE_integer("eval_batch", 256, "Batch of the encode and decode timings.")
flags.DEFINE_integer("repeats", 5, "Timed runs; the median is reported.")
flags.DEFINE_string("out", None, "Write the figures as JSON here.")
FLAGS = flags.FLAGS


def throughput(fn, args, batch, iters=None):
    return batch / timing.seconds_per_call(fn, *args, iters=iters or FLAGS.iters,
                                           repeats=FLAGS.repeats)


def measure(name, config):
    train_batch, eval_batch, iters = BATCHES[name]
    eval_batch = eval_batch or FLAGS.eval_batch
    glow = Glow(config)
    rng = np.random.default_rng(0)
    x_train = tf.constant(rng.uniform(size=(train_batch, *config.image_shape)
                                      ).astype(np.float32))
    x_eval = tf.constant(rng.uniform(size=(eval_batch, *config.image_shape)
                                     ).astype(np.float32))
    glow.initialize(x_train)
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(glow.trainable_variables)

    def train_step(x, seed):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(glow.bits_per_dim_continuous(dequantize(x, seed)))
        grads = tape.gradient(loss, glow.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, 1.0)
        optimizer.apply(grads, glow.trainable_variables)
        return loss

    compile_ = lambda f: tf.function(f, jit_compile=FLAGS.jit)
    z_eval = glow.encode(x_eval)
    results = {
        f"train step (batch {train_batch})": throughput(
            compile_(train_step), (x_train, tf.constant([0, 1])), train_batch, iters),
        f"encode (batch {eval_batch})": throughput(
            compile_(lambda x: glow.encode(x, validate=False)), (x_eval,), eval_batch,
            iters),
        f"decode (batch {eval_batch})": throughput(compile_(glow.decode), (z_eval,),
                                                   eval_batch, iters),
    }
    print(f"({name}) {config.image_shape} L={config.levels} K={config.steps} "
          f"width={config.width} jit={FLAGS.jit}: {glow.num_parameters:,} parameters, "
          f"{config.flops_per_image() / 1e6:,.0f} MFLOP (multiply-adds) per image")
    for what, rate in results.items():
        print(f"    {what:<24} {rate:8.{0 if rate >= 100 else 2}f} img/s "
              f"({1000 / rate:.1f} ms per image)")
    sys.stdout.flush()
    return results


def main(argv):
    del argv
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, oneDNN "
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    figures = {name: measure(name, CONFIGS[name]) for name in FLAGS.configs}
    if FLAGS.out:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
        with open(FLAGS.out, "w") as f:
            json.dump({"jit": FLAGS.jit, "configs": figures}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
