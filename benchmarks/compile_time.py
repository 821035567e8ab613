"""Seconds to build a training step: the first call of the compiled step (tracing
and graph optimisation) against a call once built, for the small CNN with flow (b) at
batch 64 (the study's setting) and the latent attacks as the study tunes them (2
ascent steps per visit). At 10 labels per class a whole run trains for ~20 s of steps,
so a step that takes 10 s to build costs as much as the training itself.

  .venv/bin/python benchmarks/compile_time.py
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from fixtures import flow_b_batch, training_model  # noqa: E402
from tfaug import augment  # noqa: E402

flags.DEFINE_integer("steps", 2, "Ascent steps per visit of the attacks.")
flags.DEFINE_string("out", None, "Write the figures as JSON here.")
FLAGS = flags.FLAGS
BATCH, ROWS = 64, 512
OPTIONS = {"none": None, "amortised": dict(amortized=True),
           "amortised, refresh 8": dict(amortized=True, refresh=8),
           "free, refresh 2": dict(free=True, refresh=2)}


def build_seconds(glow, options, batch):
    aug = augment.NoAugmentation() if options is None else augment.LatentAdversarial(
        glow, eps=0.5, alpha=0.1, steps=FLAGS.steps, **options)
    step = tf.function(training_model(aug, "small_cnn", ROWS).train_step)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), step(batch))
        times.append(time.perf_counter() - start)
    return times[0], min(times[1:])


def main(argv):
    del argv
    glow, batch = flow_b_batch(BATCH)
    figures = {}
    for label, options in OPTIONS.items():
        first, built = build_seconds(glow, options, batch)
        figures[label] = {"first call s": first, "built call s": built}
        print(f"{label:<22} first call {first:6.2f} s, built {1000 * built:6.1f} ms "
              f"(building: {first - built:5.2f} s)", flush=True)
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    app.run(main)
