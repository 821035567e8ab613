"""Learning-rate warm-up: linear from ~0 to the base rate over `warmup_steps`."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable("tfaug")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):

    def __init__(self, base_lr: float, warmup_steps: int):
        self.base_lr, self.warmup_steps = float(base_lr), int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32) + 1.0
        return self.base_lr * tf.minimum(1.0, step / max(self.warmup_steps, 1))

    def get_config(self):
        return {"base_lr": self.base_lr, "warmup_steps": self.warmup_steps}
