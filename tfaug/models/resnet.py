"""ResNet-18, CIFAR variant (He et al. 2016; the paper's classifier): a 3x3 stem
without max-pool, four stages of two basic blocks (64, 128, 256, 512 channels times
`width`), strides 1, 2, 2, 2, global average pooling, a linear layer giving logits.
Inputs in [0, 1] are standardised per channel inside the model."""

import keras
from keras import layers

from tfaug.models.common import standardize


def _bn():
    # synchronized: one set of batch statistics across replicas, so N devices train
    # exactly like one (a no-op on a single device)
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True)


def _basic_block(x, channels, stride):
    conv = lambda c, k, s: layers.Conv2D(c, k, s, padding="same", use_bias=False)
    out = layers.ReLU()(_bn()(conv(channels, 3, stride)(x)))
    out = _bn()(conv(channels, 3, 1)(out))
    if stride != 1 or x.shape[-1] != channels:
        x = _bn()(conv(channels, 1, stride)(x))
    return layers.ReLU()(layers.Add()([out, x]))


def resnet18(input_shape, num_classes, width: float = 1.0,
             mean=None, std=None, name="resnet18") -> keras.Model:
    """ResNet-18 (CIFAR variant) returning logits; `width` scales every stage."""
    inputs = keras.Input(input_shape)
    channels = [max(int(round(c * width)), 1) for c in (64, 128, 256, 512)]
    x = standardize(inputs, mean, std)
    x = layers.Conv2D(channels[0], 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(_bn()(x))
    for stage, c in enumerate(channels):
        for block in range(2):
            x = _basic_block(x, c, 2 if stage and not block else 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=name)
