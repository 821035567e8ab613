"""The low-data study: end to end on generated data, resumable, reports from CSV."""

import csv
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
                  methods=("none", "latent_random"), seeds=1, val_per_class=2,
                  model_width=0.25, epochs=1, steps_per_epoch=2, batch_size=8,
                  jit=False, eps=0.5)
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


def test_tiny_study_writes_all_outputs_and_rerun_skips_finished_runs(tmp_path):
    config, out = _config(tmp_path), str(tmp_path / "study")
    rows = study.run_study(config, out, log=lambda _: None)
    assert sorted((r["labels_per_class"], r["method"]) for r in rows) == [
        (2, "latent_random"), (2, "none"), (4, "latent_random"), (4, "none")]
    assert all(r["train_size"] == 10 * r["labels_per_class"] for r in rows)
    assert all(r["optimizer_steps"] == 2 for r in rows)
    for name in ("results.csv", "results.json", "report.md", "accuracy.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "accuracy.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    reports = [os.path.join(study.run_dir(out, b, m, s), "report.json")
               for b, m, s in config.grid()]
    stamps = [os.path.getmtime(p) for p in reports]
    messages = []
    again = study.run_study(config, out, log=messages.append)
    assert sum("skipped" in m for m in messages) == 4
    assert [os.path.getmtime(p) for p in reports] == stamps
    assert sorted(map(str, again)) == sorted(map(str, rows))


def test_corrupt_result_is_reported_and_run_again(tmp_path):
    config, out = _config(tmp_path, budgets=(2,), methods=("none",)), str(
        tmp_path / "study")
    study.run_study(config, out, log=lambda _: None)
    path = os.path.join(study.run_dir(out, 2, "none", 0), "report.json")
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
        "latent_adversarial", "vaegan_adversarial")), str(tmp_path / "study")
    rows = study.run_study(config, out, log=lambda _: None)
    assert [r["method"] for r in rows] == ["latent_adversarial", "vaegan_adversarial"]
    reports = {m: json.load(open(os.path.join(study.run_dir(out, 2, m, 0),
                                              "report.json"))) for m in config.methods}
    assert "LatentAdversarial" in reports["vaegan_adversarial"]["augmentation"]
    same = {k: v for k, v in reports["latent_adversarial"]["config"].items()
            if k != "augmentation"}
    assert same == {k: v for k, v in reports["vaegan_adversarial"]["config"].items()
                    if k != "augmentation"}
    with open(os.path.join(out, "report.md")) as f:
        assert "| vaegan_adversarial |" in f.read()


def test_report_numbers_are_recomputed_from_the_csv(tmp_path):
    config = _config(tmp_path, methods=("none", "standard", "latent_random"),
                     budgets=(10, 50))
    rng = np.random.default_rng(0)
    rows = [{"labels_per_class": b, "method": m, "seed": s, "val_accuracy": 0.5,
             "test_accuracy": float(rng.uniform(0.5, 0.9)), "wall_time_s": 1.0,
             "train_size": 10 * b, "optimizer_steps": 5}
            for b in (10, 50) for m in config.methods for s in range(3)]
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
    none50 = np.mean([r["test_accuracy"] for r in rows
                      if r["method"] == "none" and r["labels_per_class"] == 50])
    lr50 = np.mean([r["test_accuracy"] for r in rows
                    if r["method"] == "latent_random" and r["labels_per_class"] == 50])
    gain = f"{100 * (lr50 - none50) / none50:+.2f}"
    over_none = report.split("over `none`")[1].split("over `standard`")[0]
    assert re.search(r"\| latent_random \| [^|]+ \| " + re.escape(gain), over_none)
    # edit the CSV: a report rebuilt from it follows the edit
    for r in csv_rows:
        r["test_accuracy"] = "0.25"
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, study.COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows)
    rebuilt = study.markdown_report(
        study.summarize(study.read_rows(os.path.join(out, "results.csv"))), config)
    assert set(_table_cells(rebuilt).values()) == {25.0}


@pytest.mark.parametrize("overrides, message", [
    (dict(labels_per_class=5), "do not set labels_per_class"),
    (dict(methods=("none", "sharpen")), "sharpen"),
    (dict(methods=("none", "none")), "distinct"),
    (dict(budgets=(0, 10)), "budgets"),
    (dict(seeds=0), "seeds"),
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
    messages = []
    study.run_study(config, str(tmp_path / "study"), log=messages.append)
    assert any("No flow ships for mnist: training one first" in m for m in messages)
    assert os.path.exists(tmp_path / "study" / "flow" / "export" / "glow.json")
    messages.clear()
    study.run_study(config, str(tmp_path / "study"), log=messages.append)
    assert not any("training one first" in m for m in messages)
