"""Plots the accuracy/cost frontier of one or more finished studies: every method at
its training seconds and test-accuracy gain, both relative to its own study's `none`
and paired by seed, so studies from different sittings can share one plot. The points
also go, as a Markdown table, beside the PNG (.md) and to stdout.

  python bin/frontier.py --study=full=docs/study_full/results.csv \
      --study=cheap=docs/study_cost/results.csv --out=docs/study_cost/frontier.png
"""

import os

from absl import flags

import common

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("study", None, "LABEL=PATH of a study's results.csv; repeat "
                                         "for several studies.", required=True)
flags.DEFINE_string("out", "frontier.png", "Where the PNG goes.")


def main(argv):
    del argv
    from tfaug import io
    from tfaug.errors import ConfigError
    from tfaug.study.report import frontier_table, plot_frontier, read_rows

    studies = {}
    for item in FLAGS.study:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise ConfigError(f"--study={item!r}: write LABEL=PATH, e.g. "
                              "--study=full=docs/study_full/results.csv.")
        if not os.path.isfile(path):
            raise ConfigError(f"--study={item!r}: no file {path}; give a study's "
                              "results.csv (bin/study.py writes it in --out_dir).")
        rows = read_rows(path)
        if not any(r["method"] == "none" for r in rows):
            raise ConfigError(f"{path} has no `none` runs to measure the others against.")
        studies[label] = rows
    table = frontier_table(studies)
    io.write_atomic(FLAGS.out, plot_frontier(studies))
    io.write_atomic(os.path.splitext(FLAGS.out)[0] + ".md", table.encode())
    print(table + f"frontier: {FLAGS.out}")


if __name__ == "__main__":
    common.run(main)
