"""Searches the latent augmentation's eps (and, for the adversarial variant, alpha,
steps, norm, ratio) with Keras Tuner on a validation split carved from the training
set; retrains the best values, evaluates them once on the test split, and writes
summary.json and summary.md to --out_dir. Re-running resumes the search.

  python bin/tune_epsilon.py --hparams=tune_fashion_mnist
  tensorboard --logdir runs/tune/tensorboard        # HParams tab: trials by eps
"""

import os

from absl import flags

import common
from tfaug.tuning import TuningConfig

FLAGS = flags.FLAGS
common.define_config_flags(TuningConfig,
                           "Preset name in hparams/ (e.g. tune_fashion_mnist) or a JSON "
                           "file; individual flags override it.")
flags.DEFINE_string("out_dir", "runs/tune", "Where the tuner's project, TensorBoard "
                                            "logs, the retrained best run and the "
                                            "summary go.")


def main(argv):
    from tfaug.tuning import tune

    summary = tune(common.config_from_flags(TuningConfig), FLAGS.out_dir)
    best = summary["best"]
    print(f"best: {best['config_values']}; validation {best['val_accuracy']:.4f}, "
          f"test {best['test_accuracy']:.4f}; summary: "
          f"{os.path.join(FLAGS.out_dir, 'summary.md')}")


if __name__ == "__main__":
    common.run(main)
