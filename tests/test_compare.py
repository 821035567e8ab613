"""benchmarks/compare.py: rows pair tfaug with flow-lp by round; medians and ranges."""

import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "compare.py")
_spec = importlib.util.spec_from_file_location("compare", _PATH)
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)


def _round(ours_train, peer_train):
    ours = {"flow": {"a": {"train step (batch 64)": ours_train}}, "augment": {}}
    peer = {"A": {"A1_train_b64": {"img_per_s": peer_train}}}
    return compare.table(ours, peer)


def test_ratio_is_paired_by_round_and_median_taken():
    rows = compare.rounds_table([_round(200, 100), _round(150, 100), _round(90, 60)])
    assert len(rows) == 1  # rows a file lacks are left out, not zero
    what, ours, peer, ratio, low, high = rows[0]
    assert what.startswith("Glow train step (a)")
    assert (ours, peer) == (150, 100)
    assert ratio == pytest.approx(1.5)  # median of 2.0, 1.5, 1.5
    assert (low, high) == (pytest.approx(1.5), pytest.approx(2.0))


def test_row_missing_in_one_round_is_dropped():
    partial = compare.table({"flow": {}, "augment": {}}, {"A": {}})
    assert compare.rounds_table([_round(200, 100), partial]) == []


def test_before_rows_pair_commits_by_round_and_skip_rows_one_lacks():
    now = [compare.flatten({"a": {"decode": 120.0}}, {"lenet": {"clean": 80.0,
                                                              "free": 50.0}}),
           compare.flatten({"a": {"decode": 90.0}}, {"lenet": {"clean": 60.0,
                                                             "free": 40.0}})]
    before = [compare.flatten({"a": {"decode": 100.0}}, {"lenet": {"clean": 100.0}}),
              compare.flatten({"a": {"decode": 100.0}}, {"lenet": {"clean": 50.0}})]
    rows = {key: rest for key, *rest in compare.before_table(now, before)}
    assert set(rows) == {("flow", "a", "decode"), ("augment", "lenet", "clean")}
    assert rows["flow", "a", "decode"] == [100.0, 105.0, pytest.approx(1.05), 0.9, 1.2]
    assert rows["augment", "lenet", "clean"][2:] == [pytest.approx(1.0), 0.8, 1.2]
