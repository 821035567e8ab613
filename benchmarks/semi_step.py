"""Seconds per training step of the semi-supervised rows beside the supervised ones
(flow (b), small CNN, 64 labelled images per step and mu = 7 unlabelled per labelled
one; the latent strong views also with the pool's latents cached, as the trainer
feeds them), every row in one process, so their ratios come from one sitting:

  .venv/bin/python benchmarks/semi_step.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from fixtures import FLOW_B, flow_b_batch, training_model  # noqa: E402
from tfaug.augment import registry  # noqa: E402

ROWS = {"none": "none",
        "sla_pgd": "standard(pad=2)+latent_adversarial(eps=1,alpha=0.5,steps=3)",
        "fixmatch image": "fixmatch(mu=7)",  # FixMatch's strong view: RandAugment
        "fixmatch image, cutout only": "fixmatch(mu=7,strong=standard+cutout)",
        "fixmatch latent_random": "fixmatch(mu=7,strong=latent_random(eps=2))",
        "fixmatch latent_adversarial":
            "fixmatch(mu=7,strong=latent_adversarial(eps=1,alpha=0.5,steps=1))"}
CACHED = ("fixmatch latent_random", "fixmatch latent_adversarial")  # rerun, cached
flags.DEFINE_integer("iters", 3, "Calls per timed run.")
flags.DEFINE_integer("repeats", 3, "Timed runs; the median is reported.")
FLAGS = flags.FLAGS
BATCH, MU = 64, 7


def main(argv):
    del argv
    glow, (cached, y) = flow_b_batch(BATCH)
    rng = np.random.default_rng(1)
    unlabelled = tf.constant(rng.uniform(size=(MU * BATCH, *FLOW_B.image_shape)),
                             tf.float32)
    base = None
    print(f"| row | spec | s/step | x none |\n|---|---|---|---|")
    latents = glow.encode(unlabelled)
    for row, spec in [*ROWS.items(), *((f"{r}, pool latents cached", ROWS[r])
                                       for r in CACHED)]:
        model = training_model(registry.build(spec, {"flow": glow}), "small_cnn", BATCH)
        x = {"images": cached["images"], "index": cached["index"]}
        if registry.consistency(spec) is not None:
            x["unlabelled"] = unlabelled
        if row.endswith("cached"):
            x["unlabelled_latents"] = latents
        seconds = timing.seconds_per_call(tf.function(model.train_step), (x, y),
                                          iters=FLAGS.iters, repeats=FLAGS.repeats)
        base = base or seconds
        print(f"| {row} | `{spec}` | {seconds:.3f} | {seconds / base:.1f} |", flush=True)


if __name__ == "__main__":
    app.run(main)
