"""LabeledImages: a split held in memory as uint8 images and integer labels."""

import dataclasses

import numpy as np
import tensorflow as tf

from tfaug.errors import DataError


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a loaded split."""
    name: str
    split: str
    image_shape: tuple          # (H, W, C); grayscale keeps C = 1
    class_names: tuple
    num_examples: int
    source: str                 # where it was read from (a directory or "tfds:<dir>")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclasses.dataclass(frozen=True)
class LabeledImages:
    """uint8 images (N, H, W, C) and int64 labels (N,), with their metadata.

    All tfaug datasets fit in memory (CIFAR-10 is 150 MB), which makes stratified
    subsets exact and cheap; `as_dataset()` hands them to tf.data.
    """
    images: np.ndarray
    labels: np.ndarray
    info: DatasetInfo

    def __post_init__(self):
        name = f"{self.info.name}/{self.info.split}"
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"{name}: images must be uint8 (N, H, W, C), got "
                            f"{self.images.dtype} {self.images.shape}.")
        if self.images.shape[1:] != tuple(self.info.image_shape):
            raise DataError(f"{name}: images have shape {self.images.shape[1:]}, "
                            f"expected {tuple(self.info.image_shape)}.")
        if self.labels.shape != (len(self.images),):
            raise DataError(f"{name}: {len(self.images)} images but labels of shape "
                            f"{self.labels.shape}; the image and label files do not "
                            "belong together.")
        if len(self.labels) and not 0 <= self.labels.min() <= self.labels.max() < (
                self.info.num_classes):
            raise DataError(f"{name}: labels span [{self.labels.min()}, "
                            f"{self.labels.max()}], outside [0, {self.info.num_classes}).")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> "LabeledImages":
        """The examples at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        info = dataclasses.replace(self.info, num_examples=len(indices))
        return LabeledImages(self.images[indices], self.labels[indices], info)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.info.num_classes)

    def as_dataset(self) -> tf.data.Dataset:
        """(uint8 image, int64 label) pairs, in order."""
        return tf.data.Dataset.from_tensor_slices((self.images, self.labels))
