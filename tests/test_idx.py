import gzip
import os

import numpy as np
import pytest

from conftest import idx_bytes, make_mnist_dir, write_idx
from tfaug import data
from tfaug.errors import DataError


@pytest.mark.parametrize("ext", ["", ".gz"])
def test_read_idx_returns_written_array(tmp_path, ext):
    array = np.random.default_rng(0).integers(0, 256, (7, 28, 28))
    path = write_idx(str(tmp_path / f"x-idx3-ubyte{ext}"), array)
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_truncated_data_is_reported(tmp_path):
    raw = idx_bytes(np.zeros((5, 28, 28)))
    path = tmp_path / "x"
    path.write_bytes(raw[:-10])
    with pytest.raises(DataError, match="truncated or corrupt"):
        data.read_idx(str(path))


def test_truncated_gzip_is_reported(tmp_path):
    compressed = gzip.compress(idx_bytes(np.ones((5, 28, 28))))
    path = tmp_path / "x.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        data.read_idx(str(path))


def test_not_gzip_with_gz_suffix_is_reported(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="corrupt or truncated"):
        data.read_idx(str(path))


@pytest.mark.parametrize("header", [b"\x01\x00\x08\x01", b"\x00\x00\x0d\x01",
                                    b"\x00\x00\x08\x09", b"\x00\x00"])
def test_bad_magic_number_is_reported(header):
    with pytest.raises(DataError, match="magic|too short"):
        data.parse_idx(header + b"\x00" * 8)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.read_idx(str(tmp_path / "nope.gz"))


@pytest.mark.parametrize("gz", [True, False])
def test_load_reads_local_directory(tmp_path, gz):
    directory = make_mnist_dir(tmp_path, gz=gz)
    train = data.load("mnist", "train", data_dir=directory)
    assert train.images.shape == (60, 28, 28, 1) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and len(train.labels) == 60
    assert train.info.num_classes == 10 and train.info.source == directory
    assert data.load("mnist", "test", data_dir=directory).info.num_examples == 20


def test_label_count_mismatch_is_reported(mnist_dir):
    write_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"), np.zeros(59))
    with pytest.raises(DataError, match="do not belong together"):
        data.load("fashion_mnist", "train", data_dir=mnist_dir)


def test_label_out_of_range_is_reported(mnist_dir):
    write_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"), np.full(60, 12))
    with pytest.raises(DataError, match="outside"):
        data.load("fashion_mnist", "train", data_dir=mnist_dir)


def test_wrong_image_size_is_reported(tmp_path):
    write_idx(str(tmp_path / "train-images-idx3-ubyte"), np.zeros((4, 32, 32)))
    write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(4))
    with pytest.raises(DataError, match="expected \\(28, 28\\)"):
        data.load("mnist", "train", data_dir=str(tmp_path))


def test_missing_split_files_are_reported(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        data.load("mnist", "train", data_dir=str(tmp_path))


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(DataError, match="Unknown dataset 'imagenet'.*cifar10"):
        data.load("imagenet")


def test_data_dir_for_non_idx_dataset_is_reported(tmp_path):
    with pytest.raises(DataError, match="manual_dir"):
        data.load("cifar10", data_dir=str(tmp_path))
