"""Tunes every method of a study alike, on validation splits: at each budget, the
learning rate for `none`, then each method's parameters with that learning rate, each
with the same tuner and number of trials. Writes --out_dir/tuned.json (which
bin/study.py --tuned=... reads) and a summary per search; re-running resumes. The
same command started several times shares the searches (each process takes the next
one no other holds).

  python bin/tune_methods.py --hparams=tune_fashion_mnist_methods \\
      --out_dir=runs/tune_methods
"""

import os

from absl import flags

import common
from tfaug.tuning import MethodsTuningConfig

FLAGS = flags.FLAGS
common.define_config_flags(MethodsTuningConfig,
                           "Preset name in hparams/ (e.g. tune_fashion_mnist_methods) "
                           "or a JSON file; individual flags override it.")
flags.DEFINE_string("out_dir", "runs/tune_methods", "Where the searches and tuned.json "
                                                    "go.")
flags.DEFINE_string("publish_dir", None, "Also copy the tuning's records (tuned.json, "
                                         "curves, summaries and trials; no weights or "
                                         "logs) here after every trial, e.g. docs/.")
flags.DEFINE_string("shard", "0/1", "i/n: this process runs only every n-th search from "
                                    "the i-th, a fixed split for machines sharing "
                                    "--out_dir where file locks may not hold; processes "
                                    "started alike share their searches without it.")


def main(argv):
    from tfaug.study.runner import parse_shard
    from tfaug.tuning import tune_methods

    tune_methods(common.config_from_flags(MethodsTuningConfig), FLAGS.out_dir,
                 shard=parse_shard(FLAGS.shard), publish_dir=FLAGS.publish_dir)
    print(f"tuned values: {os.path.join(FLAGS.out_dir, 'tuned.json')}")


if __name__ == "__main__":
    common.run(main)
