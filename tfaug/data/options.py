"""How a data source is read: where its files are and how its images are converted."""

import dataclasses
import math
from typing import Optional, Tuple

from tfaug.errors import DataError

DEFAULT_TEST_FRACTION = 0.2


@dataclasses.dataclass(frozen=True)
class SourceOptions:
    """Options shared by every source (each uses those that concern it).

    data_dir: a directory of IDX files, for the MNIST-format built-in datasets.
    tfds_data_dir, manual_dir: tensorflow-datasets' data directory and the directory
        where it finds manually downloaded archives (e.g. the CIFAR tarballs).
    image_size: (H, W) every image is resized to (bilinear, antialiased).
    channels: 1 (grayscale) or 3 (RGB); default: what the files hold.
    test_fraction: for a source without a test split of its own, the fraction of each
        class held out as the test split (default 0.2), chosen by `split_seed`
        (default 0).
    """
    data_dir: Optional[str] = None
    tfds_data_dir: Optional[str] = None
    manual_dir: Optional[str] = None
    image_size: Optional[Tuple[int, int]] = None
    channels: Optional[int] = None
    test_fraction: Optional[float] = None
    split_seed: Optional[int] = None

    def __post_init__(self):
        if self.image_size is not None:
            size = tuple(self.image_size)
            if len(size) != 2 or not all(isinstance(s, int) and s >= 1 for s in size):
                raise DataError(f"image_size must be two integers H,W >= 1 (e.g. "
                                f"--image_size=32,32), got {self.image_size!r}.")
            object.__setattr__(self, "image_size", size)
        if self.channels not in (None, 1, 3):
            raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got "
                            f"{self.channels!r}.")
        if self.test_fraction is not None and not (
                math.isfinite(self.test_fraction) and 0 < self.test_fraction < 1):
            raise DataError(f"test_fraction must be in (0, 1), got "
                            f"{self.test_fraction!r}.")
        if self.split_seed is not None and self.split_seed < 0:
            raise DataError(f"split_seed must be >= 0, got {self.split_seed!r}.")

    @property
    def held_out_fraction(self) -> float:
        return DEFAULT_TEST_FRACTION if self.test_fraction is None else self.test_fraction

    @property
    def held_out_seed(self) -> int:
        return 0 if self.split_seed is None else self.split_seed
