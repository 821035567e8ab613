"""Datasets by spec: folder:PATH, npz:FILE, tfds:NAME, the built-in names; image
conversion, held-out test splits, the memory check, and every bad input a user's own
files can bring (each a one-line DataError naming the fix)."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import make_image_folder, make_mnist_dir, prepare_mock_tfds, write_png
from tfaug import data
from tfaug.data import convert, folder
from tfaug.errors import DataError


def _load(spec, split="train", **options):
    return data.load(spec, split, **options)


def test_folder_holds_out_a_seeded_stratified_test_split(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=10)
    train, test = _load(f"folder:{root}"), _load(f"folder:{root}", "test")
    assert train.info.class_names == ("cat", "dog", "fox")
    assert train.class_counts().tolist() == [8, 8, 8]
    assert test.class_counts().tolist() == [2, 2, 2]
    assert "held out: 0.2 of each class" in test.info.note and train.info.note
    everything = np.concatenate([train.images, test.images])
    files = sorted(folder.image_paths(root))
    assert len(everything) == len(files) == 30
    assert len({im.tobytes() for im in everything}) == 30  # disjoint, complete
    again = _load(f"folder:{root}", "test")
    np.testing.assert_array_equal(again.images, test.images)
    other = _load(f"folder:{root}", "test", split_seed=1, test_fraction=0.3)
    assert len(other) == 9 and not np.array_equal(other.images[:6], test.images)


def test_folder_with_train_and_test_uses_them(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=4, splits=True, channels=1)
    train, test = _load(f"folder:{root}"), _load(f"folder:{root}", "test")
    assert train.images.shape == (12, 8, 8, 1) and test.images.shape == (6, 8, 8, 1)
    assert test.info.note == "" and test.info.source.endswith("test")
    assert test.class_counts().tolist() == [2, 2, 2]


def test_channels_come_from_the_files_or_the_option(tmp_path):
    gray = make_image_folder(tmp_path / "gray", per_class=3, channels=1)
    rgba = make_image_folder(tmp_path / "rgba", per_class=3, channels=4)
    assert _load(f"folder:{gray}").images.shape[-1] == 1
    assert _load(f"folder:{rgba}").images.shape[-1] == 3  # alpha dropped
    as_rgb = _load(f"folder:{gray}", channels=3).images
    assert as_rgb.shape[-1] == 3 and (as_rgb[..., 0] == as_rgb[..., 2]).all()
    assert _load(f"folder:{rgba}", channels=1).images.shape[-1] == 1


def test_images_of_several_sizes_need_image_size(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=4, size=(8, 8))
    write_png(tmp_path / "imgs" / "dog" / "big.png", np.zeros((12, 10, 3)))
    with pytest.raises(DataError, match="images of 2 sizes: 8x8 \\(12, e.g. .*\\); "
                                        "12x10 \\(1, e.g. .*big.png\\).*--image_size"):
        _load(f"folder:{root}")
    resized = _load(f"folder:{root}", image_size=(16, 12))
    assert resized.images.shape[1:] == (16, 12, 3)


def test_resizing_keeps_a_constant_image_constant():
    images = np.full((2, 5, 7, 1), 77, np.uint8)
    assert (convert.resize(images, (9, 4)) == 77).all()


def test_a_folder_without_class_subfolders_is_an_unlabelled_pool(tmp_path):
    root = make_image_folder(tmp_path / "pool", classes=(), per_class=10)
    train = _load(f"folder:{root}")
    assert not train.info.labelled and (train.labels == -1).all() and len(train) == 8
    with pytest.raises(DataError, match="unlabelled pool.*enough to train a flow.*"
                                        "one subfolder per class"):
        data.low_data_split(train, seed=0, per_class=1)


def test_npz_arrays_with_and_without_a_test_split(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 6, 6), np.uint8)
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(20) % 4)
    train = _load(f"npz:{tmp_path / 'a.npz'}")
    assert train.images.shape == (16, 6, 6, 1) and train.info.class_names == (
        "0", "1", "2", "3")
    np.savez(tmp_path / "b.npz", x=x[..., None].repeat(3, -1), y=np.arange(20) % 2,
             x_test=x[:5, ..., None].repeat(3, -1), y_test=np.arange(5) % 2,
             class_names=np.array(["no", "yes"]))
    train, test = _load(f"npz:{tmp_path / 'b.npz'}"), _load(f"npz:{tmp_path / 'b.npz'}",
                                                            "test")
    assert len(train) == 20 and len(test) == 5 and test.info.class_names == ("no", "yes")
    np.savez(tmp_path / "pool.npz", x=x)
    assert not _load(f"npz:{tmp_path / 'pool.npz'}").info.labelled


def test_a_tfds_dataset_by_name_with_its_own_test_split(tmp_path):
    root = prepare_mock_tfds(tmp_path)
    with tfds.testing.mock_data(num_examples=12, data_dir=root,
                                policy=tfds.testing.MockPolicy.USE_FILES):
        train = _load("tfds:kmnist", tfds_data_dir=root)
        test = _load("tfds:kmnist", "test", tfds_data_dir=root, image_size=(8, 8))
    assert train.images.shape == (12, 28, 28, 1) and test.images.shape == (12, 8, 8, 1)
    assert train.info.class_names[:3] == ("o", "ki", "su") and test.info.note == ""


def test_a_dataset_too_large_for_memory_is_refused_before_it_is_read(tmp_path,
                                                                     monkeypatch):
    root = make_image_folder(tmp_path / "imgs", per_class=4)
    monkeypatch.setattr(convert, "available_memory", lambda: 1000)
    decoded = []
    monkeypatch.setattr(folder, "_decode", lambda p, d=folder._decode: decoded.append(
        p) or d(p))
    with pytest.raises(DataError, match="12 images of 8x8x3 need .* GiB of memory.*"
                                        "--image_size"):
        _load(f"folder:{root}")
    assert len(decoded) == 1  # the first image, for its size; nothing else was read
    np.savez(tmp_path / "a.npz", x=np.zeros((100, 8, 8), np.uint8), y=np.zeros(100, int))
    with pytest.raises(DataError, match="100 images of 8x8x1"):
        _load(f"npz:{tmp_path / 'a.npz'}")


def test_built_in_names_stay_and_convert_too(tmp_path):
    directory = make_mnist_dir(tmp_path)
    train = _load("mnist", data_dir=directory, image_size=(32, 32), channels=3)
    assert train.images.shape == (60, 32, 32, 3) and train.info.name == "mnist"


def test_idx_files_rewritten_in_place_are_read_again_not_taken_from_the_cache(
        tmp_path):
    directory = str(tmp_path / "idx")
    for seed in (0, 1):  # a process (a notebook) that rewrites its data between loads
        make_mnist_dir(directory, seed=seed)
        expected = make_mnist_dir(tmp_path / f"fresh{seed}", seed=seed)
        assert np.array_equal(data.load("mnist", data_dir=directory).images,
                              data.load("mnist", data_dir=expected).images)


# -- bad inputs of a user's own files -------------------------------------------------
def _folder_with(tmp_path, damage):
    root = make_image_folder(tmp_path / "imgs", per_class=3)
    damage(tmp_path / "imgs")
    return f"folder:{root}"


@pytest.mark.parametrize("damage, message", [
    (lambda d: os.makedirs(d / "empty"), "Class folder .*empty holds no images"),
    (lambda d: (d / "cat" / "000.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken"),
     "000.png is not a readable image .*replace or remove it"),
    (lambda d: os.chmod(d / "dog" / "001.png", 0), "Cannot read .*001.png"),
    (lambda d: write_png(d / "fox" / "x.png", np.zeros((9, 9, 3))),
     "images of 2 sizes.*--image_size"),
    (lambda d: write_png(d / "fox" / "deep.png", np.zeros((8, 8, 1), np.uint16) + 300),
     "deep.png is a 16-bit PNG.*convert it"),
    (lambda d: write_png(d / "loose.png", np.zeros((8, 8, 3))),
     "class subfolders and also 1 images outside them \\(loose.png\\)"),
], ids=["empty class", "unreadable", "no permission", "mixed sizes", "16-bit",
        "loose file"])
def test_bad_image_folders(tmp_path, damage, message):
    if message.startswith("Cannot read") and os.geteuid() == 0:
        pytest.skip("root reads any file")
    spec = _folder_with(tmp_path, damage)
    with pytest.raises(DataError, match=message):
        _load(spec)


def test_a_test_class_outside_the_training_classes(tmp_path):
    root = make_image_folder(tmp_path / "imgs", per_class=2, splits=True)
    write_png(tmp_path / "imgs" / "test" / "wolf" / "0.png", np.zeros((8, 8, 3)))
    with pytest.raises(DataError, match="classes wolf are not among the training "
                                        "classes \\(cat, dog, fox\\)"):
        _load(f"folder:{root}", "test")


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.arange(3)),
     "4 images but 3 labels in y"),
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.arange(4),
          class_names=np.array(["a", "b"])), "holds label 2, outside the 2 classes"),
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.array([0, 1, -1, 0])),
     "holds label -1, outside"),
    (dict(x=np.zeros((4, 6, 6), np.float32), y=np.arange(4)),
     "x has dtype float32; give uint8 pixels"),
    (dict(x=np.zeros((4, 6, 6, 5), np.uint8), y=np.arange(4)),
     "x has shape \\(4, 6, 6, 5\\)"),
    (dict(x=np.zeros((4, 6, 6), np.uint8), y=np.full(4, 0.5)),
     "y must be \\(N,\\) integer class ids"),
    (dict(images=np.zeros((4, 6, 6), np.uint8)),
     "has no array 'x' \\(it holds images\\)"),
], ids=["length mismatch", "label outside class_names", "negative label", "floats",
        "channels", "float labels", "no x"])
def test_bad_npz_files(tmp_path, arrays, message):
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(DataError, match=message):
        _load(f"npz:{tmp_path / 'a.npz'}")


def test_missing_and_corrupt_files_and_unknown_forms(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        _load(f"folder:{tmp_path / 'none'}")
    with pytest.raises(DataError, match="no such file"):
        _load(f"npz:{tmp_path / 'none.npz'}")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="cannot be read .*save it again"):
        _load(f"npz:{tmp_path / 'bad.npz'}")
    with pytest.raises(DataError, match="write one of .*folder:PATH, npz:FILE"):
        _load("csv:/tmp/x.csv")
    with pytest.raises(DataError, match="tfds:no_such_set is not a tensorflow-datasets"):
        _load("tfds:no_such_set", tfds_data_dir=str(tmp_path))


def test_fifty_thousand_colour_images_load_and_train(tmp_path):
    from tfaug import config as cfglib
    from tfaug.trainers.classifier import ClassifierTrainConfig, train_classifier
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", x=rng.integers(0, 256, (50000, 32, 32, 3), np.uint8),
             y=np.arange(50000) % 10)
    config = cfglib.from_dict(ClassifierTrainConfig, dict(
        dataset=f"npz:{tmp_path / 'big.npz'}", labels_per_class=4, val_per_class=2,
        model_width=0.25, epochs=1, steps_per_epoch=2, batch_size=16, jit=False))
    report = train_classifier(config, str(tmp_path / "run"), verbose=0)
    assert report["sizes"] == {"train": 40, "val": 20, "test": 10000}
    assert report["optimizer_steps"] == 2
