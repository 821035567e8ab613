"""How strong is the amortised latent attack? Cross-entropy of the classifier on
perturbed batches, for a fresh 1-step, a fresh 3-step and the amortised 1-step attack
(L2, eps --eps, alpha --alpha, random start; the shipped flow, real Fashion-MNIST).

1. Own trajectories: one classifier trained per attack, same seed, data, init and
   number of steps; the mean training loss (on its perturbed batches) over the last
   --tail steps.
2. One classifier: the one trained with the amortised attack, at the end; over every
   labelled training example, the loss on the clean images, after a fresh 1-step and
   a fresh 3-step attack, and after one amortised step from the perturbation each
   example's last visit left (the attack as training applies it next).

  .venv/bin/python benchmarks/attack_strength.py --labels_per_class=50 --steps=300
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from tfaug import config as cfglib  # noqa: E402
from tfaug import data  # noqa: E402
from tfaug.augment.adversarial import predicted_targets  # noqa: E402
from tfaug.augment.base import finite_or_clean  # noqa: E402
from tfaug.trainers.classifier import (ClassifierTrainConfig, compile_classifier,  # noqa
                                       fit_datasets, load_latent_models, load_splits)

flags.DEFINE_integer("labels_per_class", 50, "Labelled training images per class.")
flags.DEFINE_integer("steps", 300, "Training steps per attack.")
flags.DEFINE_integer("tail", 50, "Training steps at the end whose loss is averaged.")
flags.DEFINE_integer("batch_size", 128, "Batch size.")
flags.DEFINE_string("model", "lenet", "Classifier.")
flags.DEFINE_float("eps", 1.0, "L2 radius in the latent.")
flags.DEFINE_float("alpha", 0.5, "PGD step size.")
flags.DEFINE_float("lr", 0.02, "SGD learning rate (cosine schedule).")
flags.DEFINE_string("data_dir", None, "Fashion-MNIST IDX directory (default: Debian's).")
flags.DEFINE_string("out", None, "Write the figures as JSON here.")
FLAGS = flags.FLAGS

ATTACKS = {
    "fresh 1 step": "latent_adversarial(eps={e},alpha={a},steps=1)",
    "fresh 3 steps": "latent_adversarial(eps={e},alpha={a},steps=3)",
    "amortised 1 step": "latent_adversarial(eps={e},alpha={a},steps=1,amortized=true)",
}


class LossPerStep(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def train(spec: str, splits):
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="fashion_mnist", data_dir=FLAGS.data_dir, model=FLAGS.model,
        augmentation=spec, labels_per_class=FLAGS.labels_per_class, epochs=1,
        steps_per_epoch=FLAGS.steps, batch_size=FLAGS.batch_size, lr=FLAGS.lr,
        weight_decay=5e-4, weight_decay_mode="coupled", seed=0))
    models = load_latent_models(config)
    keras.utils.set_random_seed(0)
    model = compile_classifier(config, models, splits.train.info, FLAGS.steps,
                               len(splits.train))
    train_ds, _ = fit_datasets(config, splits, models)
    # Keras reports the running mean of the epoch; per-step losses come from it.
    record = LossPerStep()
    model.fit(train_ds, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0,
              callbacks=[record], shuffle=False)
    running = np.array(record.losses)
    per_step = running * np.arange(1, len(running) + 1)
    per_step[1:] -= running[:-1] * np.arange(1, len(running))
    return model, models["flow"], per_step


def losses_on_one_classifier(model, glow, splits):
    """Mean loss over all training examples: clean, fresh attacks, amortised."""
    aug = model.augmentation
    fresh = {n: type(aug)(glow, aug.eps, aug.alpha, n, aug.norm) for n in (1, 3)}
    history = aug._history
    totals = {name: [] for name in ("clean", "fresh 1 step", "fresh 3 steps",
                                    "amortised 1 step")}
    overflowed = {name: 0 for name in totals}
    ce = lambda x, t: keras.losses.categorical_crossentropy(
        t, model.classifier(x, training=False), from_logits=True)

    def decoded(name, z, dz, x):
        """What training uses: clipped, and the clean image where decoding
        overflows (counted)."""
        out = glow.decode(z + dz)
        overflowed[name] += int(tf.reduce_sum(tf.cast(~tf.reduce_all(
            tf.math.is_finite(out), axis=[1, 2, 3]), tf.int32)))
        return tf.clip_by_value(finite_or_clean(out, x), 0, 1)
    start = 0
    for i, (x, _) in enumerate(data.eval_pipeline(splits.train, 256)):
        index = tf.range(start, start + len(x), dtype=tf.int64)
        start += len(x)
        z = glow.encode(x)
        targets = predicted_targets(model.classifier, x)
        seed = tf.constant([11, i])
        totals["clean"].append(ce(x, targets))
        for n, attack in fresh.items():
            name = f"fresh {n} step{'s' if n > 1 else ''}"
            dz = attack.delta(z, model.classifier, targets, seed)
            totals[name].append(ce(decoded(name, z, dz, x), targets))
        rows = history.read(index, aug.fresh_start(tf.shape(z), seed))
        dz = aug.delta(z, model.classifier, targets, seed, start=rows)
        totals["amortised 1 step"].append(ce(decoded("amortised 1 step", z, dz, x),
                                             targets))
    losses = {k: float(tf.reduce_mean(tf.concat(v, 0))) for k, v in totals.items()}
    return losses, overflowed


def main(argv):
    del argv
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="fashion_mnist", data_dir=FLAGS.data_dir,
        labels_per_class=FLAGS.labels_per_class))
    splits = load_splits(config)
    print(f"{len(splits.train)} labelled Fashion-MNIST images, {FLAGS.model}, "
          f"{FLAGS.steps} steps of batch {FLAGS.batch_size}; L2 eps {FLAGS.eps}, alpha "
          f"{FLAGS.alpha}")
    settings = ("labels_per_class", "steps", "tail", "batch_size", "model", "eps",
                "alpha", "lr")
    result = {"settings": {k: FLAGS[k].value for k in settings},
              "own_trajectory_tail_loss": {}}
    for name, template in ATTACKS.items():
        model, glow, per_step = train(template.format(e=FLAGS.eps, a=FLAGS.alpha), splits)
        tail = float(np.mean(per_step[-FLAGS.tail:]))
        result["own_trajectory_tail_loss"][name] = tail
        print(f"  trained with {name:<18} mean loss on its perturbed batches, last "
              f"{FLAGS.tail} steps: {tail:.4f}")
    losses, overflowed = losses_on_one_classifier(model, glow, splits)
    result["one_classifier_loss"], result["decoder_overflows"] = losses, overflowed
    print("  the amortised run's final classifier, every training example:")
    for name, loss in losses.items():
        print(f"    {name:<18} {loss:.4f}  ({overflowed[name]} of {len(splits.train)} "
              "decodes overflowed: clean image used)")
    three = result["one_classifier_loss"]["fresh 3 steps"]
    amortised = result["one_classifier_loss"]["amortised 1 step"]
    print(f"  amortised / fresh 3 steps: {amortised / three:.3f}")
    if FLAGS.out:
        with open(FLAGS.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    app.run(main)
