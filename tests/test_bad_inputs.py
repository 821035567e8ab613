"""Every kind of bad input gets a clear error naming the problem and the fix (a
TfaugError, which entry points print as one line), or is accepted and converted.
BUILD.md's table of bad inputs lists these cases; keep the two in step."""

import gzip
import os
import shutil
import stat

import numpy as np
import pytest

from conftest import idx_bytes, make_mnist_dir, run_script
from tfaug import config as cfglib
from tfaug import data, flows, io
from tfaug.errors import CheckpointError, ConfigError, DataError, first_line
from tfaug.flows import Glow, GlowConfig
from tfaug.models import vaegan
from tfaug.trainers.classifier import ClassifierTrainConfig, Splits, train_classifier
from tfaug.trainers.flow import FlowTrainConfig
from tfaug.tuning import read_tuned

SHAPE = (8, 8, 1)


@pytest.fixture(scope="module")
def glow():
    model = Glow(GlowConfig(SHAPE, levels=2, steps=1, width=8))
    model.initialize(np.random.default_rng(0).random((16, *SHAPE), np.float32))
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory, glow):
    """A saved flow and a saved VAE-GAN, copied per test before being damaged."""
    root = tmp_path_factory.mktemp("saved")
    flows.save(glow, str(root / "flow"))
    vaegan.save(vaegan.VAEGAN(vaegan.VAEGANConfig((8, 8, 1), latent_dim=2, width=2)),
                str(root / "vaegan"))
    return root


def _copy(saved, name, tmp_path):
    return shutil.copytree(saved / name, tmp_path / name)


def _images(value=0.5, dtype=np.float32, shape=(2, *SHAPE)):
    return np.full(shape, value, dtype)


def _truncate(path):
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[:len(raw) // 2])


# -- images and latents given to a flow ---------------------------------------------
@pytest.mark.parametrize("images, message", [
    (_images(shape=SHAPE), "must have shape \\(batch, 8, 8, 1\\).*got \\(8, 8, 1\\)"),
    (_images(shape=(2, 9, 9, 1)), "got \\(2, 9, 9, 1\\)"),
    (_images(shape=(2, 8, 8, 3)), "got \\(2, 8, 8, 3\\)"),
    (_images(255.0), "must be in \\[0, 1\\] \\(divide uint8 images by 255\\)"),
    (_images(-0.1), "must be in \\[0, 1\\]"),
    (_images(np.nan), "contain NaN or inf"),
    (_images(np.inf), "contain NaN or inf"),
    (_images(3, np.int32), "dtype int32: give uint8 pixels \\(0-255\\) or floats"),
], ids=["rank", "size", "channels", "0-255 floats", "negative", "nan", "inf", "int32"])
def test_bad_images_for_a_flow(glow, images, message):
    with pytest.raises(DataError, match=message):
        glow.encode(images)


def test_uint8_images_are_accepted_and_scaled(glow):
    pixels = np.random.default_rng(1).integers(0, 256, (2, *SHAPE)).astype(np.uint8)
    np.testing.assert_array_equal(glow.encode(pixels).numpy(),
                                  glow.encode(pixels / np.float32(255)).numpy())


@pytest.mark.parametrize("latents, message", [
    (np.zeros((2, 8, 8, 2), np.float32), "latents must have the image shape"),
    (np.full((2, *SHAPE), np.nan, np.float32), "latents contain NaN or inf"),
], ids=["shape", "nan"])
def test_bad_latents_for_a_flow(glow, latents, message):
    with pytest.raises(DataError, match=message):
        glow.decode(latents)


# -- dataset files ------------------------------------------------------------------
def _broken_idx(directory, kind):
    d = make_mnist_dir(directory, n_train=20, n_test=10)
    images = os.path.join(d, "train-images-idx3-ubyte.gz")
    labels = os.path.join(d, "train-labels-idx1-ubyte.gz")
    if kind == "truncated":
        raw = gzip.open(images).read()
        with gzip.open(images, "wb") as f:
            f.write(raw[:-100])
    elif kind == "not gzip":
        open(images, "wb").write(b"this is not gzip data")
    elif kind == "labels as images":
        shutil.copy(labels, images)
    elif kind == "labels magic on image data":
        raw = bytearray(gzip.open(images).read())
        raw[3] = 1  # an images file with a labels file's magic number
        with gzip.open(images, "wb") as f:
            f.write(bytes(raw))
    elif kind == "count mismatch":
        with gzip.open(labels, "wb") as f:
            f.write(idx_bytes(np.arange(19) % 10))
    elif kind == "wrong image size":
        with gzip.open(images, "wb") as f:
            f.write(idx_bytes(np.zeros((20, 32, 32))))
    elif kind == "header only":
        with gzip.open(images, "wb") as f:
            f.write(b"\x00\x00")
    return d


@pytest.mark.parametrize("kind, message", [
    ("truncated", "truncated or corrupt; replace it"),
    ("not gzip", "corrupt or truncated; download or install it again"),
    ("labels as images", "marks an IDX labels file, but an IDX images file"),
    ("labels magic on image data", "marks an IDX labels file, but an IDX images file"),
    ("count mismatch", "the files do not belong together"),
    ("wrong image size", "images of shape \\(32, 32\\), expected \\(28, 28\\)"),
    ("header only", "too short for an IDX header"),
])
def test_broken_dataset_files(tmp_path, kind, message):
    directory = _broken_idx(tmp_path / "data", kind)
    with pytest.raises(DataError, match=message):
        data.load("mnist", "train", data_dir=directory)


def test_missing_dataset_offline_fails_fast(tmp_path):
    import time
    start = time.time()
    with pytest.raises(DataError, match="expected train-images-idx3-ubyte"):
        data.load("mnist", "train", data_dir=str(tmp_path))
    assert time.time() - start < 5  # no network retries


def test_empty_training_split():
    from flow_helpers import toy_split
    empty = toy_split(8, seed=0).take(np.arange(0))
    with pytest.raises(DataError, match="No examples to train on"):
        data.train_pipeline(empty, 4, seed=0)


def test_unknown_dataset():
    with pytest.raises(DataError, match="Known datasets: cifar10"):
        data.load("imagenet21k", "train")


# -- configurations -----------------------------------------------------------------
@pytest.mark.parametrize("values, message", [
    ({"epsilon": 1.0}, "unknown key\\(s\\) epsilon"),
    ({"epochs": "ten"}, "epochs: cannot read 'ten' as int"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"labels_per_class": 0}, "labels_per_class must be >= 1 \\(got 0\\)"),
    ({"label_fraction": 1.5}, "label_fraction must be in \\(0, 1\\]"),
    ({"lr": -0.1}, "lr must be > 0"),
    ({"augmentation": "latent_random(eps=-1)"}, "eps must be >= 0"),
    ({"augmentation": "lat_random"}, "Unknown augmentation 'lat_random'"),
    ({"lr": float("nan")}, "lr must be a finite number, got nan"),
    ({"augmentation": "latent_adversarial(eps=inf)"},
     "latent_adversarial.eps must be a finite number, got inf"),
    ({"image_size": "32"}, "image_size must be two integers H,W"),
    ({"test_fraction": 1.0}, "test_fraction must be in \\(0, 1\\)"),
    ({"dataset": "csv:x"}, "write one of .*folder:PATH"),
], ids=["unknown key", "type", "batch 0", "no labels", "fraction", "lr", "eps",
        "augmentation", "lr nan", "eps inf", "image_size", "test_fraction",
        "dataset form"])
def test_bad_classifier_settings(values, message):
    with pytest.raises(ConfigError, match=message):
        cfglib.from_dict(ClassifierTrainConfig, values)


def test_unknown_and_corrupt_presets(tmp_path):
    with pytest.raises(ConfigError, match="No preset 'no_such'"):
        cfglib.load(FlowTrainConfig, "no_such", {})
    (tmp_path / "p.json").write_text("{\"lr\": ")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        cfglib.load(FlowTrainConfig, str(tmp_path / "p.json"), {})


# -- files tfaug writes and reads back ----------------------------------------------
@pytest.mark.parametrize("damage, message", [
    (lambda d: os.remove(d / "glow.json"), "glow.json is missing"),
    (lambda d: (d / "glow.json").write_text("{oops"), "cannot be loaded.*JSONDecode"),
    (lambda d: _truncate(d / "weights.data-00000-of-00001"), "cannot be loaded"),
    (lambda d: os.remove(d / "weights.index"), "cannot be loaded"),
], ids=["no config", "corrupt config", "truncated weights", "no index"])
def test_damaged_flow_export(saved, tmp_path, damage, message):
    directory = _copy(saved, "flow", tmp_path)
    damage(directory)
    with pytest.raises(CheckpointError, match=message):
        flows.load(str(directory))


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "vaegan.json").write_text("[]"), "cannot be loaded"),
    (lambda d: _truncate(d / "decoder.weights.h5"), "cannot be loaded"),
], ids=["corrupt config", "truncated weights"])
def test_damaged_vaegan_export(saved, tmp_path, damage, message):
    directory = _copy(saved, "vaegan", tmp_path)
    damage(directory)
    with pytest.raises(CheckpointError, match=message):
        vaegan.load(str(directory))


def test_a_quoted_library_error_is_its_first_line():
    assert first_line(OSError("unable to open\nat h5py line 102")) == "unable to open"
    assert first_line(AssertionError()) == ""  # was an IndexError inside our handler
    assert first_line(ValueError("x" * 300)) == "x" * 200


def test_corrupt_tuned_file(tmp_path):
    (tmp_path / "tuned.json").write_text("{\"budgets\": ")
    with pytest.raises(ConfigError, match="is not valid JSON.*rerun bin/tune_methods"):
        read_tuned(str(tmp_path / "tuned.json"))
    with pytest.raises(ConfigError, match="No tuned values"):
        read_tuned(str(tmp_path / "absent.json"))


# -- output directories -------------------------------------------------------------
def test_out_dir_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        io.prepare_out_dir(str(tmp_path / "f"))


def test_read_only_out_dir():
    """A read-only directory (as a full or read-only disk is met). Root writes
    anywhere, so as root the check runs in a child process with the uid of nobody."""
    import tempfile
    parent = tempfile.mkdtemp()
    os.chmod(parent, 0o555)
    try:
        if os.geteuid() != 0:
            with pytest.raises(ConfigError, match="Cannot write to out_dir"):
                io.prepare_out_dir(os.path.join(parent, "run"))
            return
        pid = os.fork()
        if pid == 0:  # child: never returns into pytest
            code = 1
            try:
                os.setuid(65534)
                io.prepare_out_dir(os.path.join(parent, "run"))
            except ConfigError as e:
                code = 0 if "Cannot write to out_dir" in str(e) else 1
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0, "no clear error for a read-only out_dir"
    finally:
        os.chmod(parent, stat.S_IRWXU)
        shutil.rmtree(parent)


def test_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with pytest.raises(ConfigError, match="No space left on device.*free space"):
        io.prepare_out_dir(str(tmp_path / "run"))


def _splits():
    from flow_helpers import toy_split
    return Splits(toy_split(32, seed=0), toy_split(8, seed=1, split="val"),
                  toy_split(8, seed=2, split="test"))


def test_settings_changed_between_a_run_and_its_resume(tmp_path):
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="mnist", model_width=0.25, epochs=1, batch_size=8, jit=False))
    train_classifier(config, str(tmp_path), _splits(), verbose=0)
    changed = cfglib.from_dict(ClassifierTrainConfig, {**cfglib.to_dict(config),
                                                        "lr": 0.5})
    with pytest.raises(ConfigError, match="other settings \\(lr: 0.03 -> 0.5\\)"):
        train_classifier(changed, str(tmp_path), _splits(), verbose=0)


def test_corrupt_classifier_backup(tmp_path):
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset="mnist", model_width=0.25, epochs=1, batch_size=8, jit=False))
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="backup.*cannot be restored.*delete"):
        train_classifier(config, str(tmp_path), _splits(), verbose=0)


# -- through an entry point: one line, no traceback, no native log noise -------------
@pytest.mark.parametrize("args, message", [
    (["--labels_per_class=0"], "labels_per_class must be >= 1"),
    (["--out_dir={tmp}/file"], "is a file, not a directory"),
    (["--hparams={tmp}/nan.json"], "lr must be a finite number, got nan"),
    (["--augmentation=latent_adversarial(eps=inf)"], "eps must be a finite number"),
    (["--labels_per_class=2", "--batch_size=100000"], "batch_size 100000 is too large"),
], ids=["labels 0", "out_dir file", "lr NaN preset", "eps inf", "huge batch"])
def test_entry_point_answers_in_one_line(tmp_path, args, message):
    (tmp_path / "file").write_text("")
    (tmp_path / "nan.json").write_text('{"dataset": "fashion_mnist", "lr": NaN}')
    result = run_script("train_classifier.py", "--hparams=fashion_mnist_small_cnn",
                        f"--out_dir={tmp_path}/run",
                        *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "cuInit" not in result.stderr and "oneDNN" not in result.stderr
    assert not os.path.exists(tmp_path / "run")  # nothing written


def test_levels_that_do_not_divide_the_sides_name_sizes_that_fit():
    with pytest.raises(ConfigError, match="A 3-level Glow .* 28x28 are not. Resize the "
                                          "images with --image_size=24,24 or "
                                          "--image_size=32,32, or use --levels=2"):
        GlowConfig((28, 28, 1), levels=3).validate()
    with pytest.raises(ConfigError, match="27x28 .* an image size with even sides"):
        GlowConfig((27, 28, 1), levels=1).validate()


def test_a_flow_preset_picked_by_channels_gets_the_levels_the_sides_allow():
    from tfaug.trainers.flow import config_for_images
    config, preset = config_for_images((28, 28, 3), {})
    assert preset == "cifar10_glow_cpu" and config.levels == 2  # 3 in the preset
    config, preset = config_for_images((28, 28, 1), {"width": 8})
    assert preset == "fashion_mnist_glow" and config.levels == 2 and config.width == 8
    with pytest.raises(ConfigError, match="--levels=2"):
        config_for_images((28, 28, 3), {"levels": 3})  # asked for: not lowered
