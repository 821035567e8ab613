"""LabeledImages: a split held in memory as uint8 images and integer labels (or, for
an unlabelled pool such as a folder without class subfolders, no classes and labels
of -1)."""

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
    note: str = ""              # how the split was made, when not the source's own

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def labelled(self) -> bool:
        return bool(self.class_names)

    def describe(self) -> dict:
        """What a report records of the data a run used."""
        return {"dataset": self.name, "split": self.split,
                "image_shape": list(self.image_shape), "classes": self.num_classes,
                "examples": self.num_examples, "source": self.source,
                **({"note": self.note} if self.note else {})}


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
        if not self.info.labelled:
            if len(self.labels) and (self.labels != -1).any():
                raise DataError(f"{name}: an unlabelled split must have labels -1.")
        elif len(self.labels) and not 0 <= self.labels.min() <= self.labels.max() < (
                self.info.num_classes):
            raise DataError(f"{name}: labels span [{self.labels.min()}, "
                            f"{self.labels.max()}], outside "
                            f"[0, {self.info.num_classes}).")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> "LabeledImages":
        """The examples at `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        info = dataclasses.replace(self.info, num_examples=len(indices))
        return LabeledImages(self.images[indices], self.labels[indices], info)

    def with_note(self, note: str, split: str = None) -> "LabeledImages":
        """The same examples, with `note` (how the split was made) in their info."""
        info = dataclasses.replace(self.info, note=note, split=split or self.info.split)
        return LabeledImages(self.images, self.labels, info)

    def class_counts(self) -> np.ndarray:
        self.require_labels("counting examples per class")
        return np.bincount(self.labels, minlength=self.info.num_classes)

    def require_labels(self, purpose: str = "training a classifier") -> None:
        """A clear error when this split has no labels."""
        if not self.info.labelled:
            raise DataError(
                f"{self.info.name} ({self.info.split}) is an unlabelled pool (images "
                f"without classes): enough to train a flow (bin/train_flow.py), not for "
                f"{purpose}. Give labels: for a folder, one subfolder per class "
                "(PATH/<class>/*.png); for an npz, an array y.")

    def as_dataset(self) -> tf.data.Dataset:
        """(uint8 image, int64 label) pairs, in order."""
        return tf.data.Dataset.from_tensor_slices((self.images, self.labels))
