"""One training step's img/s (LeNet, flow (b), batch 128), for A/B runs of two
checkouts alternated process by process, so that the machine's drift falls on both
alike (a whole-bench round per checkout is too long for that):

  for i in 1 2 3 4; do for c in . ../before; do
    PYTHONPATH=$c .venv/bin/python benchmarks/step_ab.py --row=amortised; done; done
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from fixtures import REFERENCE_ATTACK as ATTACK  # noqa: E402
from fixtures import flow_b_batch, training_model  # noqa: E402
from tfaug import augment  # noqa: E402

ROWS = {"clean": (None, False), "attack3": (dict(ATTACK, steps=3), False),
        "amortised": (dict(ATTACK, steps=1, amortized=True), True)}
flags.DEFINE_enum("row", "amortised", list(ROWS), "Which training step.")
flags.DEFINE_integer("iters", 5, "Calls per timed run.")
flags.DEFINE_integer("repeats", 7, "Timed runs; the median is reported.")
FLAGS = flags.FLAGS
BATCH = 128


def main(argv):
    del argv
    glow, (cached, y) = flow_b_batch(BATCH)
    options, use_cache = ROWS[FLAGS.row]
    aug = (augment.NoAugmentation() if options is None
           else augment.LatentAdversarial(glow, **options))
    step = training_model(aug, "lenet", 1024).train_step
    seconds = timing.seconds_per_call(tf.function(step),
                                      (cached if use_cache else cached["images"], y),
                                      iters=FLAGS.iters, repeats=FLAGS.repeats)
    print(f"{os.path.dirname(os.path.dirname(augment.__file__))} {FLAGS.row} "
          f"{BATCH / seconds:.0f} img/s")


if __name__ == "__main__":
    app.run(main)
