"""Searches an augmentation's parameters (those not written in --augmentation) and,
if the space names it, the learning rate, with Keras Tuner on a validation split carved
from the training set; retrains the best values, evaluates them once on the test split,
and writes summary.json and summary.md to --out_dir. Re-running resumes the search.

  python bin/tune.py --hparams=tune_fashion_mnist
  python bin/tune.py --augmentation='latent_random(ratio=1)' --labels_per_class=50 \\
      --space='{"latent_random.eps": {"min": 1, "max": 30, "log": true}}'
  tensorboard --logdir runs/tune/tensorboard        # HParams tab: trials by value

Distributed (Keras Tuner's own mode): one chief serves the oracle, workers run trials;
all share --out_dir (a shared file system across machines):

  export KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000
  KERASTUNER_TUNER_ID=chief python bin/tune.py --hparams=... --out_dir=/shared/tune &
  KERASTUNER_TUNER_ID=tuner0 python bin/tune.py --hparams=... --out_dir=/shared/tune
  KERASTUNER_TUNER_ID=tuner1 python bin/tune.py ...     # on each worker machine
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
    if "worker" in summary:
        return
    best = summary["best"]
    tested = (f", test {best['test_accuracy']:.4f}" if "test_accuracy" in best else "")
    print(f"best: {best['augmentation']}, lr {best['lr']:g}; validation "
          f"{best['val_accuracy']:.4f}{tested}; summary: "
          f"{os.path.join(FLAGS.out_dir, 'summary.md')}")


if __name__ == "__main__":
    common.run(main)
