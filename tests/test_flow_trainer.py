import os

import numpy as np
import pytest
import tensorflow as tf

from flow_helpers import toy_split
from tfaug import config as cfglib
from tfaug.errors import ConfigError, TfaugError
from tfaug.trainers.flow import FlowTrainConfig, FlowTrainer, TrainingError

TINY = dict(dataset="mnist", levels=2, steps_per_level=2, width=16, batch_size=16,
            lr=3e-3, warmup_steps=5, log_every=10, eval_every=1000,
            checkpoint_every=10, eval_examples=32, jit=False)


def _trainer(tmp_path, name="run", **overrides):
    config = cfglib.from_dict(FlowTrainConfig, {**TINY, **overrides})
    train, test = toy_split(64, seed=0), toy_split(32, seed=1, split="test")
    return FlowTrainer(config, str(tmp_path / name), train, test, progress=False)


def _weights(trainer):
    return [v.numpy().copy() for v in trainer.glow.variables]


def test_bits_per_dim_falls_over_fifty_steps(tmp_path):
    trainer = _trainer(tmp_path, train_steps=50, jit=True)
    trainer.restore_or_initialize()
    before = trainer.evaluate()
    report = trainer.fit(log=lambda _: None)
    assert report["steps"] == 50 and report["skipped_steps"] == 0
    assert report["final_test_bits_per_dim"] < before - 0.5, (before, report)
    assert trainer.evaluate() == report["final_test_bits_per_dim"]  # fixed noise seeds


def test_nan_batch_is_skipped_and_leaves_weights_unchanged(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.restore_or_initialize()
    before = _weights(trainer)
    x = np.full((16, 8, 8, 1), 0.5, np.float32)
    x[3, 2, 2, 0] = np.nan
    _, _, ok = trainer._train_step(tf.constant(x))
    assert not bool(ok)
    assert int(trainer.skipped.numpy()) == 1 and int(trainer.bad_in_a_row.numpy()) == 1
    assert int(trainer.step.numpy()) == 1 and int(trainer.optimizer.iterations) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(trainer)))


def test_repeated_non_finite_steps_stop_with_clear_error(tmp_path):
    trainer = _trainer(tmp_path, max_bad_steps=3, train_steps=100)
    nan_batches = iter(lambda: tf.fill((16, 8, 8, 1), np.nan), None)
    trainer._batches = lambda: nan_batches
    messages = []
    with pytest.raises(TrainingError, match="3 non-finite steps in a row.*--lr"):
        trainer.fit(log=messages.append)
    assert sum("step skipped" in m for m in messages) == 3


def test_resumed_run_continues_the_same_steps(tmp_path):
    whole = _trainer(tmp_path, "whole", train_steps=20)
    whole_report = whole.fit(log=lambda _: None)
    first = _trainer(tmp_path, "split", train_steps=10)
    first.fit(log=lambda _: None)
    second = _trainer(tmp_path, "split", train_steps=20)
    messages = []
    report = second.fit(log=messages.append)
    assert "resumed" in messages[0] and "step 10" in messages[0]
    # the report's curve spans both runs, as if the run had never stopped
    assert [c["step"] for c in report["curve"]] == [10, 20]
    np.testing.assert_allclose([c["train_bpd"] for c in report["curve"]],
                               [c["train_bpd"] for c in whole_report["curve"]], rtol=1e-4)
    assert report["steps_this_run"] == 10 and report["train_seconds"] > 0
    assert report["train_cpu_seconds"] > 0  # both sittings' steps, from the scalars
    assert int(second.step.numpy()) == 20 and int(second.optimizer.iterations) == 20
    for a, b in zip(_weights(whole), _weights(second)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_same_seed_gives_the_same_run(tmp_path):
    first, second = _trainer(tmp_path, "a", train_steps=5), _trainer(tmp_path, "b",
                                                                     train_steps=5)
    first.fit(log=lambda _: None)
    second.fit(log=lambda _: None)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(first), _weights(second)))


def test_corrupt_checkpoint_is_reported(tmp_path):
    _trainer(tmp_path, train_steps=10).fit(log=lambda _: None)
    ckpt_dir = tmp_path / "run" / "checkpoints"
    for name in os.listdir(ckpt_dir):
        if ".data-" in name:
            (ckpt_dir / name).write_bytes(b"\0" * 10)
    with pytest.raises(TrainingError, match="cannot be restored.*delete"):
        _trainer(tmp_path, train_steps=20).restore_or_initialize()


def test_changed_settings_refuse_to_resume_but_a_longer_run_may(tmp_path):
    _trainer(tmp_path, train_steps=10).fit(log=lambda _: None)
    with pytest.raises(ConfigError, match="other settings \\(width: 16 -> 8\\)"):
        _trainer(tmp_path, train_steps=20, width=8)
    assert "at step 10" in _trainer(tmp_path, train_steps=20).restore_or_initialize()


def test_checkpoint_from_another_architecture_is_reported(tmp_path):
    _trainer(tmp_path, train_steps=10).fit(log=lambda _: None)
    os.remove(os.path.join(tmp_path, "run", "settings.json"))  # e.g. copied by hand
    with pytest.raises(TrainingError, match="another configuration"):
        _trainer(tmp_path, train_steps=20, width=8).restore_or_initialize()


@pytest.mark.parametrize("values, message", [
    ({"widht": 3}, "unknown key\\(s\\) widht"),
    ({"optimizer": "sgd"}, "adam or adamax"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"lr": "fast"}, "cannot read 'fast' as float"),
    ({"dataset": "imagenet"}, "Unknown dataset"),
])
def test_bad_configs_are_reported(values, message):
    with pytest.raises(TfaugError, match=message):
        cfglib.from_dict(FlowTrainConfig, values)


def test_presets_load_and_reject_unknown_keys(tmp_path):
    for name in ("fashion_mnist_glow", "cifar10_glow_paper", "cifar10_glow_cpu"):
        config = cfglib.load(FlowTrainConfig, name)
        assert config.levels >= 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"levels": 2, "depth": 4}')
    with pytest.raises(ConfigError, match="bad.json: unknown key\\(s\\) depth"):
        cfglib.load(FlowTrainConfig, str(bad))
    with pytest.raises(ConfigError, match="No preset 'nope'"):
        cfglib.load(FlowTrainConfig, "nope")
