"""Run by test_training: trains the same classifier (with a deterministic latent
attack) on one CPU device and under MirroredStrategy over two logical CPU devices,
on the same data, and checks the weights agree. A separate process, because logical
devices must be configured before TensorFlow initialises."""

import os
import sys

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
from tfaug.training import AugmentedClassifier  # noqa: E402


def train(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        glow = Glow(GlowConfig((8, 8, 1), levels=2, steps=1, width=8))
        glow.initialize(toy_split(32).images / np.float32(255))
        aug = augment.LatentAdversarial(glow, 0.5, 0.25, 2, random_start=False)
        model = AugmentedClassifier(models.small_cnn((8, 8, 1), 2, width=0.25), aug)
        model.build((None, 8, 8, 1))
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                      keras.losses.CategoricalCrossentropy(from_logits=True))
    data = toy_split(64)
    ds = tf.data.Dataset.from_tensor_slices(
        (data.images / np.float32(255), tf.one_hot(data.labels, 2))).batch(16)
    model.fit(ds, epochs=2, verbose=0)
    return [v.numpy() for v in model.classifier.weights]


one = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
two_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert two_strategy.num_replicas_in_sync == 2
two = train(two_strategy)
diff = max(float(np.abs(a - b).max()) for a, b in zip(one, two))
print(f"max weight difference {diff:.2e}")
assert diff < 1e-4, diff
