"""Reader for the IDX format of MNIST-style datasets (raw or gzip-compressed).

An IDX file is: two zero bytes, a type code (0x08 = uint8), the number of dimensions
d, then d big-endian uint32 sizes, then the data in C order.
"""

import gzip
import os
import struct

import numpy as np

from tfaug.errors import DataError

_UINT8 = 0x08
_KINDS = {1: "labels", 3: "images"}


def read_idx(path: str, ndim: int = None) -> np.ndarray:
    """Returns the uint8 array stored in the IDX file `path` (.gz or raw); with
    `ndim`, the file must hold that many dimensions (3 for images, 1 for labels)."""
    if not os.path.isfile(path):
        raise DataError(f"IDX file not found: {path}")
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"Cannot read {path}: {e}. The file is corrupt or truncated; "
                        "download or install it again.") from None
    return parse_idx(raw, path, ndim)


def parse_idx(raw: bytes, name: str = "<bytes>", expected_ndim: int = None) -> np.ndarray:
    """Parses IDX bytes into a uint8 array, checking the header against the size (and
    the number of dimensions against `expected_ndim`, before the size)."""
    if len(raw) < 4:
        raise DataError(f"{name}: only {len(raw)} bytes, too short for an IDX header.")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != _UINT8 or not 1 <= ndim <= 4:
        raise DataError(
            f"{name}: bad IDX magic number 0x{raw[:4].hex()} (expected 0x000008 then "
            "1-4 dimensions). Is this an MNIST-format images/labels file?")
    if expected_ndim is not None and ndim != expected_ndim:
        want = _KINDS.get(expected_ndim, f"{expected_ndim}-dimensional")
        got = _KINDS.get(ndim, f"{ndim}-dimensional")
        raise DataError(
            f"{name}: magic number 0x{raw[:4].hex()} marks an IDX {got} file, but an "
            f"IDX {want} file (magic 0x{raw[:3].hex()}{expected_ndim:02x}) is expected "
            "here: the images and labels files are swapped or misnamed.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(raw) - header
    if actual != expected:
        raise DataError(
            f"{name}: header says shape {shape} ({expected} bytes) but the file holds "
            f"{actual} bytes of data: it is truncated or corrupt; replace it.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
