"""Trains a VAE-GAN (the approximate encoder/decoder baseline of Stutz et al. 2019)
without labels; writes TensorBoard logs (losses, reconstructions, samples), a
resumable backup and report.json (test reconstruction error) to --out_dir, and with
--export_dir the trained model, loadable with tfaug.models.vaegan.load(DIR).

  python bin/train_vaegan.py --hparams=fashion_mnist_vaegan --out_dir=runs/vaegan
"""

import os

from absl import flags

import common
from tfaug.trainers.vaegan import VAEGANTrainConfig

FLAGS = flags.FLAGS
common.define_config_flags(VAEGANTrainConfig,
                           "Preset name in hparams/ (e.g. fashion_mnist_vaegan) or a "
                           "JSON file; individual flags override it.")
flags.DEFINE_string("out_dir", "runs/vaegan", "Where TensorBoard logs, the backup and "
                                              "report.json go.")
flags.DEFINE_string("export_dir", None, "Where to write the trained model.")


def main(argv):
    from tfaug.trainers.vaegan import train_vaegan

    config = common.config_from_flags(VAEGANTrainConfig)
    print(f"TensorBoard: {os.path.join(FLAGS.out_dir, 'tensorboard')}")
    report = train_vaegan(config, FLAGS.out_dir, export_dir=FLAGS.export_dir)
    error = report["test_reconstruction"]
    print(f"test reconstruction error over {error['images']} images: "
          f"{error['mse_per_pixel']:.5f} MSE per pixel, {error['l2_per_image']:.3f} L2 "
          f"per image; report: {os.path.join(FLAGS.out_dir, 'report.json')}")


if __name__ == "__main__":
    common.run(main)
