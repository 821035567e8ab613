import numpy as np
import pytest

from tfaug import data
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.errors import DataError

LABELS = np.repeat(np.arange(10), 50)[np.random.default_rng(0).permutation(500)]


def _split(**kwargs):
    return data.split_indices(LABELS, 10, **kwargs)


def test_exact_per_class_counts():
    train, val = _split(seed=3, per_class=7, val_per_class=5)
    assert np.bincount(LABELS[train], minlength=10).tolist() == [7] * 10
    assert np.bincount(LABELS[val], minlength=10).tolist() == [5] * 10


def test_same_seed_same_indices_different_seed_different():
    assert all(np.array_equal(a, b) for a, b in zip(_split(seed=1, per_class=4),
                                                     _split(seed=1, per_class=4)))
    assert not np.array_equal(_split(seed=1, per_class=4)[0],
                              _split(seed=2, per_class=4)[0])


def test_indices_are_identical_across_machines():
    # SplitMix64 keys, no NumPy RNG: these values must never change.
    train, val = data.split_indices(np.arange(40) % 4, 4, seed=7, per_class=2,
                                    val_per_class=1)
    assert train.tolist() == [1, 8, 11, 13, 14, 26, 28, 35]
    assert val.tolist() == [4, 17, 34, 39]


def test_keys_follow_the_reference_splitmix64_sequence():
    # First two outputs of SplitMix64 from state 0 (Vigna's reference generator).
    from tfaug.data.subsets import _splitmix64
    state = np.array([0, 0x9E3779B97F4A7C15], dtype=np.uint64)
    assert [hex(v) for v in _splitmix64(state)] == ["0xe220a8397b1dcdaf",
                                                    "0x6e789e6aa1b965f4"]


def test_validation_is_disjoint_and_independent_of_budget():
    small, val_small = _split(seed=5, per_class=3, val_per_class=10)
    large, val_large = _split(seed=5, per_class=30, val_per_class=10)
    assert np.array_equal(val_small, val_large)
    assert not set(large) & set(val_large)
    assert set(small) <= set(large)  # budgets are nested for one seed


def test_fraction_takes_that_share_of_each_class():
    train, val = _split(seed=0, fraction=0.5, val_fraction=0.2)
    assert np.bincount(LABELS[val]).tolist() == [10] * 10
    assert np.bincount(LABELS[train]).tolist() == [20] * 10


def test_no_budget_keeps_everything_but_validation():
    train, val = _split(seed=0, val_per_class=2)
    assert len(train) == 480 and len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(500))


@pytest.mark.parametrize("kwargs, message", [
    (dict(per_class=49, val_per_class=5), "only 45 examples left"),
    (dict(per_class=3, fraction=0.1), "not both"),
    (dict(fraction=1.5), "fraction must be in"),
    (dict(per_class=-1), "integer >= 0"),
    (dict(val_per_class=60), "only 50"),
])
def test_impossible_budgets_are_reported(kwargs, message):
    with pytest.raises(DataError, match=message):
        _split(seed=0, **kwargs)


def test_negative_seed_is_reported():
    with pytest.raises(DataError, match="seed"):
        _split(seed=-1)


def test_low_data_split_returns_labeled_subsets():
    info = DatasetInfo("toy", "train", (2, 2, 1), tuple("abcdefghij"), 500, "memory")
    images = np.broadcast_to(np.arange(500, dtype=np.uint16)[:, None, None, None] % 256,
                             (500, 2, 2, 1)).astype(np.uint8)
    full = LabeledImages(images, LABELS.astype(np.int64), info)
    train, val = data.low_data_split(full, seed=0, per_class=2, val_per_class=1)
    assert len(train) == 20 and train.info.num_examples == 20 and len(val) == 10
    assert train.class_counts().tolist() == [2] * 10
    idx, _ = _split(seed=0, per_class=2, val_per_class=1)
    np.testing.assert_array_equal(train.images, images[idx])
    np.testing.assert_array_equal(train.labels, LABELS[idx])
