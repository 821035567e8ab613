import numpy as np
import tensorflow as tf

from tfaug import data
from tfaug.data.labeled import DatasetInfo, LabeledImages


def _toy(n=24, shape=(6, 6, 1)):
    rng = np.random.default_rng(0)
    info = DatasetInfo("toy", "train", shape, ("a", "b", "c"), n, "memory")
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    return LabeledImages(images, np.arange(n, dtype=np.int64) % 3, info)


def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_train_batches_are_float_unit_range_with_shapes():
    for x, y in _batches(data.train_pipeline(_toy(), 8, seed=0, crop_flip=True)):
        assert x.dtype == np.float32 and x.shape == (8, 6, 6, 1)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert y.dtype == np.int64 and y.shape == (8,)


def test_same_seed_same_order_and_crops_different_seed_different():
    toy = _toy()
    run = lambda seed: _batches(data.train_pipeline(toy, 8, seed=seed, crop_flip=True))
    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(x1, x2) and np.array_equal(y1, y2)
               for (x1, y1), (x2, y2) in zip(a, b))
    assert not all(np.array_equal(y1, y2) for (_, y1), (_, y2) in zip(a, c))


def test_each_epoch_is_a_new_permutation_of_all_examples():
    toy = _toy()
    ds = data.train_pipeline(toy, 24, seed=0)
    epochs = [np.concatenate([y for _, y in _batches(ds)]) for _ in range(2)]
    images = [x for x, _ in _batches(ds)]
    assert sorted(images[0].reshape(24, -1).sum(1).tolist()) == sorted(
        (toy.images.reshape(24, -1) / 255).astype(np.float32).sum(1).tolist())
    assert all(sorted(e.tolist()) == sorted(toy.labels.tolist()) for e in epochs)


def test_crop_flip_is_a_shifted_or_mirrored_copy():
    image = tf.constant(np.arange(36, dtype=np.uint8).reshape(6, 6, 1) + 1)
    out = data.pipeline.pad_crop_flip(image, tf.constant([3, 4], tf.int64), pad=2)
    out = out.numpy()[..., 0]
    padded = np.pad(image.numpy()[..., 0], 2)
    windows = [padded[i:i + 6, j:j + 6] for i in range(5) for j in range(5)]
    assert any(np.array_equal(out, w) or np.array_equal(out, w[:, ::-1])
               for w in windows)


def test_drop_remainder_gives_equal_batches():
    sizes = [len(y) for _, y in _batches(
        data.train_pipeline(_toy(), 10, seed=0, drop_remainder=True))]
    assert sizes == [10, 10]


def test_repeated_batches_span_passes_even_for_a_split_smaller_than_a_batch():
    toy = _toy(n=10)
    images = toy.images.reshape(10, -1).astype(np.float32) / 255
    ds = data.train_pipeline(toy, 16, seed=0, drop_remainder=True, repeat=True)
    x = np.concatenate([b for b, _ in _batches(ds.take(5))]).reshape(80, -1)
    passes = [x[i:i + 10] for i in range(0, 80, 10)]
    for p in passes:  # every pass is a permutation of the whole split
        assert sorted(map(tuple, p)) == sorted(map(tuple, images))
    assert not all(np.array_equal(passes[0], p) for p in passes[1:])  # reshuffled


def test_eval_pipeline_keeps_order_and_every_example():
    toy = _toy(n=10)
    batches = _batches(data.eval_pipeline(toy, 4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]),
                                  toy.images / np.float32(255))


def test_every_iterator_yields_the_same_stream():
    """A second iterator (the next tuner trial in the same process, a resumed run)
    sees the same batches and crops as the first."""
    ds = data.train_pipeline(_toy(), 8, seed=3, crop_flip=True, repeat=True,
                             drop_remainder=True).take(7)
    first, second = _batches(ds), _batches(ds)
    assert all(np.array_equal(x1, x2) and np.array_equal(y1, y2)
               for (x1, y1), (x2, y2) in zip(first, second))
    skipped = _batches(data.train_pipeline(_toy(), 8, seed=3, crop_flip=True,
                                           repeat=True, drop_remainder=True).skip(4).take(3))
    assert all(np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first[4:], skipped))
