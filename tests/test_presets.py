"""Every preset in hparams/ loads, with its config class, and validates."""

import glob
import os

import pytest

from tfaug import config as cfglib
from tfaug.trainers.flow import FlowTrainConfig
from tfaug.study import StudyConfig
from tfaug.trainers.classifier import ClassifierTrainConfig
from tfaug.tuning import MethodsTuningConfig, TuningConfig
from tfaug.trainers.vaegan import VAEGANTrainConfig

PRESETS = sorted(os.path.basename(p)[:-5]
                 for p in glob.glob(os.path.join(cfglib.PRESET_DIR, "*.json")))


def _config_class(name):
    if name.startswith("study_"):
        return StudyConfig
    if name.startswith("tune_"):
        return MethodsTuningConfig if name.endswith("_methods") else TuningConfig
    if name.endswith("_vaegan"):
        return VAEGANTrainConfig
    return FlowTrainConfig if "_glow" in name else ClassifierTrainConfig


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_validates(name):
    config = cfglib.load(_config_class(name), name)
    assert config.dataset in ("fashion_mnist", "cifar10", "cifar100")


def test_the_main_job_preset_is_the_documented_study():
    config = cfglib.load(StudyConfig, "study_fashion_mnist")
    assert config.budgets == (10, 50) and config.seeds == (3,)
    assert config.methods == ("none", "standard", "latent_adversarial")
    assert config.tuned and config.weight_decay_mode == "coupled"


def test_study_and_tuning_presets_train_alike():
    """The full study uses values tuned with exactly its training settings."""
    from tfaug.tuning.methods import SHARED_TRAINING
    full = cfglib.load(StudyConfig, "study_fashion_mnist_full")
    tuning = cfglib.load(MethodsTuningConfig, "tune_fashion_mnist_methods")
    for key in SHARED_TRAINING:
        assert getattr(full, key) == getattr(tuning, key), key
    for budget in tuning.budgets:
        assert full.steps(budget) == tuning.steps(budget)
    assert tuning.seed not in range(full.seed, full.seed + max(full.seeds))


@pytest.mark.parametrize("config_class", [FlowTrainConfig, ClassifierTrainConfig])
def test_unknown_strategy_is_a_clear_error(config_class):
    from tfaug.errors import ConfigError
    with pytest.raises(ConfigError, match="strategy must be one of auto, mirrored, "
                                          "multi_worker, default, got 'gpus'"):
        cfglib.from_dict(config_class, {"strategy": "gpus"}).validate()


def test_augmentation_help_names_every_registered_method():
    from tfaug.augment import registry
    help_text = cfglib.fields(ClassifierTrainConfig)["augmentation"].metadata["help"]
    missing = [name for name in registry.NAMES if name not in help_text]
    assert not missing, f"--augmentation's help leaves out {missing}"
