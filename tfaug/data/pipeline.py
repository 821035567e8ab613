"""tf.data pipelines: uint8 examples in, float32 images in [0, 1] out."""

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfaug.data.labeled import LabeledImages
from tfaug.errors import DataError

AUTOTUNE = tf.data.AUTOTUNE


def to_unit_float(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [0, 1]."""
    return tf.cast(images, tf.float32) / 255.0


def pad_crop_flip(image: tf.Tensor, seed: tf.Tensor, pad: int = 4) -> tf.Tensor:
    """The standard augmentation: zero-pad by `pad`, crop back at random, flip
    left-right with probability 1/2. Stateless: the result depends only on `seed`."""
    shape = tf.shape(image)
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, 2)
    cropped = tf.image.stateless_random_crop(padded, shape, seed=seeds[0])
    return tf.image.stateless_random_flip_left_right(cropped, seed=seeds[1])


def shuffled_order(n: int, seed: int, passes: Optional[int] = 1) -> tf.data.Dataset:
    """Example indices: pass p is the permutation of range(n) drawn from (seed, p);
    `passes` None repeats without end. A pure function of its arguments: every
    iterator over it yields the same stream (a `shuffle` op's seed state instead
    advances with each new iterator, so a second trial in one process, or a resumed
    run, would see other batches)."""
    seed = tf.constant(seed, tf.int64)
    index = tf.range(n, dtype=tf.int64)
    pass_ids = tf.data.Dataset.counter() if passes is None else tf.data.Dataset.range(
        passes)
    return pass_ids.flat_map(lambda p: tf.data.Dataset.from_tensor_slices(
        tf.random.experimental.stateless_shuffle(index, seed=tf.stack([seed, p]))))


def train_pipeline(data: LabeledImages, batch_size: int, *, seed: int,
                   crop_flip: bool = False, pad: int = 4, drop_remainder: bool = False,
                   repeat: bool = False,
                   extras: Optional[Dict[str, np.ndarray]] = None) -> tf.data.Dataset:
    """Shuffled (and optionally pad-crop-flipped) batches of (image, label).

    The order and the crops are a function of `seed` alone, the same for every
    iterator over the dataset; each pass over the split is shuffled anew.
    `drop_remainder` gives equal batches, which tf.distribute strategies need.
    `repeat` makes the batches endless, spanning passes, so a split smaller than one
    batch still fills batches. `extras` (name -> array with a row per example, e.g.
    example indices or cached latents) ride along with the images: batches are then
    ({"images": images, **extras}, labels).
    """
    if not len(data):
        raise DataError(f"No examples to train on in {data.info.name} "
                        f"({data.info.split}): check the split and subset sizes.")
    extras = dict(extras or {})
    for name, values in extras.items():
        if len(values) != len(data):
            raise DataError(f"extras[{name!r}] has {len(values)} rows for "
                            f"{len(data)} examples.")
    if crop_flip and extras:
        raise DataError("crop_flip changes the images after their extras (such as "
                        "cached latents) were computed; crop in the training step.")
    images, labels = tf.constant(data.images), tf.constant(data.labels)
    extras = {name: tf.constant(values) for name, values in extras.items()}
    seed_t = tf.constant(seed, tf.int64)

    def example(position, i):
        image = tf.gather(images, i)
        if crop_flip:
            image = pad_crop_flip(image, tf.stack([position, seed_t]), pad)
        if extras:
            more = {name: tf.gather(values, i) for name, values in extras.items()}
            return {"images": image, **more}, tf.gather(labels, i)
        return image, tf.gather(labels, i)

    order = shuffled_order(len(data), seed, passes=None if repeat else 1)
    ds = order.enumerate().map(example, num_parallel_calls=AUTOTUNE, deterministic=True)
    return _finish(ds, batch_size, drop_remainder)


def unlabelled_pipeline(pool: LabeledImages, batch_size: int, *, seed: int,
                        latents: Optional[np.ndarray] = None) -> tf.data.Dataset:
    """Endless shuffled batches of the pool's images, float32 in [0, 1] (with
    `latents`, a row per image: (images, latents) batches); the order is a function
    of `seed` alone (each pass shuffled anew), like train_pipeline's."""
    if not len(pool):
        raise DataError(f"No unlabelled images in {pool.info.name} ({pool.info.note}).")
    if latents is not None and len(latents) != len(pool):
        raise DataError(f"{len(latents)} latents for {len(pool)} unlabelled images.")
    images = tf.constant(pool.images)
    rows = None if latents is None else tf.constant(latents)

    def example(i):
        image = tf.gather(images, i)
        return image if rows is None else (image, tf.gather(rows, i))

    ds = shuffled_order(len(pool), seed, passes=None).map(
        example, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.map(to_unit_float if rows is None else
                  lambda x, z: (to_unit_float(x), z), num_parallel_calls=AUTOTUNE)


def with_unlabelled(train: tf.data.Dataset, unlabelled: tf.data.Dataset
                    ) -> tf.data.Dataset:
    """Batches of `train` with a batch of `unlabelled` beside each: ({"images", ...,
    "unlabelled"[, "unlabelled_latents"]}, labels), as tfaug.AugmentedModel takes them
    for a consistency part (e.g. unlabelled_pipeline with mu times the labelled batch
    size)."""
    def merged(batch, u):
        x, *rest = batch
        x = dict(x) if isinstance(x, dict) else {"images": x}
        more = ({"unlabelled": u[0], "unlabelled_latents": u[1]}
                if isinstance(u, tuple) else {"unlabelled": u})
        return ({**x, **more}, *rest)
    return tf.data.Dataset.zip((train, unlabelled)).map(merged).prefetch(AUTOTUNE)


def eval_pipeline(data: LabeledImages, batch_size: int) -> tf.data.Dataset:
    """Batches of (image, label) in dataset order, every example exactly once."""
    return _finish(data.as_dataset(), batch_size, drop_remainder=False)


def _finish(ds, batch_size, drop_remainder):
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}.")
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def unit(x, y):
        if isinstance(x, dict):
            return {**x, "images": to_unit_float(x["images"])}, y
        return to_unit_float(x), y

    return ds.map(unit, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
