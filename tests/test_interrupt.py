"""Ctrl-C or `kill` during training: the completed epochs are evaluated and
saved, nothing half-written is left, the exit code says it stopped early, and
--resume continues the run."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, make_colour_dataset, run_script


def interrupt_training(script, args, out, sig=signal.SIGINT, epochs=2):
    """Run `script`, send `sig` once `epochs` epochs are complete; return
    (returncode, stdout, stderr)."""
    history = out / "nn_history.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / script), *map(str, args), "--epochs", "100000",
         "--model", str(out / "nn.keras")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if history.exists() and len(json.loads(history.read_text()).get("loss", [])) >= epochs:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"training never completed {epochs} epochs")
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, stdout, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_saves_the_completed_epochs_and_resumes(sig, tmp_path):
    dataset = make_colour_dataset(tmp_path / "d", per_class=10, size=(8, 8))
    out = tmp_path / "out"
    args = ["--dataset", dataset, "--size", 8, "--patience", 0, "--batch-size", 4]
    code, stdout, stderr = interrupt_training("train_simple_nn.py", args, out, sig)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    info = json.loads((out / "nn.json").read_text())
    assert info["run"]["interrupted"] is True
    assert 2 <= info["run"]["epochs_run"] < 100000
    assert "test accuracy" in stdout
    for name in ("nn.keras", "nn_labels.json", "nn_plot.png", "nn_history.csv", "nn_confusion.png"):
        assert (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    # The backup is kept for --resume; it may lag the history by the epoch
    # that was being recorded when the signal came.
    done = json.loads((out / "nn_backup" / "training_metadata.json").read_text())["epoch"]
    assert 1 <= done < 100000 and f"--resume continues from epoch {done}" in stderr
    if sig == signal.SIGTERM:
        return  # resuming once is enough

    resumed = run_script("train_simple_nn.py", *args, "--epochs", done + 2, "--resume",
                         "--model", out / "nn.keras")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {done}" in resumed.stdout
    run = json.loads((out / "nn.json").read_text())["run"]
    assert run["resumed_from_epoch"] == done and run["interrupted"] is False
    assert run["epochs_requested"] == run["epochs_run"] == done + 2
    assert len(json.loads((out / "nn_history.json").read_text())["loss"]) == done + 2
    with open(out / "nn_history.csv") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(done + 2))
    assert not (out / "nn_backup").exists()  # removed once the run is complete

    image = next((dataset / "red").iterdir())
    predicted = run_script("predict.py", "--model", out / "nn.keras", "--image", image, "--no-annotate")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.split("\t")[1] in ("blue", "green", "red")
