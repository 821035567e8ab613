"""Seconds per training step of every method of a study, each with the spec its runs
train (the study's tuned values), in one process so that the ratios to `none` come
from one sitting: the study's classifier and batch size, flow (b) (the shipped
Fashion-MNIST flow's architecture) with the latents cached as the trainer feeds them,
and mu x batch unlabelled images for a fixmatch method. The cost columns of a study
measure whole runs in whatever sitting each ran in; this is the step alone.

  .venv/bin/python benchmarks/study_step.py --hparams=study_fashion_mnist_evidence \
      --budget=10
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from fixtures import FLOW_B, flow_b_batch, training_model  # noqa: E402
from tfaug import config as cfglib  # noqa: E402
from tfaug.augment import registry  # noqa: E402
from tfaug.study import StudyConfig  # noqa: E402
from tfaug.study.runner import Plan  # noqa: E402

flags.DEFINE_string("hparams", "study_fashion_mnist_evidence", "A study preset with a "
                                                               "tuned file.")
flags.DEFINE_integer("budget", 10, "Labels per class whose tuned values are timed.")
flags.DEFINE_integer("iters", 3, "Calls per timed run.")
flags.DEFINE_integer("repeats", 3, "Timed runs; the median is reported.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    config = cfglib.load(StudyConfig, FLAGS.hparams)
    plan = Plan(config)
    batch = config.batch_size
    glow, (cached, y) = flow_b_batch(batch)
    pool = tf.constant(np.random.default_rng(1).uniform(
        size=(16 * batch, *FLOW_B.image_shape)), tf.float32)
    pool_latents = glow.encode(pool)
    print(f"{config.model} (width {config.model_width}), batch {batch}, "
          f"{FLOW_B.levels}-level flow, {FLAGS.budget} labels per class\n")
    print("| method | s/step | x none |\n|---|---|---|")
    base = None
    for label in plan.specs:
        if FLAGS.budget not in config.budgets_of(label):
            continue
        if plan.tuned and plan.tuned.pending(FLAGS.budget, label):
            print(f"| {label} | (still being tuned) | |")
            continue
        spec = plan.spec(FLAGS.budget, label)
        model = training_model(registry.build(spec, {"flow": glow}), config.model, batch)
        x = {"images": cached["images"], "index": cached["index"]}
        if config.latent_cache and registry.needs_flow(spec):
            x["latents"] = cached["latents"]
        fixmatch = registry.consistency(spec)
        if fixmatch is not None:
            x["unlabelled"] = pool[:fixmatch.params["mu"] * batch]
            if config.latent_cache:
                x["unlabelled_latents"] = pool_latents[:fixmatch.params["mu"] * batch]
        seconds = timing.seconds_per_call(tf.function(model.train_step), (x, y),
                                          iters=FLAGS.iters, repeats=FLAGS.repeats)
        base = base or seconds
        print(f"| {label} | {seconds:.3f} | {seconds / base:.2f} |", flush=True)


if __name__ == "__main__":
    app.run(main)
