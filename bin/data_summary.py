"""Loads a dataset split and prints its summary: size, class balance, pixel stats.

  python bin/data_summary.py                         # Fashion-MNIST, local files
  python bin/data_summary.py --labels_per_class=10 --val_per_class=100 --seed=1
  python bin/data_summary.py --dataset=folder:my_images --split=test
"""

from absl import flags

import common
from tfaug.config import DataSource

FLAGS = flags.FLAGS
common.define_config_flags(DataSource)
flags.DEFINE_string("split", "train", "Split to summarise: train or test.")
flags.DEFINE_integer("labels_per_class", None,
                     "Also summarise a low-data subset of this many labels per class.")
flags.DEFINE_float("label_fraction", None,
                   "Also summarise a low-data subset of this fraction of each class.")
flags.DEFINE_integer("val_per_class", 0,
                     "Validation examples per class carved from the training split.")
flags.DEFINE_integer("seed", 0, "Seed choosing the subset and validation examples.")


def describe(title, data) -> str:
    import numpy as np

    pixels = data.images.reshape(-1, data.images.shape[-1]).astype(np.float64) / 255
    classes = (f"{data.info.num_classes} classes" if data.info.labelled else
               "unlabelled (no classes)")
    lines = [f"{title}: {len(data)} images of {data.info.image_shape}, {classes}",
             f"  pixels in [0,1]: min {pixels.min():.3f} max {pixels.max():.3f} "
             f"mean {np.round(pixels.mean(0), 4).tolist()} "
             f"std {np.round(pixels.std(0), 4).tolist()}"]
    if not data.info.labelled:
        return "\n".join(lines)
    counts = data.class_counts()
    lines.append(f"  per class: min {counts.min()} max {counts.max()}")
    width = max(len(n) for n in data.info.class_names)
    lines += [f"    {c:3d} {name:<{width}} {n:6d}"
              for c, (name, n) in enumerate(zip(data.info.class_names, counts))]
    return "\n".join(lines)


def main(argv):
    del argv
    from tfaug import data

    source = common.config_from_flags(DataSource)
    split = source.load(FLAGS.split)
    print(f"{source.dataset}/{FLAGS.split} from {split.info.source}"
          + (f" ({split.info.note})" if split.info.note else ""))
    print(describe("all", split))
    if FLAGS.labels_per_class is not None or FLAGS.label_fraction is not None \
            or FLAGS.val_per_class:
        train, val = data.low_data_split(
            split, seed=FLAGS.seed, per_class=FLAGS.labels_per_class,
            fraction=FLAGS.label_fraction, val_per_class=FLAGS.val_per_class)
        print(describe(f"labelled subset (seed {FLAGS.seed})", train))
        print(describe("validation", val))


if __name__ == "__main__":
    common.run(main)
