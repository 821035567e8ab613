"""Datasets: loading by name (built-in, folder:PATH, npz:FILE, tfds:NAME), low-data
subsets, unlabelled pools, tf.data pipelines."""

from tfaug.data.catalog import DATASETS, DatasetSpec, spec
from tfaug.errors import DataError
from tfaug.data.idx import parse_idx, read_idx
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.data.pipeline import (eval_pipeline, to_unit_float, train_pipeline,
                                 unlabelled_pipeline, with_unlabelled)
from tfaug.data.sources import load, parse
from tfaug.data.subsets import held_out_split, low_data_split, split_indices
from tfaug.data.unlabelled import (check_pool, load_pool, split_pool,
                                   without_duplicates)

__all__ = [
    "DATASETS", "DataError", "DatasetInfo", "DatasetSpec", "LabeledImages",
    "SourceOptions", "check_pool", "eval_pipeline", "held_out_split", "load", "load_pool",
    "low_data_split", "parse", "parse_idx", "read_idx", "spec", "split_indices",
    "split_pool", "to_unit_float", "train_pipeline", "unlabelled_pipeline",
    "with_unlabelled", "without_duplicates",
]
