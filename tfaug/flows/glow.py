"""Glow (Kingma & Dhariwal 2018) as a keras.Model around a chain of TFP bijectors.

Structure, data to latent, for L levels of K steps:
  logit pre-processing, then level(1), where level(l) on (H, W, C) is
    squeeze -> K x [ActNorm -> invertible 1x1 conv -> coupling]
            -> (l < L) split: half to level(l + 1), half standardised by its prior
            -> unsqueeze back to (H, W, C).
The latent z therefore has the image's shape (H, W, C) and prior N(0, I) in every
coordinate, so one epsilon means the same at every level. `latent_levels(z)` gives
the per-level views: level l < L factors out a (H / 2^l, W / 2^l, 2^l C) part, and
the last level keeps (H / 2^L, W / 2^L, 2^(L+1) C) (`GlowConfig.level_shapes`).
"""

import dataclasses
import functools
import math
from typing import Tuple

import keras
import numpy as np
import tensorflow as tf

from tfaug.checks import check_images
from tfaug.errors import ConfigError, DataError
from tfaug.flows import preprocess
from tfaug.flows.actnorm import ActNorm
from tfaug.flows.base import chain, initialize_sequence
from tfaug.flows.conv1x1 import Invertible1x1Conv
from tfaug.flows.coupling import COUPLINGS, Coupling
from tfaug.flows.split import SplitPrior
from tfaug.flows.squeeze import Squeeze, squeeze_bijector
from tfaug.precision import float32_policy


@dataclasses.dataclass(frozen=True)
class GlowConfig:
    """Architecture of a Glow. `image_shape` sides must be divisible by 2**levels."""
    image_shape: Tuple[int, int, int] = (28, 28, 1)
    levels: int = 2
    steps: int = 8
    width: int = 64
    coupling: str = "sigmoid"       # sigmoid | tanh | additive
    conv: str = "lu"                # lu | plain
    seed: int = 0                   # initial weights (1x1 rotations, coupling nets)

    def validate(self) -> "GlowConfig":
        h, w, c = self.image_shape
        if self.levels < 1 or self.steps < 1 or self.width < 1:
            raise ConfigError(f"levels, steps and width must be >= 1, got "
                              f"{self.levels}, {self.steps}, {self.width}.")
        if h % 2 ** self.levels or w % 2 ** self.levels:
            raise ConfigError(level_mismatch(self.levels, h, w))
        if self.coupling not in COUPLINGS:
            raise ConfigError(f"coupling must be one of {COUPLINGS}, got "
                              f"{self.coupling!r}.")
        if self.conv not in ("lu", "plain"):
            raise ConfigError(f"conv must be 'lu' or 'plain', got {self.conv!r}.")
        return self

    def level_shapes(self):
        """Shape of each level's factored-out latent (the last level keeps all)."""
        h, w, c = self.image_shape
        shapes = []
        for level in range(1, self.levels + 1):
            h, w, c = h // 2, w // 2, 4 * c
            if level < self.levels:
                c //= 2
            shapes.append((h, w, c))
        return shapes

    def flops_per_image(self) -> int:
        """Multiply-adds of one encode (or decode) of one image: the 1x1 convolutions,
        the coupling networks and the split priors, which hold nearly all the work."""
        h, w, c = self.image_shape
        total = 0
        for level in range(1, self.levels + 1):
            h, w, c = h // 2, w // 2, 4 * c
            half, out = c // 2, (c // 2 if self.coupling == "additive" else c)
            step = c * c + 9 * half * self.width + self.width ** 2 + 9 * self.width * out
            total += h * w * self.steps * step
            if level < self.levels:
                total += h * w * 9 * half * c  # the split prior's convolution
                c //= 2
        return total

    def activations_per_image(self) -> Tuple[int, int]:
        """(all, largest): floats of the intermediate tensors of one encode or decode
        of one image, which training and attacks keep for the backward pass."""
        h, w, c = self.image_shape
        total = largest = h * w * c
        for level in range(1, self.levels + 1):
            h, w, c = h // 2, w // 2, 4 * c
            out = c // 2 if self.coupling == "additive" else c
            total += h * w * self.steps * (2 * c + 2 * self.width + out)
            largest = max(largest, h * w * self.width)
            if level < self.levels:
                c //= 2
        return total, largest

    def expected_variable_count(self) -> int:
        """Scalars in all variables (trainable or not), from the config alone."""
        h, w, c = self.image_shape
        total = 0
        for level in range(1, self.levels + 1):
            c *= 4
            half, out = c // 2, (c // 2 if self.coupling == "additive" else c)
            step = (2 * c + 1) + c * c + (c if self.conv == "lu" else 0)  # actnorm, 1x1
            step += (9 * half * self.width + self.width) + (self.width ** 2 + self.width)
            step += 9 * self.width * out + out                          # coupling net
            step += half if self.coupling == "tanh" else 0
            total += self.steps * step
            if level < self.levels:
                total += 9 * half * c + c                               # split prior
                c //= 2
        return total


def max_levels(h: int, w: int) -> int:
    """The most levels a Glow can have on H x W images (each halves the sides)."""
    levels = 0
    while h % 2 ** (levels + 1) == 0 and w % 2 ** (levels + 1) == 0:
        levels += 1
    return levels


def level_mismatch(levels: int, h: int, w: int) -> str:
    """Why a `levels`-level Glow does not fit H x W images, and what does."""
    m = 2 ** levels
    sizes = sorted({(max(h // m, 1) * m, max(w // m, 1) * m),
                    (-(-h // m) * m, -(-w // m) * m)})
    fits = max_levels(h, w)
    return (f"A {levels}-level Glow halves the image {levels} times, so its sides must "
            f"be divisible by {m}; {h}x{w} are not. Resize the images with "
            f"{' or '.join(f'--image_size={a},{b}' for a, b in sizes)}, or use "
            + (f"--levels={fits} (the most {h}x{w} allows)." if fits else
               "an image size with even sides."))


class Glow(keras.Model):
    """Exact encoder/decoder and density model for images in [0, 1].

    encode(x) -> z and decode(z) -> x are deterministic and mutually inverse; z has
    x's shape. log_prob / bits_per_dim use uniform dequantisation.
    """

    def __init__(self, config: GlowConfig = GlowConfig(), **kwargs):
        with float32_policy():
            super().__init__(**kwargs)
            self.config = config.validate()
            self.flow_layers = [preprocess.Logit()] + self._level(config.image_shape, 1)

    def _level(self, shape, level):
        cfg = self.config
        h, w, c = shape
        c4 = 4 * c
        layers = [Squeeze(shape)]
        for k in range(cfg.steps):
            seed = cfg.seed * 100003 + level * 1009 + 2 * k
            layers += [ActNorm(c4), Invertible1x1Conv(c4, cfg.conv, seed),
                       Coupling(c4, cfg.width, cfg.coupling, seed)]
        if level < cfg.levels:
            layers.append(SplitPrior(c4, self._level((h // 2, w // 2, c4 // 2),
                                                     level + 1)))
        layers.append(Squeeze(shape, inverse=True))
        return layers

    # -- the bijector ---------------------------------------------------------------
    def bijector(self):
        """The TFP bijector from flow input y in (0, 1) to latent z (built anew)."""
        return chain(self.flow_layers)

    @property
    def latent_shape(self):
        """z has the image's shape."""
        return tuple(self.config.image_shape)

    @property
    def dims(self) -> int:
        return int(np.prod(self.config.image_shape))

    def check_images(self, x, what="images"):
        return check_images(x, self.config.image_shape, what, "this flow")

    # -- encoder / decoder ----------------------------------------------------------
    # Each direction is traced once per flow and called from every graph that encodes
    # or decodes (all attack steps, every model a search builds): tracing the chain
    # was half of building a latent training step.
    @functools.cached_property
    def _forward(self):
        return tf.function(lambda y: self.bijector().forward(y), reduce_retracing=True)

    @functools.cached_property
    def _inverse(self):
        return tf.function(lambda z: self.bijector().inverse(z), reduce_retracing=True)

    def encode(self, x, validate: bool = True):
        """Images in [0, 1], shape (B, H, W, C) -> latents z, same shape, prior N(0, I)."""
        if validate:
            x = self.check_images(x)
        return self._forward(preprocess.centre(x))

    def decode(self, z):
        """Latents (B, H, W, C) -> images in [0, 1]; decode(encode(x)) == x."""
        z = tf.convert_to_tensor(z, tf.float32)
        if z.shape.rank != 4 or tuple(z.shape[1:]) != tuple(self.config.image_shape):
            raise DataError(f"latents must have the image shape (batch, "
                            f"{', '.join(map(str, self.config.image_shape))}), got "
                            f"{tuple(z.shape)}.")
        if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(z))):
            raise DataError("latents contain NaN or inf.")
        return preprocess.uncentre(self._inverse(z))

    def latent_levels(self, z):
        """Per-level views of z: a list of tensors of shapes `config.level_shapes()`."""
        views, shape = [], self.config.image_shape
        for level in range(1, self.config.levels + 1):
            z = squeeze_bijector(shape).forward(z)
            if level == self.config.levels:
                views.append(z)
            else:
                z, factored = tf.split(z, 2, axis=-1)
                views.append(factored)
                shape = tuple(z.shape[1:])
        return views

    def level_weights(self, decay: float) -> np.ndarray:
        """(H, W, C) weight of each latent coordinate by its level l of L:
        decay ** (L - l), so the coarsest level (the last, which keeps the most
        global content) weighs 1 and each finer one `decay` times the next."""
        index = np.arange(self.dims, dtype=np.float32).reshape(
            (1, *self.config.image_shape))
        weights = np.zeros(self.dims, np.float32)
        for level, view in enumerate(self.latent_levels(tf.constant(index)), 1):
            weights[np.asarray(view).astype(np.int64).ravel()] = \
                decay ** (self.config.levels - level)
        return weights.reshape(self.config.image_shape)

    # -- density --------------------------------------------------------------------
    def log_prob_continuous(self, y):
        """log p(y) of the flow's input y in (0, 1)^D (nats per image)."""
        b = self.bijector()
        z = b.forward(y)
        log_normal = -0.5 * tf.reduce_sum(tf.square(z), axis=[1, 2, 3]) \
            - 0.5 * self.dims * math.log(2.0 * math.pi)
        return log_normal + b.forward_log_det_jacobian(y, event_ndims=3)

    def log_prob(self, x, seed=None, validate: bool = True):
        """Discrete log-likelihood estimate of images x in [0, 1] (nats per image):
        log p(y) - D log 256 with y uniformly dequantised (seed: shape [2] ints), or
        at the bin centres when seed is None (deterministic)."""
        x = self.check_images(x) if validate else x
        y = preprocess.centre(x) if seed is None else preprocess.dequantize(x, seed)
        return self.log_prob_continuous(y) - self.dims * math.log(preprocess.LEVELS)

    def bits_per_dim(self, x, seed=None, validate: bool = True):
        """-log2 p(x) / D per image: the standard bits/dim with dequantisation."""
        return -self.log_prob(x, seed, validate) / (self.dims * math.log(2.0))

    def bits_per_dim_continuous(self, y):
        """bits/dim of already dequantised flow inputs y in (0, 1) (training loss)."""
        log_p = self.log_prob_continuous(y) - self.dims * math.log(preprocess.LEVELS)
        return -log_p / (self.dims * math.log(2.0))

    def sample(self, n: int, temperature: float = 1.0, seed=(0, 0)):
        """n images decoded from z ~ N(0, temperature^2 I)."""
        z = tf.random.stateless_normal((n, *self.config.image_shape), seed=seed)
        return self.decode(temperature * z)

    # -- initialisation -------------------------------------------------------------
    def initialize(self, x, seed=(0, 0)):
        """ActNorm data-dependent initialisation from one batch of images (eager).
        A no-op for layers already initialised (e.g. restored from a checkpoint)."""
        x = self.check_images(x)
        initialize_sequence(self.flow_layers, preprocess.dequantize(x, seed))

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A tf.train.Checkpoint of every Glow variable (by position), plus `extra`.

        tf.train.Checkpoint does not see a Keras 3 model's variables through the model
        itself, so they are listed explicitly; their order is fixed by the config.
        """
        return tf.train.Checkpoint(glow_variables=list(self.variables), **extra)

    @property
    def num_parameters(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.trainable_variables))

    @property
    def initialized(self) -> bool:
        flags = [v for v in self.variables if v.name == "initialized"]
        return bool(flags) and all(float(v.numpy()) > 0 for v in flags)

    def call(self, x):
        return self.encode(x)
