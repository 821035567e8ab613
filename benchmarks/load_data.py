"""Seconds to load a user's own data: an npz of --npz_images 32x32x3 images and a folder
of --folder_images 28x28 grayscale PNGs (both generated here), each split into train
and test (held out), as every entry point loads them.

  .venv/bin/python benchmarks/load_data.py --out=runs/load_data
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/load_data")
    parser.add_argument("--npz_images", type=int, default=50000)
    parser.add_argument("--folder_images", type=int, default=2000)
    args = parser.parse_args()
    import tensorflow as tf

    from tfaug import data
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(0)
    npz = os.path.join(args.out, "cifar_sized.npz")
    np.savez(npz, x=rng.integers(0, 256, (args.npz_images, 32, 32, 3), np.uint8),
             y=np.arange(args.npz_images) % 10)
    folder = os.path.join(args.out, "pngs")
    for i in range(args.folder_images):
        path = os.path.join(folder, f"class{i % 10}", f"{i:05d}.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(tf.io.encode_png(rng.integers(0, 256, (28, 28, 1), np.uint8)).numpy())
    for spec, count in ((f"npz:{npz}", args.npz_images),
                        (f"folder:{folder}", args.folder_images)):
        start = time.time()
        train, test = data.load(spec, "train"), data.load(spec, "test")
        print(f"{spec}: {count} images -> {len(train)} train + {len(test)} test of "
              f"{train.info.image_shape} in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
