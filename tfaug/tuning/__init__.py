"""Tuning with Keras Tuner on validation splits: one method's parameters
(`search.tune`), or every method of a study alike (`methods.tune_methods`, whose
tuned.json the study reads). Search spaces: `space`."""

from tfaug.tuning.methods import MethodsTuningConfig, Tuned, read_tuned, tune_methods
from tfaug.tuning.search import OBJECTIVE, TUNERS, TuningConfig, trial_config, tune
from tfaug.tuning.space import DEFAULT_SPACE, declare, effective_space

__all__ = ["DEFAULT_SPACE", "MethodsTuningConfig", "OBJECTIVE", "TUNERS", "Tuned",
           "TuningConfig", "declare", "effective_space", "read_tuned", "trial_config",
           "tune", "tune_methods"]
