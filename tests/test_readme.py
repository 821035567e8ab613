"""Every code block of README.md runs here as written, on tiny generated data, so the
docs cannot drift from the code: Python blocks in one namespace per section, in a
working directory holding `my_images/` (a folder of PNGs, three classes); shell lines
that run bin/ entry points with flags appended that only make training short (absl
takes the last value of a flag). Blocks that read Fashion-MNIST need the Debian
package (`make data`)."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import FASHION_MNIST_DIR, ROOT, make_image_folder

README = os.path.join(ROOT, "README.md")
TINY = ["--model_width=0.25", "--batch_size=8", "--val_per_class=1", "--nojit"]
SHORTER = {
    "data_summary.py": [],
    "train_flow.py": ["--train_steps=2", "--steps_per_level=1", "--width=4",
                      "--batch_size=8", "--log_every=1", "--eval_every=2",
                      "--checkpoint_every=2", "--eval_examples=8", "--nojit"],
    "train_classifier.py": [*TINY, "--labels_per_class=2", "--epochs=1"],
    "study.py": [*TINY, "--budgets=2", "--steps_by_budget=2", "--epochs=1",
                 "--seeds=1"],
    "tune.py": [*TINY, "--labels_per_class=2", "--epochs=1", "--steps_per_epoch=1",
                "--max_trials=1", "--tuner=random"],
    "tune_methods.py": [*TINY, "--methods=standard", "--budgets=2",
                        "--steps_by_budget=1", "--epochs=1", "--max_trials=1",
                        "--tuner=random"],
}
NOT_RUN = {"make run", "make test"}  # what `make` and CI run themselves


def sections():
    """[(section title, [(language, code)])] of README.md's code blocks, in order."""
    text = open(README, encoding="utf-8").read()
    found, title = [], None
    for match in re.finditer(r"^## ([^\n]+)$|^```(\w+)\n(.*?)^```$", text,
                             re.M | re.S):
        if match.group(1):
            title = match.group(1)
            found.append((title, []))
        elif found:
            found[-1][1].append((match.group(2), match.group(3)))
    return [(t, blocks) for t, blocks in found if blocks]


def commands(code):
    """The shell lines of a block: continuations joined, comments dropped."""
    lines = code.replace("\\\n", " ").splitlines()
    return [line.split(" #")[0].strip() for line in lines
            if line.strip() and not line.strip().startswith("#")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    make_image_folder(root / "my_images", per_class=10, size=(28, 28), channels=1)
    os.symlink(os.path.join(ROOT, "bin"), root / "bin")
    return root


def run_command(line, workdir):
    words = shlex.split(line)
    if " ".join(words) in NOT_RUN:
        return
    assert words[0] == ".venv/bin/python" and words[1].startswith("bin/"), (
        f"README runs {line!r}: add it to this test")
    script = os.path.basename(words[1])
    shorter = SHORTER[script]
    if any(w.startswith("--model=") and w.endswith(".keras") for w in words):
        shorter = [f for f in shorter if not f.startswith("--model_width")]  # theirs
    result = subprocess.run([sys.executable, words[1], *words[2:], *shorter],
                            cwd=workdir, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{line}\n{result.stderr[-3000:]}"


def test_the_readme_has_the_sections_users_follow():
    titles = [t for t, _ in sections()]
    for title in ("Your own images", "Your own Keras model", "Unlabelled images too",
                  "Library"):
        assert title in titles


@pytest.mark.parametrize("title", [t for t, _ in sections()])
def test_readme_code_runs(title, workdir, monkeypatch):
    blocks = dict(sections())[title]
    if any("fashion_mnist" in code for _, code in blocks) and not os.path.exists(
            os.path.join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")):
        pytest.skip("needs Debian's dataset-fashion-mnist (make data)")
    monkeypatch.chdir(workdir)
    namespace = {"__name__": "readme"}
    for language, code in blocks:
        if language == "python":
            exec(compile(code, f"README.md ({title})", "exec"), namespace)
        else:
            assert language == "sh", language
            for line in commands(code):
                run_command(line, workdir)
    if title == "Your own images":
        assert (workdir / "my_flow" / "glow.json").exists()
        assert (workdir / "runs" / "my_study" / "report.md").exists()
    if title == "Your own Keras model":
        assert (workdir / "my_classifier.keras").exists()
        rows = open(workdir / "runs" / "my_model_study" / "results.csv").read()
        assert rows.count("my_classifier.keras") == 2  # none and the paper's method
    if title == "Unlabelled images too":
        report = json.load(open(workdir / "runs" / "my_semi" / "report.json"))
        assert report["sizes"]["unlabelled"] > 0
        assert 0 <= namespace["history"].history["pseudo_labels"][-1] <= 1
