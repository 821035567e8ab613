"""Shared test helpers: quiet TensorFlow, tiny generated MNIST-format datasets."""

import gzip
import os
import struct
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path: str, array: np.ndarray) -> str:
    raw = idx_bytes(array)
    with (gzip.open if path.endswith(".gz") else open)(path, "wb") as f:
        f.write(raw)
    return path


def make_mnist_dir(directory, n_train=60, n_test=20, num_classes=10, seed=0,
                   gz=True) -> str:
    """A tiny MNIST-format dataset with balanced labels: returns the directory."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte{ext}"),
                  rng.integers(0, 256, (n, 28, 28)))
        write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte{ext}"),
                  np.arange(n) % num_classes)
    return str(directory)


@pytest.fixture
def mnist_dir(tmp_path):
    return make_mnist_dir(tmp_path)


requires_fashion_mnist = pytest.mark.skipif(
    not os.path.exists(os.path.join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason="needs Debian's dataset-fashion-mnist (make data)")


def run_script(name, *args, timeout=600):
    """Runs bin/<name> with `args` in a fresh Python; returns the CompletedProcess."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "bin", name), *args],
                          capture_output=True, text=True, timeout=timeout)


def save_tiny_flow(directory) -> str:
    """An initialised (untrained) 28x28x1 Glow exported to `directory`."""
    from tfaug import flows
    glow = flows.Glow(flows.GlowConfig((28, 28, 1), levels=2, steps=1, width=4))
    glow.initialize(np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype("f4"))
    flows.save(glow, str(directory))
    return str(directory)


def h5_arrays(path) -> list:
    """(name, array) of every dataset in the HDF5 file at `path`, in file order."""
    import h5py
    values = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: values.append((name, obj[()]))
                     if isinstance(obj, h5py.Dataset) else None)
    return values


def free_ports(n: int) -> list:
    """`n` distinct free TCP ports on 127.0.0.1."""
    import socket
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def write_png(path, image) -> str:
    """Writes a uint8 (or uint16: a 16-bit PNG) (H, W, C) array as a PNG file."""
    import tensorflow as tf
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    dtype = np.uint16 if np.asarray(image).dtype == np.uint16 else np.uint8
    with open(path, "wb") as f:
        f.write(tf.io.encode_png(np.asarray(image, dtype)).numpy())
    return str(path)


def make_image_folder(root, classes=("cat", "dog", "fox"), per_class=6,
                      size=(8, 8), channels=3, seed=0, splits=False) -> str:
    """A folder of PNGs, one subfolder per class (no classes: an unlabelled pool);
    with `splits`, root/train and root/test (test with half as many per class).
    Class c's images are brighter with c, so a classifier can learn them."""
    rng = np.random.default_rng(seed)
    parts = [("train", per_class), ("test", max(per_class // 2, 1))] if splits \
        else [("", per_class)]
    for part, count in parts:
        for c, name in enumerate(classes or [""]):
            for i in range(count):
                base = 40 + 60 * c
                image = np.clip(rng.normal(base, 20, (*size, channels)), 0, 255)
                write_png(os.path.join(str(root), part, name, f"{i:03d}.png"), image)
    return str(root)


def prepare_mock_tfds(root, name="kmnist", splits=(("train", 12), ("test", 6))) -> str:
    """tfds metadata for dataset `name` in `root` (its splits as given), so
    tfds.testing.mock_data(policy=USE_FILES, data_dir=root) serves random examples
    of its features: a tfds dataset that is not one of tfaug's built-in names."""
    import tensorflow_datasets as tfds
    builder = tfds.builder(name, data_dir=str(root))
    builder.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=s, shard_lengths=[n], num_bytes=0,
                            filename_template=None) for s, n in splits]))
    os.makedirs(builder.data_dir, exist_ok=True)
    builder.info.write_to_directory(builder.data_dir)
    return str(root)


def run_script_with_mock_tfds(tfds_dir, name, *args, num_examples=80, timeout=600):
    """bin/<name> with `args`, in a fresh Python whose tensorflow-datasets serves mock
    examples from the metadata in `tfds_dir` (prepare_mock_tfds)."""
    runner = ("import runpy, sys, tensorflow_datasets as tfds\n"
              "script, data_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
              "sys.argv = [script] + sys.argv[4:]\n"
              "with tfds.testing.mock_data(num_examples=n, data_dir=data_dir,\n"
              "        policy=tfds.testing.MockPolicy.USE_FILES):\n"
              "    runpy.run_path(script, run_name='__main__')\n")
    script = os.path.join(ROOT, "bin", name)
    return subprocess.run([sys.executable, "-c", runner, script, str(tfds_dir),
                           str(num_examples), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.pathsep
                                                .join([os.path.join(ROOT, "bin"), ROOT])})
