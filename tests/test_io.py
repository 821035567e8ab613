"""Atomic writes: complete or absent, and as readable as any other file."""

import os
import stat

import pytest

from tfaug import io


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
