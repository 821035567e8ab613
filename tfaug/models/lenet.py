"""LeNet-5 as the paper's MNIST / Fashion-MNIST experiments use it: conv 6@5x5 (pad
2), ReLU, 2x2 average pool, conv 16@5x5 (valid), ReLU, 2x2 average pool, dense 120,
ReLU, dense 84, ReLU, dense to logits. 61,706 parameters for 28x28x1 inputs and 10
classes; `width` scales every layer. Inputs in [0, 1] are standardised inside."""

import keras
from keras import layers

from tfaug.models.common import standardize


def lenet(input_shape, num_classes, width: float = 1.0, mean=None, std=None,
          name="lenet") -> keras.Model:
    c1, c2, h1, h2 = (max(int(round(c * width)), 1) for c in (6, 16, 120, 84))
    inputs = keras.Input(input_shape)
    x = standardize(inputs, mean, std)
    x = layers.AveragePooling2D(2)(layers.Conv2D(c1, 5, padding="same",
                                                activation="relu")(x))
    x = layers.AveragePooling2D(2)(layers.Conv2D(c2, 5, activation="relu")(x))
    x = layers.Flatten()(x)
    x = layers.Dense(h1, activation="relu")(x)
    x = layers.Dense(h2, activation="relu")(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=name)
