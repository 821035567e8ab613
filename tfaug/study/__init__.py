"""Low-data studies: budgets x methods x seeds of augmented classifier training, with
tuned values read from a file, a CSV/JSON record, a Markdown report computed from the
CSV (paired intervals over seeds, convergence, cost, capacity), and plots."""

from tfaug.study.report import (COLUMNS, markdown_report, read_rows, relative_gain,
                                summarize, write_outputs)
from tfaug.study.runner import Run, StudyConfig, parse_shard, run_dir, run_study

__all__ = ["COLUMNS", "Run", "StudyConfig", "markdown_report", "read_rows",
           "parse_shard", "relative_gain", "run_dir", "run_study", "summarize",
           "write_outputs"]
