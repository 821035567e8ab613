"""Atomic writes: complete or absent, and as readable as any other file; a run's
recorded settings guard its resumption."""

import dataclasses
import json
import os
import stat

import pytest

from tfaug import io
from tfaug.errors import ConfigError


def test_atomic_write_has_the_umask_permissions_of_a_plain_file(tmp_path):
    old = os.umask(0o022)
    try:
        io.write_json(str(tmp_path / "r.json"), {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == 0o644


def test_failed_atomic_write_leaves_nothing_behind(tmp_path):
    path = tmp_path / "r.json"
    io.write_json(str(path), {"a": 1})
    with pytest.raises(TypeError):
        io.write_atomic(str(path), "text, not bytes")  # fails mid-write
    assert sorted(os.listdir(tmp_path)) == ["r.json"]
    assert path.read_text().strip() == '{\n  "a": 1\n}'


@dataclasses.dataclass(frozen=True)
class _Run:
    lr: float = 0.1
    milestones: tuple = (0.3, 0.6)
    weights: str = "fresh"  # a setting added after the run below began


def test_a_run_resumes_only_with_its_settings_and_new_ones_at_their_default(tmp_path):
    out = str(tmp_path / "run")
    io.prepare_out_dir(out, _Run())
    path = tmp_path / "run" / "settings.json"
    recorded = json.loads(path.read_text())
    assert recorded == {"lr": 0.1, "milestones": [0.3, 0.6], "weights": "fresh"}
    del recorded["weights"]  # as an older tfaug wrote it
    path.write_text(json.dumps(recorded))
    io.prepare_out_dir(out, _Run())  # resumes
    path.write_text(json.dumps(recorded))
    with pytest.raises(ConfigError, match="weights: 'fresh' -> 'saved'"):
        io.prepare_out_dir(out, _Run(weights="saved"))
    with pytest.raises(ConfigError, match="lr: 0.1 -> 0.2"):
        io.prepare_out_dir(out, _Run(lr=0.2))
    io.prepare_out_dir(out, _Run(lr=0.2), may_change=("lr",))
