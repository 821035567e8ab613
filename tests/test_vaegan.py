"""The VAE-GAN baseline: shapes and ranges, training lowers its losses, resume, export,
clear errors, and the latent perturbations running unchanged on it and on the flow."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import make_mnist_dir
from tfaug import config as cfglib
from tfaug import flows
from tfaug.augment import LatentAdversarial, LatentRandom, norms
from tfaug.augment.base import bind_classes
from tfaug.errors import DataError
from tfaug.models import vaegan
from tfaug.trainers.vaegan import VAEGANTrainConfig, train_vaegan

TINY = vaegan.VAEGANConfig((28, 28, 1), latent_dim=3, width=4)


def _images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 28, 28, 1)).astype("float32")


def test_encode_decode_shapes_and_ranges():
    model = vaegan.VAEGAN(TINY)
    z = model.encode(_images())
    assert z.shape == (8, 3)
    x = model.decode(3.0 * tf.random.normal((5, 3)))
    assert x.shape == (5, 28, 28, 1)
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    assert model.sample(4).shape == (4, 28, 28, 1)


@pytest.mark.parametrize("feature", [0.0, 1.0])
def test_training_steps_lower_each_networks_loss(feature):
    # With feature=0 the encoder's and decoder's losses do not move with the
    # discriminator's features, so each loss must fall on its own.
    model = vaegan.VAEGAN(TINY)
    model.compile(lr=5e-3, weights=vaegan.LossWeights(feature=feature),
                  jit_compile=False)
    ramp = np.linspace(0, 1, 28, dtype="float32")[None, :, None, None]
    batch = tf.constant(np.broadcast_to(ramp, (16, 28, 28, 1)) * np.linspace(
        0.2, 1, 16, dtype="float32")[:, None, None, None])  # a 1-D family of images
    seed = tf.constant([5, 5])
    terms_before, before = model.losses_of(batch, seed)
    for _ in range(40):
        model.train_step(batch)
    terms_after, after = model.losses_of(batch, seed)
    assert float(terms_after["pixel_mse"]) < 0.7 * float(terms_before["pixel_mse"])
    if feature == 0.0:
        for name, b, a in zip(("encoder", "decoder", "discriminator"), before, after):
            assert float(a) < float(b), f"{name} loss did not fall: {b:.4f} -> {a:.4f}"


def test_bad_inputs_are_clear_errors(tmp_path):
    model = vaegan.VAEGAN(TINY)
    with pytest.raises(DataError, match=r"shape \(batch, 28, 28, 1\)"):
        model.encode(np.zeros((2, 32, 32, 1), "float32"))
    bad = _images(2)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        model.encode(bad)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.encode(_images(2) * 255)
    with pytest.raises(DataError, match=r"\(batch, 3\)"):
        model.decode(tf.zeros((2, 4)))
    with pytest.raises(vaegan.CheckpointError, match="vaegan.json is missing"):
        vaegan.load(str(tmp_path))


def test_export_round_trip_and_corrupt_weights(tmp_path):
    model = vaegan.VAEGAN(TINY)
    vaegan.save(model, str(tmp_path / "vg"))
    again = vaegan.load(str(tmp_path / "vg"))
    np.testing.assert_array_equal(model.encode(_images()), again.encode(_images()))
    with open(tmp_path / "vg" / "decoder.weights.h5", "wb") as f:
        f.write(b"not hdf5")
    with pytest.raises(vaegan.CheckpointError, match="corrupt or incomplete"):
        vaegan.load(str(tmp_path / "vg"))


class _StopAtSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_at_its_epoch_and_step(tmp_path):
    values = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=40, n_test=10),
                  latent_dim=3, width=4, batch_size=8, epochs=2, steps_per_epoch=3,
                  jit=False)
    config = cfglib.from_dict(VAEGANTrainConfig, values)
    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        train_vaegan(config, out, verbose=0, callbacks=[_StopAtSecondEpoch()])
    report = train_vaegan(config, out, verbose=0, export_dir=str(tmp_path / "export"))
    assert report["steps"] == 6 and report["epochs_this_run"] == 1
    assert report["test_reconstruction"]["images"] == 10
    assert report["test_reconstruction"]["mse_per_pixel"] > 0
    saved = json.load(open(tmp_path / "export" / "report.json"))
    assert saved["steps"] == 6
    assert vaegan.load(str(tmp_path / "export")).config.latent_dim == 3


def test_corrupt_backup_is_a_named_error(tmp_path):
    config = cfglib.from_dict(VAEGANTrainConfig, dict(
        dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data", n_train=16,
                                                 n_test=8),
        latent_dim=3, width=4, batch_size=8, epochs=1, steps_per_epoch=1, jit=False))
    backup = tmp_path / "run" / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(vaegan.CheckpointError,
                       match="backup.*cannot be restored.*delete that directory"):
        train_vaegan(config, str(tmp_path / "run"), verbose=0)


def test_class_specific_models_encode_and_decode_each_image_with_its_class():
    model = vaegan.ClassSpecificVAEGAN(TINY, num_classes=3)
    x, classes = _images(4), np.array([2, 0, 1, 2])
    z = model.encode(x, classes=classes)
    for i, k in enumerate(classes):
        np.testing.assert_allclose(z[i], model.per_class[k].encode(x[i:i + 1])[0],
                                   atol=1e-6)
    assert np.abs(model.per_class[0].encode(x) - model.per_class[1].encode(x)).max() > 1e-3
    x_back = model.for_classes(classes).decode(z)
    for i, k in enumerate(classes):
        np.testing.assert_allclose(x_back[i], model.per_class[k].decode(z[i:i + 1])[0],
                                   atol=1e-6)
    with pytest.raises(DataError, match="class-specific VAE-GAN .* pass classes"):
        model.encode(x)


def test_class_specific_training_from_data_to_export(tmp_path):
    values = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=40, n_test=20),
                  latent_dim=3, width=4, batch_size=4, epochs=1, steps_per_epoch=2,
                  jit=False, class_specific=True)
    config = cfglib.from_dict(VAEGANTrainConfig, values)
    report = train_vaegan(config, str(tmp_path / "run"), verbose=0,
                          export_dir=str(tmp_path / "export"))
    assert report["steps"] == [2] * 10
    assert report["test_reconstruction"]["images"] == 20
    model = vaegan.load(str(tmp_path / "export"))
    assert isinstance(model, vaegan.ClassSpecificVAEGAN) and model.num_classes == 10
    assert sorted(os.listdir(tmp_path / "run")) == sorted(
        [f"class{k}" for k in range(10)] + ["inputs.json", "report.json",
                                            "settings.json"])


class _CountBatches(keras.callbacks.Callback):
    """Counts training batches across models; interrupts when the `stop_at`-th model
    starts training (counts are kept on the class: Keras copies no callbacks here)."""
    batches, models, stop_at = 0, 0, None

    def on_train_begin(self, logs=None):
        type(self).models += 1
        if type(self).models == type(self).stop_at:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        type(self).batches += 1


def test_interrupted_class_specific_training_does_not_retrain_finished_classes(
        tmp_path):
    values = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=40, n_test=20),
                  latent_dim=3, width=4, batch_size=4, epochs=1, steps_per_epoch=2,
                  jit=False, class_specific=True)
    config = cfglib.from_dict(VAEGANTrainConfig, values)
    _CountBatches.batches, _CountBatches.models, _CountBatches.stop_at = 0, 0, 3
    with pytest.raises(KeyboardInterrupt):  # classes 0 and 1 finish, 2 is interrupted
        train_vaegan(config, str(tmp_path / "run"), verbose=0,
                     callbacks=[_CountBatches()])
    assert _CountBatches.batches == 4
    _CountBatches.batches, _CountBatches.models, _CountBatches.stop_at = 0, 0, None
    report = train_vaegan(config, str(tmp_path / "run"), verbose=0,
                          callbacks=[_CountBatches()])
    assert _CountBatches.batches == 8 * 2  # classes 2..9 only
    assert report["steps"] == [2] * 10


def _tiny_glow():
    glow = flows.Glow(flows.GlowConfig((28, 28, 1), levels=2, steps=1, width=4))
    glow.initialize(_images(8))
    return glow


@pytest.mark.parametrize("make_model", [
    _tiny_glow, lambda: vaegan.VAEGAN(TINY),
    lambda: vaegan.ClassSpecificVAEGAN(TINY, num_classes=3)],
    ids=["glow", "vaegan", "class_specific_vaegan"])
@pytest.mark.parametrize("kind", ["random", "adversarial"])
def test_latent_perturbations_run_unchanged_on_both_latent_models(make_model, kind):
    model = make_model()
    eps = 0.5
    aug = LatentRandom(model, eps, "l2") if kind == "random" else LatentAdversarial(
        model, eps, alpha=0.5, steps=2, norm="l2")
    classifier = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(3)])
    x, y = _images(4), tf.one_hot([0, 1, 2, 0], 3)
    out, labels = aug(x, y, classifier, training=True, seed=tf.constant([1, 2]))
    assert out.shape == x.shape and labels is y
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
    model = bind_classes(model, tf.argmax(y, -1))  # a class-specific model: bound
    z = model.encode(x)
    dz = aug.delta(z, tf.constant([1, 2])) if kind == "random" else aug.delta(
        z, classifier, tf.one_hot(tf.argmax(classifier(x), -1), 3), tf.constant([1, 2]),
        model)
    assert dz.shape == z.shape
    assert float(tf.reduce_max(norms.l2_norm(dz))) <= eps * (1 + 1e-5)
    assert float(tf.reduce_max(tf.abs(out - model.decode(z)))) > 1e-4
