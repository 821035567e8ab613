"""The low-data study: end to end on generated data, resumable, reports from CSV."""

import csv
import dataclasses
import json
import os
import re

import numpy as np
import pytest

from conftest import make_mnist_dir, save_tiny_flow
from tfaug import config as cfglib
from tfaug import study
from tfaug.errors import ConfigError


def _config(tmp_path, **overrides):
    values = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=120, n_test=30),
                  flow=save_tiny_flow(tmp_path / "flow"), budgets=(2, 4),
                  methods=("none", "latent_random(eps=0.5)"), seeds=(1,),
                  val_per_class=2, model_width=0.25, epochs=1, steps_per_epoch=2,
                  batch_size=8, jit=False)
    return cfglib.from_dict(study.StudyConfig, {**values, **overrides})


def _table_cells(report_md):
    """{(method, column): mean} from the first table of report.md."""
    lines = report_md.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("| method"))
    cells = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        parts = [p.strip() for p in line.strip("|").split("|")]
        for j, cell in enumerate(parts[1:]):
            cells[(parts[0], j)] = float(re.match(r"([\d.]+) ±", cell).group(1))
    return cells


def test_tiny_study_writes_all_outputs_and_rerun_skips_finished_runs(tmp_path,
                                                                     monkeypatch):
    config, out = _config(tmp_path), str(tmp_path / "study")
    rows = study.run_study(config, out, log=lambda _: None)
    assert sorted((r["labels_per_class"], r["method"]) for r in rows) == [
        (2, "latent_random"), (2, "none"), (4, "latent_random"), (4, "none")]
    assert all(r["train_size"] == 10 * r["labels_per_class"] for r in rows)
    assert all(r["optimizer_steps"] == 2 for r in rows)
    assert all(np.isfinite(r["val_loss"]) and r["diverged"] == 0 for r in rows)
    for name in ("results.csv", "results.json", "report.md", "accuracy.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "accuracy.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    reports = [os.path.join(study.run_dir(out, run), "report.json")
               for run in config.grid()]
    stamps = [os.path.getmtime(p) for p in reports]
    messages, written = [], []
    from tfaug.study import runner
    write = runner.write_outputs
    monkeypatch.setattr(runner, "write_outputs", lambda *a: written.append(1) or write(*a))
    again = study.run_study(config, out, log=messages.append)
    assert sum("skipped" in m for m in messages) == 4
    assert len(written) == 1  # nothing new: the outputs are written once, not per run
    assert [os.path.getmtime(p) for p in reports] == stamps
    assert sorted(map(str, again)) == sorted(map(str, rows))


def test_corrupt_result_is_reported_and_run_again(tmp_path):
    config, out = _config(tmp_path, budgets=(2,), methods=("none",)), str(
        tmp_path / "study")
    study.run_study(config, out, log=lambda _: None)
    run = study.Run(2, "none", 0)
    directory = study.run_dir(out, run)
    steps = study.runner.finished_row(directory, run, print)["steps"]
    assert study.runner.finished_row(directory, run, print, steps)["steps"] == steps
    with pytest.raises(ConfigError, match=f"holds a run of {steps} steps.*move that"):
        study.runner.finished_row(directory, run, print, steps + 1)  # stale timings
    path = os.path.join(directory, "report.json")
    with open(path, "w") as f:
        f.write('{"config": {"labels_per_')
    messages = []
    rows = study.run_study(config, out, log=messages.append)
    assert any("corrupt result" in m and path in m for m in messages)
    assert os.path.exists(path + ".corrupt") and len(rows) == 1
    assert not any("skipped" in m for m in messages)


def test_vaegan_methods_run_beside_the_flows_with_the_same_protocol(tmp_path):
    from tfaug.models import vaegan
    vaegan_dir = str(tmp_path / "vaegan")
    vaegan.save(vaegan.VAEGAN(vaegan.VAEGANConfig(latent_dim=3, width=4)), vaegan_dir)
    config, out = _config(tmp_path, budgets=(2,), vaegan=vaegan_dir, methods=(
        "latent_adversarial", "vaegan_adversarial",
        "reconstruction: vaegan_random(eps=0,ratio=0.5)")), str(tmp_path / "study")
    rows = study.run_study(config, out, log=lambda _: None)
    assert [r["method"] for r in rows] == ["latent_adversarial", "vaegan_adversarial",
                                           "reconstruction"]
    reports = {m: json.load(open(os.path.join(study.run_dir(out, study.Run(2, m, 0)),
                                              "report.json")))
               for m in ("latent_adversarial", "vaegan_adversarial", "reconstruction")}
    assert reports["reconstruction"]["config"]["augmentation"] == \
        "vaegan_random(eps=0,ratio=0.5)"
    assert "LatentAdversarial" in reports["vaegan_adversarial"]["augmentation"]
    same = {k: v for k, v in reports["latent_adversarial"]["config"].items()
            if k != "augmentation"}
    assert same == {k: v for k, v in reports["vaegan_adversarial"]["config"].items()
                    if k != "augmentation"}
    with open(os.path.join(out, "report.md")) as f:
        assert "| vaegan_adversarial |" in f.read()


def _fake_rows(config, budgets=(10, 50), seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    return [{"labels_per_class": b, "method": m, "variant": "", "seed": s,
             "model": "small_cnn", "model_width": 1.0, "augmentation": m, "lr": 0.02,
             "steps": 40, "val_accuracy": float(rng.uniform(0.5, 0.9)),
             "test_accuracy": float(rng.uniform(0.5, 0.9)),
             "val_last_quarter_gain": 0.001, "train_seconds": 2.0, "wall_time_s": 3.0,
             "train_size": 10 * b, "optimizer_steps": 40}
            for b in budgets for m in config.methods for s in range(seeds)]


def _per_seed(rows, **columns):
    """rows with each named column set from {method: (value of seed 0, 1, ...)}."""
    return [{**r, **{c: values[r["method"]][r["seed"]] for c, values in columns.items()}}
            for r in rows]


def test_capacity_and_matched_compute_runs_follow_the_main_grid(tmp_path):
    config = _config(tmp_path, methods=("none", "standard", "latent_random",
                                        "latent_adversarial"),
                     budgets=(10, 50), seeds=(3,), epochs=4, steps_per_epoch=None,
                     steps_by_budget=(40, 80), capacity_model="small_cnn",
                     capacity_width=4.0, capacity_budgets=(10,), capacity_seeds=2,
                     matched_compute=True)
    rows = _fake_rows(config)
    best = {10: "latent_adversarial", 50: "latent_random"}
    seconds = {(10, "latent_adversarial"): 5.0, (50, "latent_random"): 3.0}
    for r in rows:
        b, m = r["labels_per_class"], r["method"]
        r["val_accuracy"] = 0.9 if best[b] == m else 0.6
        r["train_seconds"] = seconds.get((b, m), 2.0)
    extra = study.runner.extra_runs(config, rows)
    capacity = sorted((r.method, r.seed) for r, _ in extra if r.variant == "capacity")
    assert capacity == [(m, s) for m in ("latent_adversarial", "none", "standard")
                        for s in (0, 1)]
    assert all(r.budget == 10 and steps is None for r, steps in extra
               if r.variant == "capacity")
    matched = {(r.budget, r.seed): steps for r, steps in extra
               if r.variant == "matched compute"}
    assert all(r.method == "none" for r, _ in extra if r.variant == "matched compute")
    # none trained for as long as the best latent method took: 2.5x and 1.5x the
    # steps, whole epochs, when none's seconds per step are all it has
    assert matched == {**{(10, s): 100 for s in range(3)},
                       **{(50, s): 120 for s in range(3)}}
    # with its compiled step time (0.01 s: 0.4 of its 2 s at 10 is fixed cost), the
    # extra 3 s at 10 buy 300 steps and the extra 1 s at 50 buy 100
    for r in rows:
        r["step_seconds"] = 0.01 if r["method"] == "none" else float("nan")
    assert {r.budget: steps for r, steps in study.runner.extra_runs(config, rows)
            if r.variant == "matched compute"} == {10: 340, 50: 180}


def test_report_sets_matched_compute_none_against_the_best_latent_method(tmp_path):
    config = _config(tmp_path, methods=("none", "latent_random", "latent_adversarial"),
                     budgets=(10,), seeds=(3,), matched_compute=True)
    rows = _fake_rows(config, budgets=(10,))
    for r in rows:  # latent_adversarial is best by validation
        r["val_accuracy"] = 0.9 if r["method"] == "latent_adversarial" else 0.6
    matched = [{**r, "variant": "matched compute", "steps": 100, "train_seconds": 7.0,
                "test_accuracy": r["test_accuracy"] + 0.01 * (1 + r["seed"])}
               for r in rows if r["method"] == "none"]
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows + matched, config)
    report = open(os.path.join(out, "report.md")).read()
    by = lambda rs, m: {r["seed"]: r["test_accuracy"] for r in rs  # noqa: E731
                        if r["method"] == m}
    d = np.array([by(rows, "latent_adversarial")[s] - by(matched, "none")[s]
                  for s in range(3)])
    half = 4.302653 * d.std(ddof=1) / np.sqrt(3)  # t(0.975, 2 degrees of freedom)
    line = next(l for l in report.splitlines() if l.startswith("| 10 | "))
    assert "100, 7 s: +2.00 [-0.48, +4.48]" in line  # +1, +2, +3 points over none
    assert (f"| latent_adversarial: {100 * d.mean():+.2f} [{100 * (d.mean() - half):+.2f}, "
            f"{100 * (d.mean() + half):+.2f}]") in line


def test_the_report_names_diverged_runs(tmp_path):
    config = _config(tmp_path, methods=("none", "standard"), budgets=(10,), seeds=(3,))
    rows = [{**r, "val_loss": 0.5 + r["seed"], "diverged": 0}
            for r in _fake_rows(config, budgets=(10,))]
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows, config)
    report = open(os.path.join(out, "report.md")).read()
    assert "No run diverged (final validation loss over ten times a uniform guess's): " \
           "the largest is 2.5." in report and "without a validation loss" not in report
    rows[0]["val_loss"] = float("nan")  # a row from before the check
    study.write_outputs(out, rows, config)
    report = open(os.path.join(out, "report.md")).read()
    assert "the largest is 2.5. Runs without a validation loss on record: 1." in report
    rows[4].update(val_loss=float("nan"), diverged=1)  # standard, seed 1
    study.write_outputs(out, rows, config)
    report = open(os.path.join(out, "report.md")).read()
    assert "No run diverged" not in report
    assert "standard at 10 seed 1 (loss nan)." in report


def test_a_row_from_before_reports_had_val_loss_reads_the_last_epoch(tmp_path):
    config = _config(tmp_path, budgets=(2,), methods=("none",))
    out = str(tmp_path / "study")
    study.run_study(config, out, log=lambda _: None)
    run = study.Run(2, "none", 0)
    path = os.path.join(study.run_dir(out, run), "report.json")
    report = json.load(open(path))
    assert study.runner.row(report, run)["val_loss"] == pytest.approx(
        report["history"]["val_loss"][-1], rel=1e-4)  # the same weights, evaluated
    del report["val_loss"], report["diverged"]
    report["history"]["val_loss"][-1] = 1e3  # over 10 ln 10
    assert study.runner.row(report, run)["val_loss"] == 1e3
    assert study.runner.row(report, run)["diverged"] == 1


def test_report_numbers_are_recomputed_from_the_csv(tmp_path):
    config = _config(tmp_path, methods=("none", "standard", "latent_random"),
                     budgets=(10, 50), seeds=(3,))
    rows = _fake_rows(config)
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows, config)
    report = open(os.path.join(out, "report.md")).read()
    cells = _table_cells(report)
    with open(os.path.join(out, "results.csv"), newline="") as f:
        csv_rows = list(csv.DictReader(f))
    for m in config.methods:
        for j, b in enumerate((10, 50)):
            accs = [float(r["test_accuracy"]) for r in csv_rows
                    if r["method"] == m and int(r["labels_per_class"]) == b]
            assert cells[(m, j)] == pytest.approx(100 * np.mean(accs), abs=0.006)
    # the paired difference to none at 50, per seed, with its t interval
    by = lambda m: {r["seed"]: r["test_accuracy"] for r in rows
                    if r["method"] == m and r["labels_per_class"] == 50}
    d = np.array([by("latent_random")[s] - by("none")[s] for s in range(3)])
    half = 4.302653 * d.std(ddof=1) / np.sqrt(3)  # t(0.975, 2 degrees of freedom)
    expected = (f"{100 * d.mean():+.2f} [{100 * (d.mean() - half):+.2f}, "
                f"{100 * (d.mean() + half):+.2f}]")
    paired_section = report.split("## Paired difference to `none`")[1].split("##")[0]
    assert re.search(r"\| latent_random \| [^|]+ \| " + re.escape(expected),
                     paired_section), paired_section
    assert os.path.getsize(os.path.join(out, "cost.png")) > 0
    # edit the CSV: a report rebuilt from it follows the edit
    for r in csv_rows:
        r["test_accuracy"] = "0.25"
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, study.COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows)
    rebuilt = study.markdown_report(study.read_rows(os.path.join(out, "results.csv")),
                                    config)
    assert set(_table_cells(rebuilt).values()) == {25.0}


def test_cost_table_gives_ratios_to_none_and_the_flows_share(tmp_path):
    config = _config(tmp_path, methods=("none", "latent_random"), budgets=(10,),
                     seeds=(3,))
    # the machine's speed changes between seeds: none takes 2, 8, 4 s, the method
    # 6, 8, 12 s; per seed 3x, 1x, 3x (geometric mean 2.08x), the ratio of means 26/14
    seconds = {"none": (2.0, 8.0, 4.0), "latent_random": (6.0, 8.0, 12.0)}
    rows = _per_seed(_fake_rows(config, budgets=(10,)), train_seconds=seconds)
    report = study.markdown_report(rows, config)
    assert "| none | 5 |" in report and "| latent_random | 9 (2.08x [0.43, 10.05]) |" in report
    one_seed = study.markdown_report([r for r in rows if r["seed"] == 0], config)
    assert "| latent_random | 6 (3.00x) |" in one_seed
    assert "trained for" not in report  # the flow's export says nothing of its time
    with open(os.path.join(config.flow, "report.json"), "w") as f:
        json.dump({"train_seconds": 600.0, "steps": 100}, f)
    report = study.markdown_report(rows, config)
    assert "trained for 600 s (10 min, 100 steps) once" in report
    assert "Amortised over the 3 runs of this study that use it, that is 200 s" in report
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows, config)
    assert os.path.getsize(os.path.join(out, "cost.png")) > 0


def test_cost_table_measures_cpu_seconds_when_every_run_recorded_them(tmp_path):
    config = _config(tmp_path, methods=("none", "latent_random"), budgets=(10,),
                     seeds=(3,))
    # wall clock swayed by other processes on the cores; the CPU seconds (the work)
    # are 4, 4, 4 for none and 8, 8, 8 for the method: 2x on every seed
    wall = {"none": (2.0, 8.0, 4.0), "latent_random": (6.0, 8.0, 12.0)}
    cpu = {"none": (4.0, 4.0, 4.0), "latent_random": (8.0, 8.0, 8.0)}
    rows = _per_seed(_fake_rows(config, budgets=(10,)), train_seconds=wall,
                     cpu_seconds=cpu)
    with open(os.path.join(config.flow, "report.json"), "w") as f:
        json.dump({"train_seconds": 600.0, "steps": 100}, f)
    report = study.markdown_report(rows, config)
    assert "CPU seconds per run" in report
    assert "| none | 4 |" in report and "| latent_random | 8 (2.00x [2.00, 2.00]) |" \
        in report
    assert "trained for 600 s of wall clock once" in report  # not added to CPU time
    with open(os.path.join(config.flow, "report.json"), "w") as f:
        json.dump({"train_seconds": 600.0, "train_cpu_seconds": 1080.0, "steps": 100}, f)
    report = study.markdown_report(rows, config)
    assert "trained for 1080 CPU seconds (18 min, 100 steps) once" in report
    assert "that is 360 CPU seconds per run" in report
    rows[0]["cpu_seconds"] = float("nan")  # one run from before CPU time was recorded
    report = study.markdown_report(rows, config)
    assert "Training seconds per run" in report and "CPU seconds per run" not in report
    assert "| latent_random | 9 (2.08x [0.43, 10.05]) |" in report
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows, config)
    read = {(r["method"], r["seed"]): r["cpu_seconds"]
            for r in study.read_rows(os.path.join(out, "results.csv"))}
    assert read[("latent_random", 2)] == 8.0 and np.isnan(read[("none", 0)])


def test_cost_ratios_come_from_one_sitting_when_the_runs_span_machines(tmp_path):
    from tfaug.study import one_sitting, report as study_report

    config = _config(tmp_path, methods=("none", "latent_random"), budgets=(10,),
                     seeds=(3,))
    # seed 1 of the method ran on a machine twice as fast: per run 2x, 1x, 2x
    cpu = {"none": (4.0, 4.0, 4.0), "latent_random": (8.0, 4.0, 8.0)}
    rows = _per_seed(_fake_rows(config, budgets=(10,)), cpu_seconds=cpu)
    timing = str(tmp_path / "one_sitting.json")
    # 40 optimizer steps a run: none 0.5 s a step (20 s), the method 1.5 s (60 s)
    one_sitting.write_timing(timing, "results.csv", {(10, "none"): 0.5,
                                                     (10, "latent_random"): 1.5}, rows)
    report = study.markdown_report(rows, dataclasses.replace(config, cost_timing=timing))
    assert "| none | 20 |" in report and "| latent_random | 60 (3.00x) |" in report
    assert "| latent_random | 7 |" in report  # per run, without a ratio across machines
    assert "| latent_random | 7 (" not in report
    timed_config = dataclasses.replace(config, cost_timing=timing)
    points = study_report.cost_points(rows, timed_config)[10]  # what cost.png plots
    seconds = {m: p[:2] for m, p in points.items()}
    assert seconds == {"none": (20.0, 0.0), "latent_random": (60.0, 0.0)}
    per_run = study_report.cost_points(rows, config)[10]["latent_random"]  # no sitting
    assert per_run[:2] == pytest.approx((20 / 3, np.std([8, 4, 8], ddof=1)))
    for entry, message in [({"augmentation": "latent_random(eps=3)"}, "timed as"),
                           ({"optimizer_steps": 80}, "for 80 steps"),
                           ({"step_seconds": "fast"}, "not a timing"),
                           ("{", "not a timing"), ("{}", "not a timing"),
                           (None, "no such file")]:
        data = json.load(open(timing))
        bad = str(tmp_path / ("bad.json" if entry else "missing.json"))
        if isinstance(entry, dict):
            data["rows"][0].update(entry)
            json.dump(data, open(bad, "w"))
        elif entry:  # cut short, or no rows
            open(bad, "w").write(entry)
        with pytest.raises(ConfigError, match=message) as e:
            study.markdown_report(rows, dataclasses.replace(config, cost_timing=bad))
        assert "semi_step.py --results" in str(e.value)


def test_reports_show_paths_from_the_root_of_the_checkout_that_holds_them(tmp_path):
    (tmp_path / "main" / ".git").mkdir(parents=True)  # a clone
    (tmp_path / "runner").mkdir()  # a worktree: .git is a file
    (tmp_path / "runner" / ".git").write_text("gitdir: ../main/.git/worktrees/runner\n")
    assert cfglib.shown(str(tmp_path / "main" / "docs" / "tuned.json")) == \
        os.path.join("docs", "tuned.json")
    assert cfglib.shown(str(tmp_path / "runner" / "flows" / "a")) == \
        os.path.join("flows", "a")
    outside = str(tmp_path / "elsewhere" / "tuned.json")
    assert cfglib.shown(outside) == outside


def test_frontier_places_each_method_by_paired_cost_ratio_and_gain(tmp_path):
    from conftest import run_script
    from tfaug.study.report import frontier_points

    config = _config(tmp_path, methods=("none", "latent_random"), budgets=(10,),
                     seeds=(3,))
    seconds = {"none": (2.0, 8.0, 4.0), "latent_random": (6.0, 8.0, 12.0)}
    accuracy = {"none": (0.70, 0.72, 0.71), "latent_random": (0.72, 0.73, 0.74)}
    rows = _per_seed(_fake_rows(config, budgets=(10,)), train_seconds=seconds,
                     test_accuracy=accuracy)
    (cost, gain), = frontier_points(rows).values()
    assert cost.mean == pytest.approx(3 ** (2 / 3)) and cost.n == 3
    assert gain.mean == pytest.approx(2.0) and gain.low < 2.0 < gain.high
    out = str(tmp_path / "out")
    os.makedirs(out)
    study.write_outputs(out, rows, config)
    png = str(tmp_path / "frontier.png")
    done = run_script("frontier.py", f"--study=a={out}/results.csv",
                      f"--study=b={out}/results.csv", f"--out={png}")
    assert done.returncode == 0, done.stderr
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    table = open(str(tmp_path / "frontier.md")).read()
    assert "| 10 | latent_random (a) | 2.08 [0.43, 10.05] | +2.00 [" in table
    assert table in done.stdout
    for arg, message in [("--study=nolabel", "write LABEL=PATH"),
                         (f"--study=a={out}/missing.csv", "no file")]:
        done = run_script("frontier.py", arg, f"--out={png}")
        assert done.returncode == 2 and message in done.stderr
        assert "Traceback" not in done.stderr


def test_readme_tables_are_rewritten_between_their_markers(tmp_path):
    from tfaug.study.report import update_readme
    config = _config(tmp_path, methods=("none", "latent_random"), budgets=(10, 50),
                     seeds=(3,))
    rows = _fake_rows(config)
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nIntro.\n", "\nMore text.\n"
    readme.write_text(f"{before}<!-- study:s begin -->\nold table\n"
                      f"<!-- study:s end -->{after}")
    update_readme(str(readme), "s", rows, config)
    text = readme.read_text()
    assert text.startswith(before) and text.endswith(after) and "old table" not in text
    report = study.markdown_report(rows, config)
    assert _table_cells(text) == _table_cells(report)  # the report's numbers
    paired_line = next(line for line in report.splitlines()
                       if line.startswith("| latent_random | ") and "[" in line)
    assert paired_line in text
    update_readme(str(readme), "s", rows, config)
    assert readme.read_text() == text  # idempotent
    with pytest.raises(ConfigError, match="study:other begin"):
        update_readme(str(readme), "other", rows, config)


def test_a_method_of_some_budgets_runs_and_is_tuned_at_those_only(tmp_path):
    from tfaug.tuning import MethodsTuningConfig
    config = _config(tmp_path, method_budgets={"latent_random": [4]}, seeds=(2,))
    assert sorted(config.grid()) == sorted(
        study.Run(b, m, s) for s in (0, 1) for b, m in
        ((2, "none"), (4, "none"), (4, "latent_random")))
    tuning = cfglib.from_dict(MethodsTuningConfig, dict(
        budgets=(2, 4), methods=("standard", "lever: latent_random"),
        method_budgets={"lever": [2]})).validate()
    assert tuning.searches() == [(2, "standard", "standard"),
                                 (2, "lever", "latent_random"),
                                 (4, "standard", "standard")]


def test_a_method_of_its_own_schedule_trains_and_is_tuned_at_its_steps(tmp_path):
    from tfaug.tuning import MethodsTuningConfig
    config = _config(tmp_path, epochs=3, steps_by_budget=(3, 3),
                     method_steps={"latent_random": [6, 9]})
    rows = study.run_study(config, str(tmp_path / "study"), log=lambda _: None)
    steps = {(r["labels_per_class"], r["method"]): r["optimizer_steps"] for r in rows}
    assert steps == {(2, "none"): 3, (4, "none"): 3, (2, "latent_random"): 6,
                     (4, "latent_random"): 9}
    report = (tmp_path / "study" / "report.md").read_text()
    assert "3 at 2, 3 at 4 (latent_random: 6 at 2, 9 at 4)" in report
    assert re.search(r"\| latent_random: 4 \| 9 \| [+-]\d", report)  # its convergence
    convergence = report.split("## Convergence of `none`")[1].split("\n## ")[0]
    assert "schedules of their own" in convergence  # in its section, not the next
    tuning = cfglib.from_dict(MethodsTuningConfig, dict(
        budgets=(2, 4), epochs=1, steps_by_budget=(2, 2),
        methods=("standard", "lever: latent_random"), method_steps={"lever": [3, 5]}))
    search = lambda label: tuning.validate().search(4, "latent_random", {}, label)
    assert search("lever").steps_per_epoch == 5 and search("standard").steps_per_epoch == 2


def test_the_report_groups_methods_on_the_same_schedule_of_their_own(tmp_path):
    config = _config(tmp_path, steps_by_budget=(3, 5), methods=(
        "none", "a: latent_random(eps=0.5)", "b: latent_random(eps=1)",
        "c: latent_random(eps=2)"), method_steps={"a": [6, 9], "b": [4, 4],
                                                  "c": [6, 9]}).validate()
    assert study.report._schedules(config) == ("3 at 2, 5 at 4 (a and c: 6 at 2, 9 at 4; "
                                               "b: 4 at 2, 4 at 4)")
    assert study.report._schedules(_config(tmp_path, steps_by_budget=(3, 5))
                                   .validate()) == "3 at 2, 5 at 4"


@pytest.mark.parametrize("overrides, message", [
    (dict(labels_per_class=5), "do not set labels_per_class"),
    (dict(methods=("none", "sharpen")), "sharpen"),
    (dict(methods=("none", "none")), "distinct labels"),
    (dict(methods=("latent_random(eps=1)", "latent_random(eps=2)")), "distinct labels"),
    (dict(budgets=(0, 10)), "budgets"),
    (dict(seeds=(0,)), "seeds"),
    (dict(seeds=(3, 3, 3)), "one per budget"),
    (dict(steps_by_budget=(10,)), "one entry per budget"),
    (dict(method_budgets={"latent_random": [3]}), "must each list some of budgets"),
    (dict(method_budgets={"lever": [2]}), "method_steps name methods not in the"),
    (dict(steps_by_budget=(2, 2), method_steps={"lever": [4, 4]}),
     "method_steps name methods not in the study"),
    (dict(steps_by_budget=(2, 2), method_steps={"latent_random": [4]}),
     r"method_steps\['latent_random'\] needs one entry per budget"),
    (dict(method_steps={"latent_random": [4, 4]}), "needs steps_by_budget"),
])
def test_bad_study_configs_are_reported(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **overrides)


def test_a_dataset_without_a_shipped_flow_gets_one_trained_first(tmp_path):
    preset = tmp_path / "tiny_glow.json"
    preset.write_text('{"levels": 2, "steps_per_level": 1, "width": 4, '
                      '"batch_size": 8, "train_steps": 3, "eval_every": 1000, '
                      '"checkpoint_every": 1000, "eval_examples": 8, "jit": false}')
    config = _config(tmp_path, flow=None, flow_preset=str(preset), budgets=(2,),
                     methods=("latent_random",))
    assert config.flow is None
    messages = []
    study.run_study(config, str(tmp_path / "study"), log=messages.append)
    assert any("No flow ships for mnist: training one first" in m for m in messages)
    assert os.path.exists(tmp_path / "study" / "flow" / "export" / "glow.json")
    messages.clear()
    study.run_study(config, str(tmp_path / "study"), log=messages.append)
    assert not any("training one first" in m for m in messages)


def test_paired_interval_matches_a_hand_computed_example():
    from tfaug.study.stats import paired
    # differences 0.02, 0.04, 0.03, 0.05, 0.01: mean 0.03, sd 0.0158114,
    # t(0.975, 4) = 2.776445, half width 2.776445 * 0.0158114 / sqrt(5) = 0.0196324
    a = {0: 0.72, 1: 0.74, 2: 0.73, 3: 0.75, 4: 0.71, 9: 0.99}  # seed 9 has no pair
    b = {0: 0.70, 1: 0.70, 2: 0.70, 3: 0.70, 4: 0.70}
    d = paired(a, b)
    assert d.n == 5 and d.mean == pytest.approx(0.03)
    assert d.low == pytest.approx(0.03 - 0.0196324, abs=1e-6)
    assert d.high == pytest.approx(0.03 + 0.0196324, abs=1e-6)
    assert d.excludes_zero
    assert not paired({0: 0.7, 1: 0.8}, {0: 0.75, 1: 0.74}).excludes_zero


def test_plateau_check_flags_a_too_short_schedule():
    from tfaug.study.convergence import last_quarter
    steps = np.arange(1, 21) * 20
    rising = 0.5 + 0.3 * (1 - np.exp(-steps / 600))   # cut off while still learning
    flat = 0.8 - 0.3 * np.exp(-steps / 40)             # converged long before the end
    assert not last_quarter(steps, rising).plateaued()
    assert last_quarter(steps, rising).gain > 0.02
    assert last_quarter(steps, flat).plateaued()


def test_tuned_values_reach_the_study_exactly(tmp_path):
    """tune_methods -> tuned.json -> the study's runs use exactly those values."""
    from tfaug.tuning import MethodsTuningConfig, tune_methods
    common = dict(dataset="mnist", data_dir=make_mnist_dir(tmp_path / "data",
                                                           n_train=120, n_test=30),
                  flow=save_tiny_flow(tmp_path / "flow"), val_per_class=2,
                  model_width=0.25, epochs=1, batch_size=8, jit=False, budgets=(2,),
                  steps_by_budget=(2,))
    grid = [0.011, 0.023]  # none_lr: `none` at a learning rate of its own, every one
    tuning = cfglib.from_dict(MethodsTuningConfig, {
        **common, "methods": ("standard", "standard+latent_random", "none_lr: none"),
        "max_trials": 2, "tuner": "random", "seed": 7, "tuners": {"none_lr": "grid"},
        "spaces": {"standard+latent_random": {"latent_random.ratio": 1.0},
                   "none_lr": {"lr": grid}}})
    tuned = tune_methods(tuning, str(tmp_path / "tune"), log=lambda _: None)
    entry = tuned["budgets"]["2"]
    assert set(entry["methods"]) == {"none", "standard", "standard+latent_random",
                                     "none_lr"}
    searched = json.load(open(tmp_path / "tune" / "lpc2" / "none_lr" / "summary.json"))
    assert searched["tuner"] == "grid"
    assert sorted(t["values"]["lr"] for t in searched["trials"]) == grid
    assert entry["methods"]["none_lr"]["lr"] == searched["best"]["lr"] != entry["lr"]
    assert all("lr" not in entry["methods"][m] for m in ("none", "standard"))
    standard = entry["methods"]["standard"]["augmentation"]
    composed = entry["methods"]["standard+latent_random"]["augmentation"]
    assert composed.startswith(standard + "+latent_random(")  # own values carried over
    config = _config(tmp_path, **common, methods=(
        "none", "standard", "standard+latent_random", "none_lr: none",
        "slr_half: standard+latent_random(ratio=0.5)"),  # a tuned method, varied
                     tuned=str(tmp_path / "tune" / "tuned.json"))
    out = str(tmp_path / "study")
    study.run_study(config, out, log=lambda _: None)
    expected = {label: entry["methods"][label]["augmentation"]
                for label in ("none", "standard", "standard+latent_random", "none_lr")}
    trained = {}
    for label in (*expected, "slr_half"):
        report = json.load(open(os.path.join(study.run_dir(out, study.Run(2, label, 0)),
                                             "report.json")))
        trained[label] = report["config"]["augmentation"]
        assert report["config"]["lr"] == entry["methods"].get(label, {}).get(
            "lr", entry["lr"])
    own = f"(learning rates of their own: none_lr {entry['methods']['none_lr']['lr']:.3g}"
    assert own + " at 2)" in open(os.path.join(out, "report.md")).read()
    assert all(trained[label] == spec for label, spec in expected.items())
    from tfaug.augment import registry
    base, varied = registry.resolve(composed), registry.resolve(trained["slr_half"])
    assert base[0] == varied[0] and base[1].params["ratio"] == 1.0
    assert varied[1].params == {**base[1].params, "ratio": 0.5}
    with pytest.raises(ConfigError, match="other training settings .*batch_size"):
        study.run_study(dataclasses.replace(config, batch_size=4), out,
                        log=lambda _: None)
    # a tuning cut before its second budget: that budget's runs are refused, not
    # served the first budget's values
    from tfaug.tuning.methods import read_tuned
    assert tuned["planned_budgets"] == [2]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({**tuned, "planned_budgets": [2, 5]}))
    assert read_tuned(str(partial)).spec(4, "standard") == standard
    with pytest.raises(ConfigError, match="tuning at 5 per class, whose values serve "
                                          "9 per class, has not finished"):
        read_tuned(str(partial)).spec(9, "standard")


def test_a_study_goes_on_elsewhere_from_its_committed_results(tmp_path):
    config = _config(tmp_path)
    first = study.run_study(config, str(tmp_path / "a"), log=lambda _: None)
    committed = str(tmp_path / "a" / "results.json")
    with open(committed) as f:
        data = json.load(f)
    # one row's method values no longer match what this study would train
    stale = next(r for r in data["rows"] if r["method"] == "latent_random")
    stale["augmentation"] = "latent_random(eps=0.25)"
    del data["config"]["model_weights"]  # written before tfaug had it: the default
    with open(committed, "w") as f:
        json.dump(data, f)
    out, messages = str(tmp_path / "b"), []
    rows = study.run_study(config, out, log=messages.append, earlier=committed)
    assert sum("skipped" in m for m in messages) == 3
    trained = [run for run in config.grid()
               if os.path.exists(os.path.join(study.run_dir(out, run), "report.json"))]
    assert trained == [study.Run(stale["labels_per_class"], "latent_random", 0)]
    key = lambda r: (r["labels_per_class"], r["method"])  # noqa: E731
    assert {key(r): r["test_accuracy"] for r in rows} == {
        key(r): r["test_accuracy"] for r in first}
    with pytest.raises(ConfigError, match=r"other settings \(lr\)"):
        study.run_study(dataclasses.replace(config, lr=0.5), str(tmp_path / "c"),
                        earlier=committed)
    with pytest.raises(ConfigError, match="not a study's results.json"):
        study.run_study(config, str(tmp_path / "d"), earlier=str(tmp_path / "none.json"))
    assert set(data["inputs"]) == {"data", "flow"}  # what it was trained on, by digest
    with open(committed, "w") as f:  # e.g. committed from a machine with other images
        json.dump({**data, "inputs": {**data["inputs"], "data": "0" * 16}}, f)
    with pytest.raises(ConfigError, match="were trained on other inputs \\(the images "
                                          "or labels read differ\\), so they cannot"):
        study.run_study(config, str(tmp_path / "f"), earlier=committed)
    del data["rows"][0]["seed"]
    with open(committed, "w") as f:
        json.dump(data, f)
    with pytest.raises(ConfigError, match="row 0 is not a study's result row"):
        study.run_study(config, str(tmp_path / "e"), earlier=committed)


TINY_GLOW = ('{"levels": 2, "steps_per_level": 1, "width": 4, "batch_size": 8, '
             '"train_steps": 3, "eval_every": 1000, "checkpoint_every": 1000, '
             '"eval_examples": 8, "jit": false}')


def test_attribution_flows_see_only_their_images_by_index(tmp_path):
    from tfaug.data.subsets import split_indices
    from tfaug.study.flows import attribution_indices
    labels = np.repeat(np.arange(10), 12)
    config = _config(tmp_path, budgets=(2, 4), seeds=(3, 2), val_per_class=2)
    for seed in (0, 1, 2):
        train, val = split_indices(labels, 10, seed=seed, per_class=4, val_per_class=2)
        mine = attribution_indices("labelled", labels, 10, config, 4, seed)
        assert sorted(mine) == sorted({*train, *val}) and len(mine) == 60
    pool = attribution_indices("unlabelled", labels, 10, config, 2, 0)
    validation = {i for s in (0, 1, 2) for i in split_indices(
        labels, 10, seed=s, per_class=0, val_per_class=2)[1]}
    assert len(validation) > 20  # the seeds' validation splits differ
    assert set(pool) == set(range(120)) - validation


def test_attribution_runs_train_each_method_with_its_own_flows(tmp_path):
    preset = tmp_path / "tiny_glow.json"
    preset.write_text(TINY_GLOW)
    config = _config(tmp_path, budgets=(2,), seeds=(2,),
                     methods=("none", "latent_random(eps=0.5)"),
                     flow_data={"labelled": str(preset), "unlabelled": str(preset),
                                "short": f"all:{preset}"},
                     flow_data_methods=("latent_random",), flow_data_budgets=(2,))
    out = str(tmp_path / "study")
    from tfaug.study.flows import attribution_flow  # the pool's flow trained before
    attribution_flow(out, "unlabelled", config.load("train"), config.load("test"),
                     config, 2, 0, log=lambda _: None)
    lines = []
    rows = study.run_study(config, out, log=lines.append)
    # its runs come before the flows still to train
    first_flow = next(i for i, line in enumerate(lines) if "training a flow" in line)
    assert [line for line in lines[:first_flow] if "(unlabelled flow) seed=" in line
            and "test" in line] != []
    assert not any("(labelled flow)" in line for line in lines[:first_flow])
    flows_used = {}
    for variant, kind in (("labelled flow", "labelled"),
                          ("unlabelled flow", "unlabelled"), ("short flow", "short")):
        assert sorted(r["seed"] for r in rows if r["variant"] == variant) == [0, 1]
        for seed in (0, 1):
            report = json.load(open(os.path.join(study.run_dir(
                out, study.Run(2, "latent_random", seed, variant)), "report.json")))
            flows_used[kind, seed] = report["config"]["flow"]
            assert os.path.isfile(os.path.join(report["config"]["flow"], "glow.json"))
    assert flows_used["labelled", 0] != flows_used["labelled", 1]  # one per seed
    assert flows_used["unlabelled", 0] == flows_used["unlabelled", 1]  # one for all
    assert len(set(flows_used.values()) | {config.flow}) == 5
    assert flows_used["short", 0] == os.path.join(out, "flows", "short", "export")
    report = (tmp_path / "study" / "report.md").read_text()
    assert "| 2 | latent_random |" in report and "| labelled | 2 | " in report
    assert (tmp_path / "study" / "gain_vs_bits.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="must be 'images:preset' with images one of "
                                          "labelled, unlabelled, all"):
        _config(tmp_path, flow_data={"pool": str(preset)}, flow_data_budgets=(2,),
                flow_data_methods=("latent_random",))
    with pytest.raises(ConfigError, match="must be latent methods"):
        _config(tmp_path, flow_data={"labelled": str(preset)}, flow_data_budgets=(2,),
                flow_data_methods=("none",))


def test_while_another_process_trains_a_flow_the_runs_that_need_none_go_first(tmp_path):
    import fcntl
    import threading
    from tfaug.study.flows import attribution_dir
    preset = tmp_path / "tiny_glow.json"
    preset.write_text(TINY_GLOW)
    config = _config(tmp_path, budgets=(2,), seeds=(2,),
                     flow_data={"labelled": str(preset), "unlabelled": str(preset)},
                     flow_data_methods=("latent_random",), flow_data_budgets=(2,))
    out = str(tmp_path / "study")
    held = attribution_dir(out, "unlabelled", "unlabelled", 2, 0)
    os.makedirs(os.path.dirname(held))
    handle = open(held + ".lock", "a")
    fcntl.flock(handle, fcntl.LOCK_EX)  # as another process training that flow would
    let_go = threading.Timer(300, fcntl.flock, (handle, fcntl.LOCK_UN))
    let_go.start()  # (a study that only waits fails below, not hangs)
    lines = []

    def log(line):
        lines.append(line)
        if "(labelled flow) seed=1: test" in line:  # it went on meanwhile
            fcntl.flock(handle, fcntl.LOCK_UN)  # the other process ends, no flow made

    try:
        rows = study.run_study(config, out, log=log)
    finally:
        let_go.cancel()
        handle.close()
    trained_here = next(i for i, line in enumerate(lines)
                        if "training a flow" in line and line.endswith(held))
    labelled_runs = [i for i, line in enumerate(lines)
                     if "(labelled flow) seed=" in line and " s)" in line]
    assert len(labelled_runs) == 2 and max(labelled_runs) < trained_here
    assert sorted(r["seed"] for r in rows if r["variant"] == "unlabelled flow") == [0, 1]


def test_a_study_goes_on_from_its_published_record_without_training_again(tmp_path):
    preset = tmp_path / "tiny_glow.json"
    preset.write_text(TINY_GLOW)
    config = _config(tmp_path, budgets=(2,), seeds=(2,),
                     flow_data={"labelled": str(preset)},
                     flow_data_methods=("latent_random",), flow_data_budgets=(2,))
    record = tmp_path / "docs"
    first = study.run_study(config, str(tmp_path / "a"), log=lambda _: None,
                            publish_dir=str(record))
    unfinished = tmp_path / "a" / "runs" / "lpc2" / "none" / "seed9"
    unfinished.mkdir()
    (unfinished / "settings.json").write_text("{}")
    from tfaug.study import records
    records.publish(str(tmp_path / "a"), str(record))
    published = {str(p.relative_to(record)) for p in record.rglob("*") if p.is_file()}
    assert {"results.csv", "results.json", "report.md"} <= published
    assert not any(p.endswith(".weights.h5") or "tensorboard" in p for p in published)
    assert not any("seed9" in p for p in published)  # not finished: not a record
    exports = sorted(p for p in published if p.startswith("flows"))
    assert {os.path.basename(p) for p in exports} == {
        "glow.json", "report.json", "weights.index", "weights.data-00000-of-00001"}
    assert len(exports) == 2 * 4 and all("/export/" in p for p in exports)
    (record / "README.md").write_text("written by hand")
    messages = []  # elsewhere: a fresh out_dir, the same record
    again = study.run_study(config, str(tmp_path / "b"), log=messages.append,
                            publish_dir=str(record))
    assert not (tmp_path / "b" / "README.md").exists()
    assert (record / "README.md").read_text() == "written by hand"
    assert sum("skipped" in m for m in messages) == len(first) == 6
    assert not any("training a flow" in m for m in messages)
    key = lambda r: (r["variant"], r["method"], r["seed"])  # noqa: E731
    assert ({key(r): r["test_accuracy"] for r in again}
            == {key(r): r["test_accuracy"] for r in first})
    assert "inputs.json" in published  # so elsewhere, other images are refused:
    make_mnist_dir(config.data_dir, n_train=120, n_test=30, seed=1)
    with pytest.raises(ConfigError, match="images or labels read differ"):
        study.run_study(config, str(tmp_path / "c"), log=lambda _: None,
                        publish_dir=str(record))


def test_outputs_keep_the_finished_extra_runs_while_the_main_grid_runs_again(
        tmp_path, monkeypatch):
    preset = tmp_path / "tiny_glow.json"
    preset.write_text(TINY_GLOW)
    config = _config(tmp_path, budgets=(2,), seeds=(2,),
                     flow_data={"labelled": str(preset)},
                     flow_data_methods=("latent_random",), flow_data_budgets=(2,))
    out = str(tmp_path / "s")
    first = study.run_study(config, out, log=lambda _: None)
    attribution = sorted(r["seed"] for r in first if r["variant"])
    assert len(attribution) == 2
    main_run = next(run for run in config.grid() if run.method == "none")
    os.remove(os.path.join(study.run_dir(out, main_run), "report.json"))
    from tfaug.study import runner
    written, write = [], runner.write_outputs
    monkeypatch.setattr(runner, "write_outputs",
                        lambda d, rows, c: written.append(rows) or write(d, rows, c))
    study.run_study(config, out, log=lambda _: None)  # trains main_run again
    assert len(written) == 2  # after main_run, and at the end
    for rows in written:
        assert sorted(r["seed"] for r in rows if r["variant"]) == attribution


def test_holm_adjustment_matches_a_hand_computed_example():
    from tfaug.study.stats import holm
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    # ranked a, c, b: 3 x 0.01, max(0.03, 2 x 0.03), max(0.06, 1 x 0.04)
    assert adjusted["a"] == pytest.approx((0.03, 1 - 0.05 / 3))
    assert adjusted["c"] == pytest.approx((0.06, 1 - 0.05 / 2))
    assert adjusted["b"] == pytest.approx((0.06, 0.95))
    assert holm({"x": 0.6, "y": 0.7})["y"][0] == 1.0  # capped


def test_paired_p_is_the_paired_t_test():
    from scipy import stats as scipy_stats
    from tfaug.study.stats import paired_p
    a = {0: 0.71, 1: 0.74, 2: 0.69, 3: 0.75}
    b = {0: 0.70, 1: 0.71, 2: 0.69, 3: 0.72, 9: 0.5}  # seed 9 unpaired: left out
    expected = scipy_stats.ttest_rel([a[s] for s in range(4)], [b[s] for s in range(4)])
    assert paired_p(a, b) == pytest.approx(expected.pvalue)


def _rows(cells):
    """Result rows from {(method, variant): [test accuracy per seed]} at budget 10."""
    return [{"labels_per_class": 10, "method": m, "variant": v, "seed": s,
             "test_accuracy": acc} for (m, v), accs in cells.items()
            for s, acc in enumerate(accs)]


def test_capacity_lever_is_kept_only_where_its_validation_gain_beats_the_main_one():
    from tfaug.study import report
    rows = [{**r, "model": "resnet18", "model_width": 1.0,
             "val_accuracy": r["test_accuracy"] + 0.01 * (r["variant"] == "capacity")
             * (r["method"] == "sla")}
            for r in _rows({("none", ""): [0.70, 0.72, 0.71],  # main: +4, +4, +10
                            ("sla", ""): [0.74, 0.76, 0.81],
                            ("none", "capacity"): [0.66, 0.67],  # +4 test, +5 val
                            ("sla", "capacity"): [0.70, 0.71]})]
    line = next(line for line in report._capacity_section(rows)
                if line.startswith("| 10 | sla |"))
    assert line.endswith("| +5.00 vs +4.00 (2 seeds): kept |")  # same seeds 0, 1
    for r in rows:
        if r["variant"] == "capacity" and r["method"] == "sla":
            r["val_accuracy"] -= 0.02  # +3 on validation: below the main +4
    line = next(line for line in report._capacity_section(rows)
                if line.startswith("| 10 | sla |"))
    assert line.endswith("| +3.00 vs +4.00 (2 seeds): not kept |")


def test_primary_comparison_stands_alone_and_the_others_are_holm_adjusted(tmp_path):
    from tfaug.study import evidence
    from tfaug.study.stats import holm, paired_p
    rows = _rows({("none", ""): [0.70, 0.72, 0.71, 0.69],
                  ("sla", ""): [0.74, 0.75, 0.73, 0.74],
                  ("la", ""): [0.71, 0.72, 0.73, 0.70],
                  ("sla", "labelled flow"): [0.72, 0.73, 0.72, 0.70]})
    config = _config(tmp_path, budgets=(10,), methods=("none", "sla: standard", "la: "
                     "latent_random"), primary_method="sla", primary_budget=10)
    table = "\n".join(evidence.family_section(rows, config))
    primary = next(line for line in table.splitlines() if "(primary)" in line)
    seeds = lambda m, v="": {r["seed"]: r["test_accuracy"] for r in rows  # noqa: E731
                             if r["method"] == m and r["variant"] == v}
    assert f"| {paired_p(seeds('sla'), seeds('none')):.3g} | — |" in primary
    others = {"la - none": (seeds("la"), seeds("none")),
              "sla (labelled flow) - none": (seeds("sla", "labelled flow"),
                                             seeds("none")),
              "sla - sla (labelled flow)": (seeds("sla"), seeds("sla", "labelled flow"))}
    adjusted = holm({k: paired_p(*v) for k, v in others.items()})
    assert "family of 3 paired t-tests" in table
    for name, (p_holm, level) in adjusted.items():
        line = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {p_holm:.3g} |" in line and f"({100 * level:.2f}%)" in line
    assert evidence.plot_differences(rows, ("sla - none", 10))[:4] == b"\x89PNG"


def test_a_comparison_of_one_seed_shows_its_difference_without_an_interval(tmp_path):
    from tfaug.study import evidence
    rows = _rows({("none", ""): [0.70, 0.72], ("sla", ""): [0.74, 0.75],
                  ("sla", "labelled flow"): [0.73]})
    config = _config(tmp_path, budgets=(10,), methods=("none", "sla: latent_random"),
                     primary_method="sla", primary_budget=10)
    table = "\n".join(evidence.family_section(rows, config)
                      + evidence.attribution_section(rows, {}))
    line = next(line for line in table.splitlines()
                if line.startswith("| sla (labelled flow) - none |"))
    assert "| +3.00 (1 seed) |" in line
    assert "inf]" not in table and "| +3.50 [" in table  # two seeds keep theirs


def test_flow_table_gives_the_cpu_seconds_of_the_flows_that_recorded_them():
    from tfaug.study import evidence
    rows = _rows({("none", ""): [0.70, 0.72], ("sla", "labelled flow"): [0.73, 0.75]})
    report = lambda wall, cpu=None: {"final_test_bits_per_dim": 3.5,  # noqa: E731
                                     "train_examples": 100, "train_seconds": wall,
                                     **({"train_cpu_seconds": cpu} if cpu else {})}
    table = "\n".join(evidence.attribution_section(
        rows, {"labelled": [report(900, 100), report(500, 300), report(700)],
               "unlabelled": [report(4000)]}, shipped=report(2000, 1000)))
    assert "| labelled | 3 | 100 | 3.500 (range 3.500-3.500) | 700 | 200 (2 of 3) |" in table
    assert "| unlabelled | 1 | 100 | 3.500 (range 3.500-3.500) | 4000 | — |" in table
    assert "| shipped | 1 | 100 | 3.500 (range 3.500-3.500) | 2000 | 1000 |" in table


def test_primary_against_another_method_and_contrasts_join_the_family(tmp_path):
    from tfaug.study import evidence
    from tfaug.study.report import update_readme
    from tfaug.study.stats import paired_p
    rows = _rows({("none", ""): [0.70, 0.72, 0.71, 0.69],
                  ("image", ""): [0.74, 0.75, 0.73, 0.74],
                  ("latent", ""): [0.76, 0.75, 0.77, 0.75],
                  ("noise", ""): [0.73, 0.76, 0.74, 0.73]})
    config = _config(tmp_path, budgets=(10,), methods=(
        "none", "image: standard", "latent: latent_random", "noise: cutout"),
        primary_method="latent", primary_baseline="image", primary_budget=10,
        contrasts=("noise - image",))
    table = "\n".join(evidence.family_section(rows, config))
    seeds = lambda m: {r["seed"]: r["test_accuracy"] for r in rows  # noqa: E731
                       if r["method"] == m}
    primary = next(line for line in table.splitlines() if "(primary)" in line)
    assert primary.startswith("| **latent - image** (primary) | 10 | 4 |")
    assert f"| {paired_p(seeds('latent'), seeds('image')):.3g} | — |" in primary
    assert "family of 4 paired t-tests" in table  # 3 against none, 1 contrast
    assert any(line.startswith("| noise - image | 10 |") for line in table.splitlines())
    readme = tmp_path / "README.md"
    readme.write_text("<!-- study:s begin -->\n<!-- study:s end -->\n")
    update_readme(str(readme), "s", rows, config)
    shown = readme.read_text()
    assert primary in shown and "#### Primary comparison" in shown  # the README too
    with pytest.raises(ConfigError, match="must name two methods of the study"):
        _config(tmp_path, methods=("none", "image: standard"), contrasts=("x - image",))


def test_runs_whose_values_are_still_being_tuned_wait_for_a_later_pass(tmp_path):
    from tfaug.tuning.methods import training_settings
    path = tmp_path / "tuned.json"
    config = _config(tmp_path, budgets=(2, 4), tuned=str(path), capacity_budgets=(2,),
                     capacity_model="small_cnn", capacity_methods=("none",),
                     capacity_seeds=1)
    entry = {"lr": 0.05, "steps": 2, "methods": {
        "none": {"augmentation": "none", "val_accuracy": 0.5, "trials": 1},
        "latent_random": {"augmentation": "latent_random(eps=0.5)",
                          "val_accuracy": 0.5, "trials": 1}}}
    content = {"training": training_settings(config), "planned_budgets": [2, 4],
               "planned_methods": ["none", "latent_random"], "budgets": {"2": entry}}
    path.write_text(json.dumps(content))
    messages = []
    rows = study.run_study(config, str(tmp_path / "s"), log=messages.append)
    assert {(r["labels_per_class"], r["method"], r["variant"]) for r in rows} == {
        (2, "none", ""), (2, "latent_random", ""), (2, "none", "capacity")}
    assert sum("still being tuned" in m for m in messages) == 2  # budget 2's extra
    assert any("extra runs at 4 labels per class follow" in m for m in messages)
    content["budgets"]["4"] = entry  # runs without waiting for budget 4
    path.write_text(json.dumps(content))
    rows = study.run_study(config, str(tmp_path / "s"), log=lambda _: None)
    assert len(rows) == 5
    del content["planned_methods"]  # not planned: a missing value is an error
    del content["budgets"]["4"]
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match="has not finished"):
        study.run_study(config, str(tmp_path / "t"), log=lambda _: None)


def test_values_tuned_at_other_steps_than_the_study_trains_are_refused(tmp_path):
    from tfaug.tuning.methods import training_settings
    path = tmp_path / "tuned.json"
    config = _config(tmp_path, budgets=(2,), tuned=str(path), steps_by_budget=(2,),
                     method_steps={"latent_random": (4,)})
    methods = {"none": {"augmentation": "none", "val_accuracy": 0.5, "trials": 1},
               "latent_random": {"augmentation": "latent_random(eps=0.5)",
                                 "val_accuracy": 0.5, "trials": 1, "steps": 4}}
    content = {"training": training_settings(config),
               "budgets": {"2": {"lr": 0.05, "steps": 2, "methods": methods}}}
    path.write_text(json.dumps(content))
    assert study.runner.Plan(config).spec(2, "latent_random") == "latent_random(eps=0.5)"
    del methods["latent_random"]["steps"]  # tuned at the budget's 2 steps
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match="latent_random was tuned at 2 per class with "
                                          "2 steps, but the study trains latent_random "
                                          "for 4"):
        study.runner.Plan(config).spec(2, "latent_random")


def test_eta_follows_the_pace_of_every_process_sharing_the_study(monkeypatch):
    import time
    from tfaug.study.runner import time_left
    monkeypatch.setattr(time, "time", lambda: 1060.0)
    # two processes finished a run each in the 60 s since this one started: 4 left
    assert time_left((1000.0, 3), 5, 4) == pytest.approx(120.0)
    assert time_left((1000.0, 3), 3, 4) is None  # none finished yet: no estimate


def test_flows_of_about_the_same_bits_share_one_tick_in_the_gain_plot():
    from tfaug.study.evidence import flow_ticks
    ticks, names = flow_ticks({"labelled flow": 3.717, "": 3.311,
                               "unlabelled flow": 3.314, "glow_2k flow": 3.827})
    assert names == ["shipped / unlabelled", "labelled", "glow_2k"]
    assert ticks == pytest.approx([3.3125, 3.717, 3.827])
    assert flow_ticks({"": 3.311, "glow_6k flow": 3.506})[1] == ["shipped", "glow_6k"]


def test_tuned_values_inside_a_nested_view_survive_the_written_spec(tmp_path):
    """The written spec's parameters go on top of the tuned spec's, a nested view
    part by part: a tuned eps inside fixmatch's strong view is kept, not reset to its
    default by the written view that leaves it out."""
    from tfaug.augment import registry
    from tfaug.tuning.methods import training_settings
    path = tmp_path / "tuned.json"
    strong = "latent_random(ratio=1)+standard(pad=4,flip=false)"
    config = _config(tmp_path, budgets=(2,), tuned=str(path), steps_by_budget=(2,),
                     methods=("none", f"fm: fixmatch(mu=2,strong={strong})"))
    tuned = ("fixmatch(mu=2,strong=latent_random(ratio=1.0,eps=30.0)+standard(pad=4,"
             "flip=false),threshold=0.9,weight=0.5)")
    methods = {"none": {"augmentation": "none", "val_accuracy": 0.5, "trials": 1},
               "fm": {"augmentation": tuned, "val_accuracy": 0.5, "trials": 1}}
    path.write_text(json.dumps({"training": training_settings(config), "budgets": {
        "2": {"lr": 0.05, "steps": 2, "methods": methods}}}))
    assert study.runner.Plan(config).spec(2, "fm") == registry.canonical(tuned)
    # written values win, inside a nested view too; another view replaces it
    assert registry.overlay(tuned, "fixmatch(mu=3,strong=latent_random(eps=2)+standard,"
                                   "threshold=0.8)") == registry.canonical(
        "fixmatch(mu=3,strong=latent_random(ratio=1.0,eps=2)+standard(pad=4,flip=false),"
        "threshold=0.8,weight=0.5)")
    assert registry.overlay(tuned, "fixmatch(strong=cutout)") == registry.canonical(
        "fixmatch(mu=2,strong=cutout,threshold=0.9,weight=0.5)")
    with pytest.raises(ConfigError, match="has 0 parts named 'standard'"):
        registry.overlay("none", "standard(pad=2)")


def test_a_finished_run_trained_with_other_values_than_the_plan_is_refused(tmp_path):
    """A run on record whose augmentation or learning rate is not what the study
    would train now (its tuning changed, or an older study dropped a value) is an
    error naming it, never a result standing for the method."""
    from tfaug.tuning.methods import training_settings
    path = tmp_path / "tuned.json"
    config = _config(tmp_path, budgets=(2,), tuned=str(path), steps_by_budget=(2,),
                     methods=("none", "latent_random"))
    methods = {"none": {"augmentation": "none", "val_accuracy": 0.5, "trials": 1},
               "latent_random": {"augmentation": "latent_random(eps=0.5)",
                                 "val_accuracy": 0.5, "trials": 1}}
    content = {"training": training_settings(config),
               "budgets": {"2": {"lr": 0.05, "steps": 2, "methods": methods}}}
    path.write_text(json.dumps(content))
    out = str(tmp_path / "s")
    assert len(study.run_study(config, out, log=lambda _: None)) == 2
    assert len(study.run_study(config, out, log=lambda _: None)) == 2  # as planned
    methods["latent_random"]["augmentation"] = "latent_random(eps=0.7)"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=r"lpc2.latent_random.seed\d was trained with "
                                          r"latent_random\(eps=0.5\) at lr 0.05, but "
                                          r"the study now trains latent_random\(eps=0.7\)"
                                          r" at lr 0.05.*move"):
        study.run_study(config, out, log=lambda _: None)
