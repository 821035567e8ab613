import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import FASHION_MNIST_DIR, requires_fashion_mnist
from tfaug import data
from tfaug.data import tfds_source as sources
from tfaug.errors import DataError


def test_tfds_route_under_mock_data(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "reachable", lambda host, port: True)
    with tfds.testing.mock_data(num_examples=12,
                                policy=tfds.testing.MockPolicy.USE_CODE):
        test = data.load("cifar10", "test", tfds_data_dir=str(tmp_path))
    assert test.images.shape == (12, 32, 32, 3) and test.images.dtype == np.uint8
    assert test.labels.dtype == np.int64 and test.labels.max() < 10
    assert test.info.class_names[0] == "airplane" and test.info.num_examples == 12
    assert test.info.source.startswith("tfds:")


def test_offline_without_local_data_fails_fast_with_options(monkeypatch, tmp_path):
    probed = []
    monkeypatch.setattr(sources, "reachable",
                        lambda host, port: probed.append(host) or False)
    start = time.monotonic()
    with pytest.raises(DataError) as error:
        data.load("cifar10", "train", tfds_data_dir=str(tmp_path))
    assert time.monotonic() - start < 5
    assert probed == ["www.cs.toronto.edu"]
    message = str(error.value)
    assert "not available offline" in message
    assert "cifar-10-binary.tar.gz" in message and "--manual_dir" in message


def test_offline_message_offers_local_files_for_idx_datasets(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "reachable", lambda host, port: False)
    with pytest.raises(DataError, match="--data_dir"):
        data.load("mnist", "train", tfds_data_dir=str(tmp_path))


def test_unreachable_host_is_detected_within_the_timeout():
    start = time.monotonic()
    assert not sources.reachable("127.0.0.1", 9, timeout=1.0)  # discard port, closed
    assert time.monotonic() - start < 2


def test_missing_manual_dir_is_reported(tmp_path):
    with pytest.raises(DataError, match="manual_dir .* does not exist"):
        data.load("cifar10", tfds_data_dir=str(tmp_path),
                  manual_dir=str(tmp_path / "absent"))


@requires_fashion_mnist
def test_real_fashion_mnist_from_debian_package():
    train = data.load("fashion_mnist", "train")
    test = data.load("fashion_mnist", "test")
    assert train.info.source == FASHION_MNIST_DIR
    assert train.images.shape == (60000, 28, 28, 1) and len(test) == 10000
    assert train.class_counts().tolist() == [6000] * 10
    assert test.class_counts().tolist() == [1000] * 10
    assert abs(train.images.mean() / 255 - 0.2860) < 1e-3  # the published mean
