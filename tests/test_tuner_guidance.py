"""benchmarks/tuner_guidance.py and tfaug's BayesianOracle: a flat acquisition is one
where Keras Tuner's Bayesian oracle proposes its first random restart, i.e. a random
draw; tfaug's oracle names those trials, draws its restarts per trial (so a resumed
search proposes as an uninterrupted one) and never proposes a tried trial again."""

import importlib.util
import json
import os

import numpy as np
import pytest

from tfaug.tuning.search import BayesianOracle

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                     "tuner_guidance.py")
_spec = importlib.util.spec_from_file_location("tuner_guidance", _PATH)
guidance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guidance)

SPACE = [{"class_name": "Float", "config": {
             "name": "lr", "default": 0.005, "conditions": [], "min_value": 0.005,
             "max_value": 0.2, "step": None, "sampling": "log"}},
         {"class_name": "Float", "config": {
             "name": "weight", "default": 0.25, "conditions": [], "min_value": 0.25,
             "max_value": 4.0, "step": None, "sampling": "log"}},
         {"class_name": "Fixed", "config": {"name": "mu", "conditions": [], "value": 7}}]
VALUES = [{"lr": lr, "weight": w} for lr, w in
          ((0.005, 0.3), (0.01, 2.0), (0.02, 0.5), (0.04, 3.0), (0.08, 1.0))]
NOISY = [0.70, 0.74, 0.69, 0.73, 0.71]  # the GP fits a length scale of ~0.3
SMOOTH = [-np.log(v["lr"] / 0.03) ** 2 for v in VALUES]  # it collapses to 1e-5
SEED = 1000


def _oracle(scores, kind=None, **kwargs):
    """An oracle of `kind` holding the finished trials VALUES with these scores, the
    next trial its first guided one."""
    return guidance.oracle_holding(SPACE, VALUES, scores, SEED, kind=kind,
                                   num_initial_points=len(scores), **kwargs)


def _proposal_and_first_restart(scores):
    """The oracle's next proposal after these trials, and its first random restart."""
    oracle = _oracle(scores)
    state = oracle._random_state.get_state()
    bounds = oracle._get_hp_bounds()
    first = np.random.RandomState()
    first.set_state(state)
    first = first.uniform(bounds[:, 0], bounds[:, 1], size=(50, len(bounds)))[0]
    proposal = oracle.populate_space("next")["values"]
    return proposal, oracle._vector_to_values(first)


@pytest.mark.parametrize("scores, flat", [(SMOOTH, True), (NOISY, False)])
def test_flat_verdict_is_the_oracle_proposing_its_first_restart(scores, flat):
    scale, spread = guidance.fit_process(SPACE, VALUES, scores, SEED, 1e-4)
    assert (spread < guidance.FLAT) == flat
    assert (scale < 1e-4) == flat
    proposal, first = _proposal_and_first_restart(scores)
    same = all(proposal[k] == pytest.approx(first[k]) for k in first)
    assert same == flat


def test_search_guidance_reads_records_and_skips_random_trials(tmp_path):
    search = tmp_path / "search"
    search.mkdir()
    (search / "oracle.json").write_text(json.dumps({
        "hyperparameters": {"space": SPACE, "values": {}}, "num_initial_points": 3,
        "seed": SEED, "alpha": 1e-4}))
    for i, (values, score) in enumerate(zip(VALUES, NOISY)):
        (search / f"trial_{i}").mkdir()
        (search / f"trial_{i}" / "trial.json").write_text(json.dumps({
            "trial_id": str(i), "status": "COMPLETED", "score": score,
            "hyperparameters": {"space": SPACE, "values": values}}))
    rows = guidance.search_guidance(str(search))
    assert [n for n, _, _ in rows] == [3, 4]  # trials 0-2 were the random starts
    assert rows[1][1] == pytest.approx(guidance.fit_process(
        SPACE, VALUES[:4], NOISY[:4], SEED, 1e-4)[0])


def test_fixed_value_is_not_a_dimension_of_the_fit():
    free = [hp for hp in SPACE if hp["class_name"] != "Fixed"]
    assert len(free) < len(SPACE)
    for scores in (SMOOTH, NOISY):
        assert guidance.fit_process(SPACE, VALUES, scores, SEED, 1e-4) == \
            guidance.fit_process(free, VALUES, scores, SEED, 1e-4)


@pytest.mark.parametrize("scores, flat", [(SMOOTH, True), (NOISY, False)])
def test_tfaug_oracle_guides_as_keras_tuner_and_names_its_random_draws(scores, flat):
    logged = []
    ours = _oracle(scores, BayesianOracle, log=logged.append)
    proposal = ours.populate_space("next")["values"]
    theirs = _oracle(scores).populate_space("next")["values"]
    if not flat:  # the same optimum of the acquisition, from other restarts
        assert proposal == pytest.approx(theirs, rel=1e-3)
    assert ours.random_draws == (["next"] if flat else [])
    assert bool(logged) == flat and (not flat or "random draw" in logged[0])
    again = _oracle([], BayesianOracle)
    again.set_state(ours.get_state())  # a resumed search keeps the record
    assert again.random_draws == ours.random_draws


def test_resumed_search_proposes_as_an_uninterrupted_one():
    """Keras Tuner's restarts come from a random state made with the oracle: a fresh
    sitting's first flat proposal is the point the sitting before proposed first, so
    a search resumed once per trial ran one trial over and over
    (docs/study_evidence/README.md)."""
    def first_of_a_sitting(kind, trial_id):
        return _oracle(SMOOTH, kind).populate_space(trial_id)["values"]

    assert first_of_a_sitting(None, "5") == first_of_a_sitting(None, "6")  # the bug
    assert first_of_a_sitting(BayesianOracle, "5") != \
        first_of_a_sitting(BayesianOracle, "6")
    going = _oracle(SMOOTH, BayesianOracle)
    going.populate_space("5")  # the same sitting proposed trial 5 first
    assert going.populate_space("6")["values"] == \
        first_of_a_sitting(BayesianOracle, "6")


THRESHOLD = [{"class_name": "Choice", "config": {
    "name": "threshold", "default": 0.8, "conditions": [], "values": [0.8, 0.9, 0.95],
    "ordered": True}}]


@pytest.mark.parametrize("seed", range(1000, 1006))
def test_tfaug_oracle_never_proposes_a_trial_again(seed):
    tried = [{"threshold": 0.8}, {"threshold": 0.9}]
    theirs = guidance.oracle_holding(THRESHOLD, tried, [0.70, 0.74], seed,
                                     num_initial_points=2)
    ours = guidance.oracle_holding(THRESHOLD, tried, [0.70, 0.74], seed,
                                   kind=BayesianOracle, num_initial_points=2)
    assert theirs.populate_space("2")["values"] in tried  # Keras Tuner repeats one
    assert ours.populate_space("2") == {"status": "RUNNING",
                                        "values": {"threshold": 0.95}}


def test_tfaug_oracle_stops_when_every_value_was_tried():
    logged = []
    ours = guidance.oracle_holding(
        THRESHOLD, [{"threshold": v} for v in (0.8, 0.9, 0.95)], [0.70, 0.74, 0.72],
        SEED, kind=BayesianOracle, log=logged.append, num_initial_points=2)
    assert ours.populate_space("3")["status"] == "STOPPED"
    assert ours.random_draws == [] and "every value" in logged[0]


def test_tfaug_oracle_names_no_random_start_as_a_draw():
    ours = _oracle(NOISY[:2], BayesianOracle)
    ours.num_initial_points = 3  # the next trial is one of the random starts
    assert ours.populate_space("next")["status"] == "RUNNING"
    assert ours.random_draws == []
