"""Seconds per training step of the semi-supervised rows beside the supervised ones
(flow (b), small CNN, 64 labelled images per step and mu = 7 unlabelled per labelled
one; the latent strong views also with the pool's latents cached, as the trainer
feeds them), every row in one process, so their ratios come from one sitting:

  .venv/bin/python benchmarks/semi_step.py

With --results (a study's results.csv) the rows are the study's own: each method's
spec at each budget as it trained (tuned values), its step timed here and multiplied
by its run's optimizer steps, the ratio to `none`'s run at the same budget:

  .venv/bin/python benchmarks/semi_step.py --results=docs/study_semi/results.csv \
      --out=docs/study_semi/one_sitting.json

and --out writes those timings for the study's report (bin/study.py --cost_timing).
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
from tfaug.errors import ConfigError  # noqa: E402
from tfaug.study import one_sitting, read_rows  # noqa: E402
from tfaug.trainers.classifier import (ClassifierTrainConfig,  # noqa: E402
                                       cached_pool_model)

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
flags.DEFINE_string("results", None, "A study's results.csv: time its rows instead.")
flags.DEFINE_string("out", None, "With --results: also write the timings here, for "
                                 "the study's report (bin/study.py --cost_timing).")
FLAGS = flags.FLAGS
BATCH, MU = 64, 7


class StepTimer:
    """Seconds per compiled train step of an augmentation spec on flow (b)'s batch,
    with mu * BATCH unlabelled images (and their latents, when cached)."""

    def __init__(self):
        self.glow, (cached, self.labels) = flow_b_batch(BATCH)
        rng = np.random.default_rng(1)
        self.unlabelled = tf.constant(
            rng.uniform(size=(MU * BATCH, *FLOW_B.image_shape)), tf.float32)
        self.batch = {"images": cached["images"], "index": cached["index"]}
        self.latents = self.glow.encode(self.unlabelled)

    def __call__(self, spec: str, pool_cached: bool, num_examples: int = BATCH,
                 model_name: str = "small_cnn"):
        model = training_model(registry.build(spec, {"flow": self.glow}), model_name,
                               num_examples)
        x = dict(self.batch)
        if registry.consistency(spec) is not None:
            x["unlabelled"] = self.unlabelled
        if pool_cached:
            x["unlabelled_latents"] = self.latents
        return timing.seconds_per_call(tf.function(model.train_step), (x, self.labels),
                                       iters=FLAGS.iters, repeats=FLAGS.repeats)


def pool_cached(spec: str, glow) -> bool:
    """Whether the trainer caches the pool's latents for `spec` (its own rule)."""
    config = ClassifierTrainConfig(augmentation=spec, latent_cache=True)
    return cached_pool_model(config, {"flow": glow}) is not None


def time_study(path: str, timer: StepTimer, out: str = None):
    """Times each row of the study's main grid; prints the table, and with `out`
    writes it for the study's report (--cost_timing of bin/study.py)."""
    rows = read_rows(path)
    print("| labels/class | method | s/step | steps | s/run | x none |\n"
          "|---|---|---|---|---|---|")
    base, step_seconds = {}, {}
    for (budget, method), (spec, steps, size, model) in sorted(
            one_sitting.row_settings(rows).items(),
            key=lambda kv: (kv[0][0], kv[0][1] != "none")):
        step = step_seconds[budget, method] = timer(spec, pool_cached(spec, timer.glow),
                                                    size, model)
        base.setdefault(budget, step * steps if method == "none" else None)
        ratio = f"{step * steps / base[budget]:.1f}" if base[budget] else "-"
        print(f"| {budget} | {method} | {step:.3f} | {steps} | {step * steps:.0f} | "
              f"{ratio} |", flush=True)
    if out:
        one_sitting.write_timing(out, path, step_seconds, rows)
        print(f"written: {out} (bin/study.py --cost_timing={out})")


def main(argv):
    del argv
    timer = StepTimer()
    if FLAGS.results:
        try:
            return time_study(FLAGS.results, timer, FLAGS.out)
        except ConfigError as e:
            raise SystemExit(f"{FLAGS.results}: {e}") from None
    base = None
    print(f"| row | spec | s/step | x none |\n|---|---|---|---|")
    for row, spec in [*ROWS.items(), *((f"{r}, pool latents cached", ROWS[r])
                                       for r in CACHED)]:
        seconds = timer(spec, row.endswith("cached"))
        base = base or seconds
        print(f"| {row} | `{spec}` | {seconds:.3f} | {seconds / base:.1f} |", flush=True)


if __name__ == "__main__":
    app.run(main)
