"""A small CNN for quick runs (LeNet-sized): two conv-BN-ReLU-pool stages and a
hidden dense layer, giving logits. BatchNorm momentum 0.9 (as ResNet-18 here):
Keras' 0.99 leaves the moving statistics near their initial values in short runs."""

import keras
from keras import layers

from tfaug.models.common import standardize


def small_cnn(input_shape, num_classes, width: float = 1.0,
              mean=None, std=None, name="small_cnn") -> keras.Model:
    c1, c2, hidden = (max(int(round(c * width)), 1) for c in (32, 64, 128))
    inputs = keras.Input(input_shape)
    x = standardize(inputs, mean, std)
    for c in (c1, c2):
        x = layers.Conv2D(c, 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9,
                                                    synchronized=True)(x))
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.ReLU()(layers.Dense(hidden)(x))
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=name)
