"""Throughput of augmented training steps on this machine (img/s, XLA-compiled).

For (1) 28x28x1 with the small CNN, batch 128, and (2) 32x32x3 with ResNet-18, batch
--resnet_batch: a clean training step, each augmentation alone, full training steps
with latent random and latent adversarial (L2, 3 steps) augmentation, the ratio
adversarial-step / clean-step, and the adversarial step's parts (encode, one attack
iteration, final decode, classifier step) summed beside the whole. Flows are the
Glow issue's (b) (28x28x1, L=2, K=8, width 64) and (a) (32x32x3, L=3, K=4, width
64), initialised on the batch (throughput does not depend on training).
Run on an otherwise idle machine:  .venv/bin/python benchmarks/augment_throughput.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

import timing  # noqa: E402
from tfaug import augment, models  # noqa: E402
from tfaug.augment.adversarial import predicted_targets  # noqa: E402
from tfaug.augment import norms  # noqa: E402
from tfaug.flows import Glow, GlowConfig  # noqa: E402
from tfaug.trainers.classifier import AugmentedClassifier  # noqa: E402

flags.DEFINE_list("setups", ["small_cnn", "resnet18"], "Which setups to measure.")
flags.DEFINE_integer("resnet_batch", 32, "Batch size of the ResNet-18 setup.")
flags.DEFINE_integer("iters", 5, "Calls per timed run.")
flags.DEFINE_integer("repeats", 3, "Timed runs; the median is reported.")
flags.DEFINE_bool("jit", True, "XLA-compile every measured function.")
FLAGS = flags.FLAGS

SETUPS = {
    "small_cnn": (GlowConfig((28, 28, 1), 2, 8, 64), "small_cnn", 128),
    "resnet18": (GlowConfig((32, 32, 3), 3, 4, 64), "resnet18", None),
}


def seconds_per_call(fn, *args):
    return timing.seconds_per_call(fn, *args, iters=FLAGS.iters, repeats=FLAGS.repeats)


def measure(name):
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
    jit = lambda f: tf.function(f, jit_compile=FLAGS.jit)

    def training_step(aug):
        keras.utils.set_random_seed(0)
        model = AugmentedClassifier(models.build(model_name, shape, 10), aug)
        model.build((None, *shape))
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                      keras.losses.CategoricalCrossentropy(from_logits=True))
        return model, jit(model.train_step)

    adversarial = augment.LatentAdversarial(glow, 1.0, 0.5, 3, "l2")
    random = augment.LatentRandom(glow, 1.0, "l2")
    clean_model, clean_step = training_step(augment.NoAugmentation())
    classifier = clean_model.classifier
    results = {"clean training step": seconds_per_call(clean_step, (x, y))}
    for label, aug in [("standard", augment.Standard()), ("mixup", augment.Mixup()),
                       ("cutout", augment.Cutout()),
                       ("image PGD (3 steps)", augment.ImagePGD(8 / 255, 2 / 255, 3)),
                       ("latent random", random),
                       ("latent adversarial (3 steps)", adversarial)]:
        fn = jit(lambda a, b, aug=aug: aug(a, b, classifier, seed=seed)[0])
        results[f"{label} alone"] = seconds_per_call(fn, x, y)
    results["latent random training step"] = seconds_per_call(
        training_step(random)[1], (x, y))
    results["latent adversarial training step"] = seconds_per_call(
        training_step(adversarial)[1], (x, y))

    # the adversarial step's parts
    z = glow.encode(x)
    targets = predicted_targets(classifier, x)

    def one_iteration(d):
        with tf.GradientTape() as tape:
            tape.watch(d)
            logits = classifier(glow.decode(z + d), training=False)
            loss = tf.reduce_sum(keras.losses.categorical_crossentropy(
                targets, logits, from_logits=True))
        grad = tape.gradient(loss, d)
        return norms.project(d + 0.5 * norms.ascent_direction(grad, "l2"), 1.0, "l2")

    parts = {
        "encode": seconds_per_call(jit(lambda a: glow.encode(a, validate=False)), x),
        "predict targets": seconds_per_call(jit(lambda a: predicted_targets(
            classifier, a)), x),
        "attack iteration x3": 3 * seconds_per_call(jit(one_iteration),
                                                    tf.zeros_like(z)),
        "final decode": seconds_per_call(jit(glow.decode), z),
        "classifier step": results["clean training step"],
    }
    print(f"\n{name}: {shape}, batch {batch}, flow L={flow_config.levels} "
          f"K={flow_config.steps} width={flow_config.width}, jit={FLAGS.jit}")
    for label, sec in results.items():
        print(f"  {label:<36} {batch / sec:8.0f} img/s   {sec * 1e3:8.1f} ms")
    adv, clean = results["latent adversarial training step"], results[
        "clean training step"]
    print(f"  adversarial step / clean step: {adv / clean:.1f}x")
    print("  adversarial step, parts:")
    for label, sec in parts.items():
        print(f"    {label:<34} {sec * 1e3:8.1f} ms")
    total = sum(parts.values())
    print(f"    {'sum of parts':<34} {total * 1e3:8.1f} ms   whole step "
          f"{adv * 1e3:.1f} ms ({(adv / total - 1) * 100:+.0f}%)")


def main(argv):
    del argv
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs")
    for name in FLAGS.setups:
        measure(name)


if __name__ == "__main__":
    app.run(main)
