"""Low-data studies: budgets x methods x seeds of augmented classifier training, with
a CSV/JSON record, a Markdown report computed from the CSV, and a plot."""

from tfaug.study.report import (COLUMNS, markdown_report, plot, read_rows,
                                relative_gain, summarize, write_outputs)
from tfaug.study.runner import StudyConfig, run_dir, run_study

__all__ = ["COLUMNS", "StudyConfig", "markdown_report", "plot", "read_rows",
           "relative_gain", "run_dir", "run_study", "summarize", "write_outputs"]
