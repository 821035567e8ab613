from conftest import run_script


def _run(*args):
    return run_script("data_summary.py", *args)


def test_summary_of_local_idx_files_with_subset(mnist_dir):
    out = _run("--dataset=mnist", f"--data_dir={mnist_dir}", "--labels_per_class=3",
               "--val_per_class=2")
    assert out.returncode == 0, out.stderr
    assert "all: 60 images of (28, 28, 1), 10 classes" in out.stdout
    assert "labelled subset (seed 0): 30 images" in out.stdout
    assert "validation: 20 images" in out.stdout
    assert "per class: min 3 max 3" in out.stdout


def test_bad_input_is_one_clear_line_without_traceback(mnist_dir):
    for args, message in [(["--dataset=imagenet"], "Unknown dataset 'imagenet'"),
                          (["--dataset=mnist", f"--data_dir={mnist_dir}",
                            "--labels_per_class=9"], "only 6 examples left")]:
        out = _run(*args)
        assert out.returncode == 2
        assert message in out.stderr and "Traceback" not in out.stderr


def test_help_documents_every_flag():
    out = _run("--helpfull")
    for flag in ["dataset", "split", "data_dir", "tfds_data_dir", "manual_dir",
                 "labels_per_class", "label_fraction", "val_per_class", "seed"]:
        assert f"--{flag}:" in out.stdout, flag
