"""Run by test_training: trains the same classifier (with a deterministic latent
attack: plain, amortised, free, refreshed every k-th step; and semi-supervised, with
a fixmatch part whose strong view is that attack on unlabelled images) and the same Glow
(FlowTrainer) on one CPU device and under MirroredStrategy over two logical CPU
devices, on the same data, and checks that the weights and the attack's per-example
state agree; then trains under the two replicas what several GPUs get by default with
mixed precision (no XLA). A separate process, because logical devices must be
configured before TensorFlow initialises."""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from flow_helpers import toy_split  # noqa: E402
from tfaug import augment, models  # noqa: E402
from tfaug.flows import Glow, GlowConfig  # noqa: E402
from tfaug.trainers.augmented import AugmentedModel  # noqa: E402
from tfaug.trainers.flow import FlowTrainConfig, FlowTrainer  # noqa: E402


def train(strategy, semi_supervised=False, **attack):
    keras.utils.set_random_seed(0)
    data = toy_split(64)
    with strategy.scope():
        glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
        glow.initialize(data.images[:32] / np.float32(255))
        aug = augment.LatentAdversarial(glow, 0.5, 0.25, 2, random_start=False,
                                        **attack)
        if semi_supervised:
            aug = augment.FixMatch(augment.NoAugmentation(), aug, threshold=0.0)
        model = AugmentedModel(models.small_cnn((8, 8, 1), 2, width=0.25), aug,
                                    num_examples=len(data))
        model.build((None, 8, 8, 1))
        # predicted labels (the attack's targets, fixmatch's pseudo-labels) far from
        # a tie: argmax is discontinuous, so the float noise of one CPU's kernels at
        # a near-tie would flip a label on one strategy only
        model.classifier.layers[-1].bias.assign([4.0, 0.0])
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                      keras.losses.CategoricalCrossentropy(from_logits=True),
                      jit_compile=False)
    features = {"images": data.images / np.float32(255), "index": np.arange(64)}
    if semi_supervised:
        features["unlabelled"] = toy_split(64, seed=9).images
    ds = tf.data.Dataset.from_tensor_slices((features, tf.one_hot(data.labels, 2)))
    model.fit(ds.batch(16), epochs=3, verbose=0)
    return [v.numpy() for v in model.classifier.weights], {
        v.name: v.numpy() for v in model.non_trainable_variables
        if v.name.startswith(("latent_perturbation", "perturbed_image"))}


# One two-replica strategy for all runs: a second one in the same process would
# reuse the first one's collective instance keys.
two_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert two_strategy.num_replicas_in_sync == 2
for attack in ({}, {"amortized": True}, {"free": True}, {"refresh": 2},
               {"amortized": True, "refresh": 2}, {"free": True, "refresh": 3},
               {"semi_supervised": True}):
    one, one_state = train(tf.distribute.OneDeviceStrategy("/cpu:0"), **attack)
    two, two_state = train(two_strategy, **attack)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(one, two))
    print(f"{attack}: max weight difference {diff:.2e}")
    assert diff < 1e-4, diff
    assert sorted(one_state) == sorted(two_state)
    assert ("latent_perturbation" in one_state) == bool(
        attack.get("amortized") or attack.get("free"))
    assert ("perturbed_image" in one_state) == ("refresh" in attack)
    for name, value in one_state.items():
        if name.endswith("written"):  # refresh: only batches on refresh steps banked
            assert value.sum() >= 32 and np.array_equal(value, two_state[name]), name
        state_diff = float(np.abs(value - two_state[name]).max())
        print(f"{attack}: {name}: max per-example difference {state_diff:.2e}")
        assert state_diff < 1e-4 and np.abs(value).max() > 0.1, (name, state_diff)


def train_flow(strategy):
    config = FlowTrainConfig(dataset="mnist", levels=2, steps_per_level=1, width=8,
                             batch_size=16, warmup_steps=2, grad_clip=0.5, train_steps=6,
                             eval_every=100, checkpoint_every=100, eval_examples=16)
    with tempfile.TemporaryDirectory() as out_dir:
        trainer = FlowTrainer(config, out_dir, toy_split(64), toy_split(16, seed=1),
                              progress=False, strategy=strategy)
        report = trainer.fit(log=lambda _: None)
        assert report["steps"] == 6 and report["skipped_steps"] == 0, report
        return [v.numpy() for v in trainer.glow.variables], report


one, one_report = train_flow(tf.distribute.OneDeviceStrategy("/cpu:0"))
two, two_report = train_flow(two_strategy)
diff = max(float(np.abs(a - b).max()) for a, b in zip(one, two))
print(f"flow: max weight difference {diff:.2e}, final bits/dim "
      f"{one_report['final_test_bits_per_dim']:.5f} / "
      f"{two_report['final_test_bits_per_dim']:.5f}")
assert diff < 1e-4, diff
assert max(float(np.abs(a).max()) for a in one) > 0  # trained


# Several GPUs' defaults with a mixed policy: MirroredStrategy, no XLA.
from tfaug import config as cfglib, flows  # noqa: E402
from tfaug.trainers.classifier import (ClassifierTrainConfig, Splits,  # noqa: E402
                                       train_classifier)

with tempfile.TemporaryDirectory() as out_dir:
    with two_strategy.scope():
        assert not cfglib.use_xla(None)
    glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
    glow.initialize(toy_split(32).images[:32] / np.float32(255))
    flows.save(glow, os.path.join(out_dir, "flow"))
    for precision in ("mixed_float16", "mixed_bfloat16"):
        config = cfglib.from_dict(ClassifierTrainConfig, dict(
            dataset="mnist", flow=os.path.join(out_dir, "flow"), model_width=0.25,
            epochs=2, steps_per_epoch=2, batch_size=8, precision=precision,
            augmentation="standard(pad=1)+latent_adversarial(eps=0.5,alpha=0.25,steps=2)"))
        report = train_classifier(
            config, os.path.join(out_dir, precision),
            Splits(toy_split(32), toy_split(8, seed=1, split="val"),
                   toy_split(8, seed=2, split="test")), strategy=two_strategy, verbose=0)
        assert report["replicas"] == 2 and report["optimizer_steps"] == 4, report
        assert np.isfinite(report["history"]["loss"]).all(), report["history"]
        print(f"{precision} on two replicas: losses {report['history']['loss']}")
