"""VAE-GAN (Larsen et al. 2016): the approximate encoder/decoder behind the on-manifold
perturbations of Stutz et al. (2019), the baseline the flow is measured against.

An encoder gives a Gaussian posterior (mean, log-variance) over a `latent_dim` latent
with prior N(0, I); a decoder maps latents to images in [0, 1]; a discriminator gives
a real/fake logit and the features in which reconstructions are compared. Training
(train_step, under Keras' fit) minimises, with weights from `LossWeights`:

  encoder:       kl * KL + feature * ||D_l(x) - D_l(x~)||^2 + pixel * ||x - x~||^2
  decoder:       feature * ... + pixel * ... + adversarial * GAN(fool D on x~ and x_p)
  discriminator: GAN(x real; x~ = dec(enc(x)) and x_p = dec(z ~ prior) fake)

As a LatentModel, encode(x) is the posterior mean (no sampling) and decode(z) the
decoder: decode(encode(x)) only approximates x, unlike a flow.
"""

import dataclasses
import json
import os
from typing import Tuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tfaug import config as cfglib
from tfaug import io
from tfaug.checks import check_images
from tfaug.errors import CheckpointError, ConfigError, DataError, first_line
from tfaug.precision import float32_policy

field = cfglib.field
PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "pretrained",
                              "vaegan")


@dataclasses.dataclass(frozen=True)
class VAEGANConfig:
    image_shape: Tuple[int, ...] = field((28, 28, 1), "Image shape (H, W, C); H and W "
                                                      "divisible by 4.")
    latent_dim: int = field(32, "Latent dimensions.")
    width: int = field(32, "Channels of the first convolution (the second has 2x).")
    seed: int = field(0, "Seed of the weights and of the training noise.")

    def validate(self):
        h, w, c = (tuple(self.image_shape) + (0, 0, 0))[:3]
        if len(self.image_shape) != 3 or h % 4 or w % 4 or min(h, w, c) < 1:
            raise ConfigError(f"image_shape must be (H, W, C) with H and W divisible by "
                              f"4, got {tuple(self.image_shape)}.")
        if self.latent_dim < 1 or self.width < 1:
            raise ConfigError("latent_dim and width must be >= 1.")
        return self


@dataclasses.dataclass(frozen=True)
class LossWeights:
    kl: float = 0.05
    feature: float = 1.0
    pixel: float = 1.0
    adversarial: float = 0.01


def _encoder(cfg: VAEGANConfig) -> keras.Model:
    x = inputs = keras.Input(cfg.image_shape)
    for channels in (cfg.width, 2 * cfg.width):
        x = layers.Conv2D(channels, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(2 * cfg.latent_dim)(layers.Flatten()(x))
    return keras.Model(inputs, x, name="encoder")


def _decoder(cfg: VAEGANConfig) -> keras.Model:
    h, w, c = cfg.image_shape
    z = keras.Input((cfg.latent_dim,))
    x = layers.Dense(h // 4 * w // 4 * 2 * cfg.width, activation="relu")(z)
    x = layers.Reshape((h // 4, w // 4, 2 * cfg.width))(x)
    x = layers.Conv2DTranspose(cfg.width, 4, strides=2, padding="same",
                               activation="relu")(x)
    x = layers.Conv2DTranspose(c, 4, strides=2, padding="same",
                               activation="sigmoid")(x)
    return keras.Model(z, x, name="decoder")


def _discriminator(cfg: VAEGANConfig) -> keras.Model:
    x = inputs = keras.Input(cfg.image_shape)
    x = layers.LeakyReLU(0.2)(layers.Conv2D(cfg.width, 4, strides=2, padding="same")(x))
    features = layers.Conv2D(2 * cfg.width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(features)
    logit = layers.Dense(1)(layers.Flatten()(x))
    return keras.Model(inputs, [features, logit], name="discriminator")


def _bce(logits, real: bool):
    labels = tf.ones_like(logits) if real else tf.zeros_like(logits)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


class VAEGAN(keras.Model):
    """Encoder, decoder and discriminator; a LatentModel (encode/decode)."""

    LOSSES = ("kl", "pixel_mse", "feature", "gan_discriminator", "gan_generator")

    def __init__(self, config: VAEGANConfig = VAEGANConfig(), **kwargs):
        with float32_policy():
            super().__init__(**kwargs)
            self.config = config.validate()
            keras.utils.set_random_seed(config.seed)
            self.encoder = _encoder(config)
            self.decoder = _decoder(config)
            self.discriminator = _discriminator(config)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.LOSSES}
        self.loss_weights_ = LossWeights()

    # -- LatentModel ----------------------------------------------------------------
    @property
    def latent_shape(self):
        return (self.config.latent_dim,)

    def posterior(self, x):
        mean, log_var = tf.split(self.encoder(x), 2, axis=-1)
        return mean, tf.clip_by_value(log_var, -20.0, 10.0)

    def encode(self, x, validate: bool = True):
        """Images (B, H, W, C) in [0, 1] -> posterior means (B, latent_dim)."""
        if validate:
            x = check_images(x, self.config.image_shape, model="this VAE-GAN")
        return self.posterior(x)[0]

    def decode(self, z):
        """Latents (B, latent_dim) -> images in [0, 1] (approximate inverse)."""
        z = tf.convert_to_tensor(z, tf.float32)
        if z.shape.rank != 2 or z.shape[-1] != self.config.latent_dim:
            raise DataError(f"latents must have shape (batch, {self.config.latent_dim}) "
                            f"for this VAE-GAN, got {tuple(z.shape)}.")
        return self.decoder(z)

    def sample(self, n: int, seed=(0, 0)):
        return self.decoder(tf.random.stateless_normal((n, self.config.latent_dim), seed))

    def call(self, x):
        return self.decode(self.encode(x, validate=False))

    def build(self, input_shape=None):  # the three functional parts are built
        self.built = True

    # -- training -------------------------------------------------------------------
    def compile(self, lr: float = 2e-4, weights: LossWeights = LossWeights(),
                jit_compile: bool = True):
        """Three Adam optimizers (encoder, decoder, discriminator; beta_1 0.5)."""
        self.loss_weights_ = weights
        self.optimizers = [keras.optimizers.Adam(lr, beta_1=0.5, name=name)
                           for name in ("encoder_adam", "decoder_adam",
                                        "discriminator_adam")]
        parts = (self.encoder, self.decoder, self.discriminator)
        for opt, part in zip(self.optimizers, parts):
            opt.build(part.trainable_variables)
        # Keras' own optimizer slot holds the encoder's (else it adds an unused one).
        super().compile(optimizer=self.optimizers[0], jit_compile=jit_compile)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def losses_of(self, x, seed):
        """Every loss term for a batch `x`; the posterior and prior noise come from
        the stateless `seed`."""
        w = self.loss_weights_
        s_post, s_prior = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        mean, log_var = self.posterior(x)
        z = mean + tf.exp(0.5 * log_var) * tf.random.stateless_normal(tf.shape(mean),
                                                                      s_post)
        recon = self.decoder(z)
        fake = self.decoder(tf.random.stateless_normal(tf.shape(mean), s_prior))
        f_real, d_real = self.discriminator(x)
        f_recon, d_recon = self.discriminator(recon)
        _, d_fake = self.discriminator(fake)
        pixels = float(np.prod(self.config.image_shape))
        terms = {
            "kl": tf.reduce_mean(tf.reduce_sum(
                0.5 * (tf.square(mean) + tf.exp(log_var) - log_var - 1.0), -1)) / pixels,
            "pixel_mse": tf.reduce_mean(tf.square(x - recon)),
            "feature": tf.reduce_mean(tf.square(tf.stop_gradient(f_real) - f_recon)),
            "gan_discriminator": _bce(d_real, True) + 0.5 * (
                _bce(d_recon, False) + _bce(d_fake, False)),
            "gan_generator": 0.5 * (_bce(d_recon, True) + _bce(d_fake, True)),
        }
        likeness = w.feature * terms["feature"] + w.pixel * terms["pixel_mse"]
        losses = (w.kl * terms["kl"] + likeness,
                  likeness + w.adversarial * terms["gan_generator"],
                  terms["gan_discriminator"])
        return terms, losses

    def train_step(self, x):
        step = self.optimizers[0].iterations
        seed = tf.cast(tf.stack([tf.constant(self.config.seed, tf.int64),
                                 tf.cast(step, tf.int64)]), tf.int32)
        parts = (self.encoder, self.decoder, self.discriminator)
        with tf.GradientTape(persistent=True) as tape:
            terms, losses = self.losses_of(x, seed)
        for opt, part, loss in zip(self.optimizers, parts, losses):
            variables = part.trainable_variables
            opt.apply(tape.gradient(loss, variables), variables)
        del tape
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}


class ClassSpecificVAEGAN(keras.Model):
    """One VAE-GAN per class, as Stutz et al. (2019) train them: an image is encoded
    and decoded by its class's model. As a LatentModel it is bound to a batch's
    classes first (`for_classes`); the latent augmentations do that with the labels."""

    def __init__(self, config: VAEGANConfig, num_classes: int, **kwargs):
        with float32_policy():
            super().__init__(**kwargs)
        if num_classes < 1:
            raise ConfigError("num_classes must be >= 1.")
        self.config, self.num_classes = config.validate(), num_classes
        self.per_class = [VAEGAN(dataclasses.replace(config, seed=config.seed + k))
                          for k in range(num_classes)]

    def _pick(self, outputs, classes):
        if classes is None:
            raise DataError("A class-specific VAE-GAN encodes and decodes with each "
                            "image's class: pass classes (or use for_classes).")
        stacked = tf.stack(outputs, axis=1)  # (B, K, ...)
        return tf.gather(stacked, tf.cast(classes, tf.int32), axis=1, batch_dims=1)

    def encode(self, x, validate: bool = True, classes=None):
        if validate:
            x = check_images(x, self.config.image_shape, model="this VAE-GAN")
        return self._pick([m.encode(x, validate=False) for m in self.per_class],
                          classes)

    def decode(self, z, classes=None):
        return self._pick([m.decode(z) for m in self.per_class], classes)

    @property
    def latent_shape(self):
        return (self.config.latent_dim,)

    def for_classes(self, classes):
        """This model as a LatentModel for a batch whose classes are `classes`."""
        return _BoundToClasses(self, classes)

    def call(self, x):
        raise TypeError("call encode/decode with classes")


class _BoundToClasses:
    def __init__(self, model, classes):
        self.model, self.classes, self.config = model, classes, model.config
        self.latent_shape = model.latent_shape

    def encode(self, x, validate: bool = True):
        return self.model.encode(x, validate, self.classes)

    def decode(self, z):
        return self.model.decode(z, self.classes)


def _parts(model):
    """(file prefix, VAEGAN) for each VAE-GAN in `model`."""
    if isinstance(model, ClassSpecificVAEGAN):
        return [(f"class{k}-", m) for k, m in enumerate(model.per_class)]
    return [("", model)]


def save(model, directory: str, report: dict = None) -> None:
    """Writes `model` (a VAEGAN or ClassSpecificVAEGAN: config and weights, and
    `report`) to `directory` atomically."""
    with io.atomic_directory(directory) as tmp:
        values = cfglib.to_dict(model.config)
        if isinstance(model, ClassSpecificVAEGAN):
            values["num_classes"] = model.num_classes
        io.write_json(os.path.join(tmp, "vaegan.json"), values)
        if report is not None:
            io.write_json(os.path.join(tmp, "report.json"), report)
        for prefix, vaegan in _parts(model):
            for part in ("encoder", "decoder", "discriminator"):
                getattr(vaegan, part).save_weights(
                    os.path.join(tmp, f"{prefix}{part}.weights.h5"))


def load(directory: str):
    """The VAE-GAN (or class-specific VAE-GANs) saved in `directory`."""
    path = os.path.join(directory, "vaegan.json")
    if not os.path.isfile(path):
        raise CheckpointError(f"No saved VAE-GAN in {directory}: vaegan.json is "
                              "missing. Train one with bin/train_vaegan.py "
                              "--export_dir=...")
    try:
        with open(path) as f:
            values = json.load(f)
        values["image_shape"] = tuple(values["image_shape"])
        num_classes = values.pop("num_classes", None)
        config = cfglib.from_dict(VAEGANConfig, values, source=path)
        model = VAEGAN(config) if num_classes is None else ClassSpecificVAEGAN(
            config, num_classes)
        for prefix, vaegan in _parts(model):
            for part in ("encoder", "decoder", "discriminator"):
                getattr(vaegan, part).load_weights(
                    os.path.join(directory, f"{prefix}{part}.weights.h5"))
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise CheckpointError(f"The VAE-GAN in {directory} cannot be loaded "
                              f"({type(e).__name__}: {first_line(e)}). "
                              "Its files are corrupt or incomplete: export it again.") \
            from None
    return model


def pretrained(name: str = "fashion_mnist"):
    """A VAE-GAN shipped with tfaug: `pretrained("fashion_mnist")`."""
    return load(io.shipped(PRETRAINED_DIR, name, "vaegan.json", "VAE-GAN"))
