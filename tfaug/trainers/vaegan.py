"""Training a VAE-GAN without labels under Keras' fit: BackupAndRestore resumes an
interrupted run at its last epoch with its optimizer states (the backup of a finished
model is kept, so a rerun does not train it again: class-specific training resumes at
the class it reached), TensorBoard gets the losses and, every `image_every` epochs,
reconstructions and samples; the report gives the reconstruction error on the whole
test split."""

import dataclasses
import os
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from tfaug import config as cfglib
from tfaug import data, io, provenance
from tfaug.errors import ConfigError
from tfaug.measures import reconstruction_error
from tfaug.models.vaegan import (VAEGAN, ClassSpecificVAEGAN, LossWeights,
                                 VAEGANConfig, save)
from tfaug.summaries import image_grid
from tfaug.trainers.backup import AtomicBackupAndRestore

field = cfglib.field


@dataclasses.dataclass(frozen=True)
class VAEGANTrainConfig(cfglib.DataSource):
    latent_dim: int = field(32, "Latent dimensions.")
    width: int = field(32, "Channels of the first convolution.")
    kl_weight: float = field(0.05, "Weight of the KL term (per pixel) in the encoder "
                                   "loss.")
    feature_weight: float = field(1.0, "Weight of the reconstruction error in the "
                                       "discriminator's features (Larsen et al.).")
    pixel_weight: float = field(1.0, "Weight of the pixel-space reconstruction error.")
    adversarial_weight: float = field(0.01, "Weight of the GAN term in the decoder "
                                            "loss.")
    lr: float = field(2e-4, "Adam learning rate of all three networks (beta_1 0.5).")
    batch_size: int = field(64, "Batch size.")
    epochs: int = field(10, "Epochs (of steps_per_epoch steps).")
    steps_per_epoch: int = field(500, "Steps per epoch.")
    image_every: int = field(1, "Epochs between reconstruction and sample grids.")
    class_specific: bool = field(False, "Train one VAE-GAN per class on that class's "
                                        "images (Stutz et al.) instead of one for all.")
    jit: Optional[bool] = field(None, cfglib.JIT_HELP)
    seed: int = field(0, "Seed of the weights, data order and noise.")

    def validate(self):
        self.validate_source()
        for name in ("latent_dim", "width", "batch_size", "epochs", "steps_per_epoch",
                     "image_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1.")
        if self.lr <= 0 or min(self.kl_weight, self.feature_weight, self.pixel_weight,
                               self.adversarial_weight) < 0:
            raise ConfigError("lr must be > 0 and the loss weights >= 0.")
        return self

    def model_config(self, image_shape) -> VAEGANConfig:
        return VAEGANConfig(tuple(image_shape), self.latent_dim, self.width,
                            self.seed).validate()

    def loss_weights(self) -> LossWeights:
        return LossWeights(self.kl_weight, self.feature_weight, self.pixel_weight,
                           self.adversarial_weight)


class ReconstructionImages(keras.callbacks.Callback):
    """TensorBoard grids: test images over their reconstructions, and samples."""

    def __init__(self, log_dir, images, every, seed):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "images"))
        self.images, self.every, self.seed = images, every, seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        model = self.model
        recon = model.decode(model.encode(self.images, validate=False))
        with self.writer.as_default(step=epoch + 1):
            tf.summary.image("reconstruction (top: test images, bottom: decode(encode))",
                             image_grid(tf.concat([self.images, recon], 0), 2)[None])
            tf.summary.image("samples", image_grid(
                model.sample(len(self.images), seed=(self.seed, 1)), 2)[None])
        self.writer.flush()


def fit_one(model: VAEGAN, config: VAEGANTrainConfig, out_dir: str, train, grid,
            verbose: int, callbacks=()):
    """Fits (or resumes) one VAE-GAN on `train` in out_dir; returns the History."""
    model.compile(config.lr, config.loss_weights(),
                  jit_compile=cfglib.use_xla(config.jit))
    model.build((None, *train.info.image_shape))
    backup = AtomicBackupAndRestore(os.path.join(out_dir, "backup"),
                                    config.steps_per_epoch, double_checkpoint=True,
                                    delete_checkpoint=False)
    backup.set_model(model)
    backup.restore()  # first: the step count places the batch stream
    position = int(model.optimizers[0].iterations.numpy())
    images = data.train_pipeline(train, config.batch_size, seed=config.seed,
                                 drop_remainder=True, repeat=True).map(lambda x, y: x)
    log_dir = os.path.join(out_dir, "tensorboard")
    return model.fit(images.skip(position), epochs=config.epochs, shuffle=False,
                     steps_per_epoch=config.steps_per_epoch, verbose=verbose,
                     callbacks=[backup, keras.callbacks.TensorBoard(log_dir),
                                ReconstructionImages(log_dir, grid, config.image_every,
                                                     config.seed), *callbacks])


def train_vaegan(config: VAEGANTrainConfig, out_dir: str, train=None, test=None,
                 export_dir: str = None, verbose: int = 2, callbacks=()) -> dict:
    """Trains (or resumes) in out_dir (class-specific: one model per class, in
    out_dir/class<k>); writes report.json and, with `export_dir`, the trained model;
    returns the report. `callbacks`: extra Keras callbacks."""
    config.validate()
    io.prepare_out_dir(out_dir, config,
                       may_change=("epochs", "image_every", "data_dir"))
    started = time.time()
    train = config.load("train") if train is None else train
    test = config.load("test") if test is None else test
    provenance.check(out_dir, provenance.of(config, train, test),
                     "Resume it on the images it began with, or train on these in "
                     "another out_dir.")
    model_config = config.model_config(train.info.image_shape)
    test_x = data.to_unit_float(test.images)
    if config.class_specific:
        empty = [k for k in range(train.info.num_classes) if not np.any(train.labels == k)]
        if empty:
            raise ConfigError(f"class_specific needs training images of every class; "
                              f"classes {empty} have none.")
        model = ClassSpecificVAEGAN(model_config, train.info.num_classes)
        parts = [(m, os.path.join(out_dir, f"class{k}"),
                  train.take(np.flatnonzero(train.labels == k)),
                  tf.gather(test_x, np.flatnonzero(test.labels == k)[:8])
                  if np.any(test.labels == k) else test_x[:8])
                 for k, m in enumerate(model.per_class)]
    else:
        model = VAEGAN(model_config)
        parts = [(model, out_dir, train, test_x[:8])]
    histories = []
    for k, (vaegan, directory, subset, grid) in enumerate(parts):
        if len(parts) > 1 and verbose:
            print(f"class {k}: {len(subset)} training images -> {directory}")
        histories.append(fit_one(vaegan, config, directory, subset, grid, verbose,
                                 callbacks))
    error = reconstruction_error(model, test_x, test.labels)
    steps = [int(m.optimizers[0].iterations.numpy()) for m, *_ in parts]
    report = {
        "config": cfglib.to_dict(config), "versions": io.versions(),
        "test_reconstruction": error,
        "final_losses": {k: float(np.mean([h.history[k][-1] for h in histories
                                           if h.history.get(k)]))
                         for k in VAEGAN.LOSSES if any(h.history.get(k)
                                                       for h in histories)},
        "steps": steps[0] if len(steps) == 1 else steps,
        "epochs_this_run": max(len(h.epoch) for h in histories),
        "wall_time_s": time.time() - started,
        "parameters": {part: sum(getattr(m, part).count_params() for m, *_ in parts)
                       for part in ("encoder", "decoder", "discriminator")},
    }
    io.write_json(os.path.join(out_dir, "report.json"), report)
    if export_dir:
        save(model, export_dir, report)
    return report
