"""Every preset in hparams/ loads, with its config class, and validates."""

import glob
import os

import pytest

from tfaug import config as cfglib
from tfaug.trainers.flow import FlowTrainConfig
from tfaug.study import StudyConfig
from tfaug.trainers.classifier import ClassifierTrainConfig
from tfaug.tuning import TuningConfig
from tfaug.trainers.vaegan import VAEGANTrainConfig

PRESETS = sorted(os.path.basename(p)[:-5]
                 for p in glob.glob(os.path.join(cfglib.PRESET_DIR, "*.json")))


def _config_class(name):
    if name.startswith("study_"):
        return StudyConfig
    if name.startswith("tune_"):
        return TuningConfig
    if name.endswith("_vaegan"):
        return VAEGANTrainConfig
    return FlowTrainConfig if "_glow" in name else ClassifierTrainConfig


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_validates(name):
    config = cfglib.load(_config_class(name), name)
    assert config.dataset in ("fashion_mnist", "cifar10", "cifar100")


def test_the_main_job_preset_is_the_documented_study():
    config = cfglib.load(StudyConfig, "study_fashion_mnist")
    assert config.budgets == (10, 50, 250) and config.seeds == 3
    assert config.methods == ("none", "standard", "latent_random", "latent_adversarial")
    assert len(config.grid()) == 36
    assert "validation split" in config.notes
