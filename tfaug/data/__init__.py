"""Datasets: loading (local IDX files or tfds), low-data subsets, tf.data pipelines."""

from tfaug.data.catalog import DATASETS, DatasetSpec, spec
from tfaug.data.idx import parse_idx, read_idx
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.pipeline import eval_pipeline, to_unit_float, train_pipeline
from tfaug.data.sources import load
from tfaug.data.subsets import low_data_split, split_indices

__all__ = [
    "DATASETS", "DatasetInfo", "DatasetSpec", "LabeledImages", "eval_pipeline",
    "load", "low_data_split", "parse_idx", "read_idx", "spec", "split_indices",
    "to_unit_float", "train_pipeline",
]
