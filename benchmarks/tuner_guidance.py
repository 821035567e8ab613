"""Did Keras Tuner's Bayesian search guide its trials, or draw them at random?

BayesianOptimization fits a Gaussian process (Matern 2.5, one length scale) to the
finished trials and takes the next trial where the upper confidence bound is best,
optimising it from 50 random restarts. When the fitted length scale falls to its lower
bound (1e-5), the process predicts the same mean and spread everywhere away from the
trials: every restart stays where it began and the first one wins, so that "guided"
trial is a random draw (and, from the same seed and number of dimensions, the same
draw in every search, and in each sitting of a resumed one: Keras Tuner draws the
restarts from a random state it never saves, so a search resumed between trials ran
the same trial again). This refits each guided trial's process exactly as the oracle
did (its own GP settings, alpha and seed from oracle.json, the trials before it) and
reports the length scale and whether the acquisition was flat over random points,
and the trials that repeat an earlier trial's values.
tfaug's searches now say so as they go (BayesianOracle logs such trials and keeps them
in oracle.json as `random_draws`; it draws restarts per trial and never repeats a
trial); this reads any search's records, older ones too.

  python benchmarks/tuner_guidance.py docs/tuning/semi docs/tuning/evidence
"""

import argparse
import glob
import json
import os
import warnings

import keras_tuner
from keras_tuner.src.engine import hyperparameters, trial as trial_module

from tfaug.tuning.search import FLAT, acquisition_spread


def oracle_holding(space, values, scores, seed, alpha=1e-4, kind=None, **kwargs):
    """A Bayesian oracle (Keras Tuner's, or `kind`) over `space` holding finished
    trials with these hyperparameter values and scores (to maximise)."""
    kind = kind or keras_tuner.oracles.BayesianOptimizationOracle
    oracle = kind(objective=keras_tuner.Objective("score", "max"),
                  max_trials=len(values) + 1,  # room for the next trial
                  seed=seed, alpha=alpha, **kwargs)
    oracle.hyperparameters = hyperparameters.HyperParameters.from_config(
        {"space": space, "values": {}})
    for i, (trial_values, score) in enumerate(zip(values, scores)):
        trial = trial_module.Trial(oracle.hyperparameters.copy(), trial_id=str(i),
                                   status=trial_module.TrialStatus.COMPLETED)
        trial.hyperparameters.values.update(trial_values)
        trial.score = score
        oracle.trials[str(i)] = trial
        oracle._record_values(trial)  # as the oracle records a trial it created
    return oracle


def fit_process(space, values, scores, seed, alpha):
    """Keras Tuner's GP fitted to trials (hyperparameter values, scores to maximise)
    as its oracle fits it, on the oracle's own vectors of them; returns (length
    scale, spread of its acquisition)."""
    oracle = oracle_holding(space, values, scores, seed, alpha)
    x, y = oracle._vectorize_trials()  # its non-fixed dimensions, scores negated
    with warnings.catch_warnings():  # the bound is what we report
        warnings.simplefilter("ignore")
        oracle.gpr.fit(x, y)
    return (float(oracle.gpr.kernel_.length_scale),
            acquisition_spread(oracle.gpr, oracle.beta, x.shape[1]))


def read_trials(search_dir):
    """The trial records of one search, in trial order."""
    trials = []
    for path in glob.glob(os.path.join(search_dir, "trial_*", "trial.json")):
        with open(path) as f:
            trials.append(json.load(f))
    return sorted(trials, key=lambda t: int(t["trial_id"]))


def search_guidance(search_dir, trials=None):
    """Per guided trial of one search: (trial number, length scale, flat?)."""
    with open(os.path.join(search_dir, "oracle.json")) as f:
        oracle = json.load(f)
    if "num_initial_points" not in oracle:
        return []  # not a Bayesian search
    trials = [t for t in (read_trials(search_dir) if trials is None else trials)
              if t.get("status") == "COMPLETED" and t.get("score") is not None]
    space = oracle["hyperparameters"]["space"]
    initial = oracle["num_initial_points"] or max(3 * len(space), 3)
    rows = []
    for k in range(initial, len(trials)):
        before = trials[:k]
        scale, spread = fit_process(
            space, [t["hyperparameters"]["values"] for t in before],
            [t["score"] for t in before], oracle["seed"], oracle["alpha"])
        rows.append((int(trials[k]["trial_id"]), scale, spread < FLAT))
    return rows


def repeated_trials(trials):
    """Trials whose values are an earlier trial's: (trial, earlier)."""
    first, repeats = {}, []
    for trial in trials:  # in trial order
        key = json.dumps(trial["hyperparameters"]["values"], sort_keys=True)
        if key in first:
            repeats.append((int(trial["trial_id"]), first[key]))
        first.setdefault(key, int(trial["trial_id"]))
    return repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", help="tuning record folders (searched for "
                        "*/search/oracle.json)")
    roots = parser.parse_args().roots
    guided = flat = trials = repeated = 0
    for root in roots:
        for oracle in sorted(glob.glob(os.path.join(root, "**", "search", "oracle.json"),
                                       recursive=True)):
            search = os.path.dirname(oracle)
            records = read_trials(search)
            rows, repeats = search_guidance(search, records), repeated_trials(records)
            trials += len(records)
            repeated += len(repeats)
            if not rows and not repeats:
                continue
            guided += len(rows)
            flat += sum(f for _, _, f in rows)
            cells = ", ".join(f"{n}: {s:.2g}{' flat' if f else ''}" for n, s, f in rows)
            cells += "".join(f"; trial {n} repeats trial {e}" for n, e in repeats)
            print(f"{os.path.relpath(os.path.dirname(search), root)} [{root}]  {cells}")
    print(f"{flat} of {guided} guided trials had a flat acquisition (a random draw); "
          f"{repeated} of {trials} trials repeated an earlier trial's values.")


if __name__ == "__main__":
    main()
