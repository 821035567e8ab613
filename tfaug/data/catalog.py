"""The built-in datasets, by name: shapes, and where each can come from."""

import dataclasses
from typing import Optional

from tfaug.errors import DataError

# File stems of the MNIST-format IDX layout, per split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Static facts about a built-in dataset.

    `idx` marks MNIST-format datasets that can be read from local IDX files;
    `default_dir` is a well-known local location for them (a Debian package).
    `class_names`, when given, name the classes; else tfds' metadata does
    (CIFAR-100's 100 names).
    """
    name: str
    tfds_name: str
    image_shape: tuple
    class_names: tuple = ()
    idx: bool = False
    default_dir: Optional[str] = None


_DIGITS = tuple(str(i) for i in range(10))

DATASETS = {
    spec.name: spec for spec in [
        DatasetSpec(
            "fashion_mnist", "fashion_mnist", (28, 28, 1),
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"),
            idx=True, default_dir="/usr/share/datasets/fashion-mnist"),
        DatasetSpec("mnist", "mnist", (28, 28, 1), _DIGITS, idx=True),
        DatasetSpec(
            "cifar10", "cifar10", (32, 32, 3),
            ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
             "ship", "truck")),
        DatasetSpec("cifar100", "cifar100", (32, 32, 3)),
        DatasetSpec("svhn_cropped", "svhn_cropped", (32, 32, 3), _DIGITS),
    ]
}


def spec(name: str) -> DatasetSpec:
    """Returns the spec of built-in dataset `name`, or a clear error listing the
    known ones and the other forms of a dataset name."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"Unknown dataset {name!r}. Known datasets: "
                        f"{', '.join(sorted(DATASETS))}; or your own: folder:PATH, "
                        "npz:FILE, tfds:NAME[/CONFIG].") from None
