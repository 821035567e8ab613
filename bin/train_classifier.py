"""Trains a classifier with an augmentation inside its compiled training step and
writes TensorBoard logs, a resumable backup, the weights and report.json (final
validation and test accuracy) to --out_dir. --notest leaves the test split alone, for
runs whose validation accuracy chooses a setting.

  python bin/train_classifier.py --hparams=fashion_mnist_small_cnn \\
      --labels_per_class=100 --augmentation=standard+latent_adversarial
"""

import os

from absl import flags

import common
from tfaug.trainers.classifier import ClassifierTrainConfig

FLAGS = flags.FLAGS
common.define_config_flags(ClassifierTrainConfig,
                           "Preset name in hparams/ (e.g. fashion_mnist_small_cnn, "
                           "cifar10_resnet18_paper) or a JSON file; individual flags "
                           "override it.")
flags.DEFINE_string("out_dir", "runs/classifier", "Where TensorBoard logs, the backup, "
                                                  "weights and report.json go.")
flags.DEFINE_bool("test", True, "Evaluate the test split at the end (--notest: "
                  "validation only, for runs that choose a setting).")


def main(argv):
    from tfaug.trainers.classifier import train_classifier

    config = common.config_from_flags(ClassifierTrainConfig)
    report = train_classifier(config, FLAGS.out_dir, log=print, evaluate_test=FLAGS.test,
                              verbose=common.keras_verbose())
    scores = [f"{name} accuracy {report[key]:.4f}" for name, key in (
        ("validation", "val_accuracy"), ("test", "test_accuracy"))
        if report[key] is not None]
    print(f"{config.augmentation}: {', '.join(scores) or 'trained'} "
          f"({report['sizes']['train']} labelled training images); report: "
          f"{os.path.join(FLAGS.out_dir, 'report.json')}; the trained classifier, "
          f"plain Keras: {os.path.join(FLAGS.out_dir, 'classifier.keras')}")


if __name__ == "__main__":
    common.run(main)
