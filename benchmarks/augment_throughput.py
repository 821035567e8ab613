"""Throughput of augmentations and augmented training steps on this machine (img/s).

Setups (--setups): `lenet` and `small_cnn` on 28x28x1 with flow (b) (L=2, K=8, width
64), batch 128, the configuration of the reference harness (../shared/bench/peer);
`resnet18` on 32x32x3 with flow (a) (L=3, K=4, width 64), batch --resnet_batch. Flows
are initialised on the batch (throughput does not depend on training). Per setup:
each augmentation alone, then training steps: clean; latent random (encoding in the
step, and from cached latents); latent adversarial with 3 L2 PGD steps (eps 1, alpha
0.5, random start: the reference's attack); the amortised attack (1 step per
visit, cached latents, per-example state); and its cheaper options: free (the
perturbation's gradient from the weights' backward pass), refresh every 4th visit,
and both. Every line ends in img/s; --out writes
them as JSON for benchmarks/compare.py.

  .venv/bin/python benchmarks/augment_throughput.py --setups=lenet,small_cnn
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from tfaug import augment, models  # noqa: E402
from tfaug.flows import Glow, GlowConfig  # noqa: E402
from tfaug.trainers.augmented import AugmentedModel  # noqa: E402

flags.DEFINE_list("setups", ["lenet", "small_cnn"], "Setups: lenet, small_cnn, resnet18.")
flags.DEFINE_integer("resnet_batch", 32, "Batch size of the ResNet-18 setup.")
flags.DEFINE_integer("iters", 5, "Calls per timed run.")
flags.DEFINE_integer("repeats", 5, "Timed runs; the median is reported.")
flags.DEFINE_bool("jit", False, "XLA-compile every measured function (slower on CPU).")
flags.DEFINE_string("out", None, "Write the figures as JSON here.")
FLAGS = flags.FLAGS

SETUPS = {
    "lenet": (GlowConfig((28, 28, 1), 2, 8, 64), "lenet", 128),
    "small_cnn": (GlowConfig((28, 28, 1), 2, 8, 64), "small_cnn", 128),
    "resnet18": (GlowConfig((32, 32, 3), 3, 4, 64), "resnet18", None),
}
STATE_ROWS = 1024  # training-set size of the amortised attack's state


def measure(name) -> dict:
    flow_config, model_name, batch = SETUPS[name]
    batch = batch or FLAGS.resnet_batch
    shape = flow_config.image_shape
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(size=(batch, *shape)).astype(np.float32))
    y = tf.one_hot(rng.integers(0, 10, batch), 10)
    seed = tf.constant([0, 1])
    glow = Glow(flow_config)
    glow.initialize(x)
    glow.trainable = False
    latents = glow.encode(x)
    index = tf.range(batch, dtype=tf.int64)
    compile_ = lambda f: tf.function(f, jit_compile=FLAGS.jit)

    def per_second(fn, *args):
        return batch / timing.seconds_per_call(fn, *args, iters=FLAGS.iters,
                                               repeats=FLAGS.repeats)

    def training_step(aug):
        keras.utils.set_random_seed(0)
        model = AugmentedModel(models.build(model_name, shape, 10), aug,
                                    num_examples=STATE_ROWS)
        model.build((None, *shape))
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                      keras.losses.CategoricalCrossentropy(from_logits=True))
        return model, compile_(model.train_step)

    reference = dict(eps=1.0, alpha=0.5, steps=3, norm="l2", random_start=True)
    adversarial = augment.LatentAdversarial(glow, **reference)
    random = augment.LatentRandom(glow, eps=0.2, norm=None)  # the reference's settings
    amortized = augment.LatentAdversarial(glow, **{**reference, "steps": 1},
                                          amortized=True)
    clean_model, clean_step = training_step(augment.NoAugmentation())
    classifier = clean_model.classifier
    results = {}
    alone = [("standard", augment.Standard()), ("mixup", augment.Mixup()),
             ("cutout", augment.Cutout()),
             ("image PGD, 3 steps", augment.ImagePGD(8 / 255, 2 / 255, 3)),
             ("latent random (encode + decode)", random),
             ("latent adversarial, 3 L2 steps", adversarial)]
    for label, aug in alone:
        fn = compile_(lambda a, b, aug=aug: aug(a, b, classifier, seed=seed)[0])
        results[f"{label} alone"] = per_second(fn, x, y)
    results["clean training step"] = per_second(clean_step, (x, y))
    cached = {"images": x, "index": index, "latents": latents}
    results["latent random training step (encodes)"] = per_second(
        training_step(random)[1], (x, y))
    results["latent random training step (cached latents)"] = per_second(
        training_step(random)[1], (cached, y))
    results["latent adversarial training step, 3 L2 steps (encodes)"] = per_second(
        training_step(adversarial)[1], (x, y))
    results["latent adversarial training step, amortised 1 step (cached latents)"] = \
        per_second(training_step(amortized)[1], (cached, y))
    # The cheaper options. Each call revisits the same examples, so a refresh period
    # of k recomputes the batch on every k-th call: the mean over calls is the
    # training-time cost.
    cheap = {"free": dict(free=True),
             "amortised 1 step, refresh 4": dict(amortized=True, refresh=4),
             "free, refresh 4": dict(free=True, refresh=4)}
    for label, options in cheap.items():
        aug = augment.LatentAdversarial(glow, **{**reference, "steps": 1, **options})
        results[f"latent adversarial training step, {label} (cached latents)"] = \
            per_second(training_step(aug)[1], (cached, y))
    print(f"\n{name}: {shape}, batch {batch}, flow L={flow_config.levels} "
          f"K={flow_config.steps} width={flow_config.width}, jit={FLAGS.jit}")
    clean = results["clean training step"]
    for label, rate in results.items():
        slower = (f"  {clean / rate:5.1f}x the clean step's time"
                  if "training step" in label else "")
        print(f"  {label:<76} {rate:8.0f} img/s{slower}")
    return results


def main(argv):
    del argv
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, oneDNN "
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    figures = {name: measure(name) for name in FLAGS.setups}
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            json.dump({"jit": FLAGS.jit, "setups": figures}, f, indent=1)


if __name__ == "__main__":
    app.run(main)
