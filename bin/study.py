"""The low-data study: a classifier per (labels per class, method, seed), evaluated on
the full test split; writes results.csv/.json, report.md and accuracy.png to --out_dir.
Re-running skips finished runs and resumes an interrupted one; on another machine,
--earlier=<its committed results.json> skips the runs finished there.

  python bin/study.py --hparams=study_fashion_mnist           # ~24 min on 2 CPU cores
  python bin/study.py --hparams=study_fashion_mnist_full      # every method, 5 seeds
  python bin/study.py --hparams=... --shard=0/2 & python bin/study.py ... --shard=1/2

Processes sharing --out_dir take the next run no other holds (a fixed split between
machines: --shard); `make run` starts the first command twice, one core each (~19 min).
"""

import os

from absl import flags

import common
from tfaug.study import StudyConfig

FLAGS = flags.FLAGS
common.define_config_flags(StudyConfig,
                           "Preset name in hparams/ (e.g. study_fashion_mnist) or a JSON "
                           "file; individual flags override it.")
flags.DEFINE_string("out_dir", "runs/study", "Where runs, results, report and plot go.")
flags.DEFINE_string("readme", None, "Also rewrite the tables between the markers "
                                    "<!-- study:PRESET begin/end --> of this Markdown "
                                    "file (e.g. README.md) from the results.")
flags.DEFINE_string("earlier", None, "results.json of this study run elsewhere (e.g. "
                                     "committed from another machine): its runs count "
                                     "as finished where their settings match.")
flags.DEFINE_string("publish_dir", None, "Keep the study's record here too (e.g. "
                                         "docs/, under version control): results, "
                                         "report, plots, finished runs' .json, trained "
                                         "flows. A study given it takes from there what "
                                         "its --out_dir lacks, so it goes on elsewhere.")
flags.DEFINE_string("shard", "0/1", "i/n: run the grid's runs at positions i mod n, so n "
                                    "processes sharing --out_dir split the grid.")


def main(argv):
    from tfaug.study import parse_shard, run_study
    from tfaug.study.report import update_readme

    config = common.config_from_flags(StudyConfig)
    rows = run_study(config, FLAGS.out_dir, shard=parse_shard(FLAGS.shard),
                     earlier=FLAGS.earlier, publish_dir=FLAGS.publish_dir)
    if FLAGS.readme:
        name = os.path.splitext(os.path.basename(FLAGS.hparams or "study"))[0]
        update_readme(FLAGS.readme, name, rows, config)
        print(f"tables rewritten in {FLAGS.readme}")
    print("report: " + os.path.join(FLAGS.out_dir, "report.md") + "; plot: " +
          os.path.join(FLAGS.out_dir, "accuracy.png"))


if __name__ == "__main__":
    common.run(main)
