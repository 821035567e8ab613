import json
import os
import subprocess
import sys

from conftest import ROOT, make_mnist_dir, run_script
from tfaug import flows

SCRIPT = os.path.join(ROOT, "bin", "train_flow.py")


def _run(*args):
    return run_script("train_flow.py", *args)


def test_tiny_run_writes_report_checkpoints_and_export(tmp_path):
    data_dir = make_mnist_dir(tmp_path / "data", n_train=64, n_test=32)
    out, export = tmp_path / "out", tmp_path / "flow"
    result = _run("--hparams=fashion_mnist_glow", "--dataset=mnist",
                  f"--data_dir={data_dir}", "--train_steps=6", "--batch_size=16",
                  "--steps_per_level=1", "--width=8", "--log_every=3",
                  "--eval_every=3", "--checkpoint_every=3", "--nojit",
                  f"--out_dir={out}", f"--export_dir={export}")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["steps"] == 6 and report["test_examples"] == 32
    assert report["config"]["width"] == 8 and report["preset"] == "fashion_mnist_glow"
    assert 0 < report["final_test_bits_per_dim"] < 10
    assert "tensorflow" in report["versions"]
    assert os.listdir(out / "tensorboard")
    assert flows.load(str(export)).config.width == 8


def test_unknown_preset_key_and_bad_flag_values_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"levels": 2, "hidden": 3}))
    for args, message in [([f"--hparams={bad}"], "unknown key(s) hidden"),
                          (["--coupling=cubic"], "coupling must be one of"),
                          (["--hparams=nope"], "No preset 'nope'")]:
        result = _run(*args, f"--out_dir={tmp_path / 'out'}")
        assert result.returncode == 2, result.stderr[-500:]
        assert message in result.stderr and "Traceback" not in result.stderr


def test_help_documents_every_config_flag():
    out = _run("--helpfull").stdout
    for flag in ["hparams", "levels", "steps_per_level", "width", "coupling", "conv",
                 "lr", "warmup_steps", "grad_clip", "train_steps", "max_bad_steps",
                 "out_dir", "export_dir"]:
        assert f"--{flag}:" in out or f"--[no]{flag}:" in out, flag


def test_sigterm_writes_a_checkpoint_and_rerun_resumes(tmp_path):
    import signal
    import time
    data_dir = make_mnist_dir(tmp_path / "data", n_train=64, n_test=32)
    common = ["--dataset=mnist", f"--data_dir={data_dir}", "--batch_size=16",
              "--steps_per_level=1", "--width=8", "--nojit",
              f"--out_dir={tmp_path / 'out'}"]
    proc = subprocess.Popen([sys.executable, SCRIPT, *common, "--train_steps=100000",
                             "--checkpoint_every=100000", "--eval_every=100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt_dir = tmp_path / "out" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "out" / "tensorboard").exists():
        time.sleep(0.5)
    time.sleep(8)  # some training steps
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    saved = [p for p in os.listdir(ckpt_dir) if p.endswith(".index")]
    assert len(saved) == 1
    step = int(saved[0].split("-")[1].split(".")[0])
    assert step > 0
    result = _run(*common, f"--train_steps={step + 2}", "--eval_every=100")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["steps"] == step + 2
