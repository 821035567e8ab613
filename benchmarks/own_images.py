"""Times README's "Your own images" path on this machine: from an empty folder, write
--images real Fashion-MNIST training images as PNGs (one subfolder per class), then run
the README's commands (a flow, then a first classifier with the adversarial latent
augmentation) and print the seconds of each step and in all.

  .venv/bin/python benchmarks/own_images.py --out=runs/own_images --images=2000
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_folder(directory, count):
    import tensorflow as tf

    from tfaug import data
    train = data.load("fashion_mnist", "train")
    per_class = count // train.info.num_classes
    for c, name in enumerate(train.info.class_names):
        folder = os.path.join(directory, name.replace("/", "_").replace(" ", "_"))
        os.makedirs(folder, exist_ok=True)
        for i in np.flatnonzero(train.labels == c)[:per_class]:
            with open(os.path.join(folder, f"{i:05d}.png"), "wb") as f:
                f.write(tf.io.encode_png(train.images[i]).numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/own_images")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--flow_steps", type=int, default=3000)
    parser.add_argument("--labels_per_class", type=int, default=50)
    args = parser.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists: give a new --out (the timing starts from nothing)")
    images = os.path.join(args.out, "my_images")
    python = sys.executable
    steps = [
        ("write PNGs", None),
        ("train_flow", [python, "bin/train_flow.py", f"--dataset=folder:{images}",
                        f"--train_steps={args.flow_steps}",
                        f"--out_dir={args.out}/runs/my_flow",
                        f"--export_dir={args.out}/my_flow"]),
        ("train_classifier", [python, "bin/train_classifier.py",
                              f"--dataset=folder:{images}", f"--flow={args.out}/my_flow",
                              f"--labels_per_class={args.labels_per_class}",
                              "--augmentation=standard+latent_adversarial",
                              f"--out_dir={args.out}/runs/my_classifier"]),
    ]
    total = 0.0
    for name, command in steps:
        start = time.time()
        if command is None:
            write_folder(images, args.images)
        else:
            subprocess.run(command, cwd=ROOT, check=True)
        seconds = time.time() - start
        total += seconds
        print(f"{name}: {seconds:.0f} s", flush=True)
    print(f"from an empty folder to a trained flow and an augmented classifier: "
          f"{total:.0f} s ({total / 60:.1f} min) for {args.images} images")


if __name__ == "__main__":
    main()
