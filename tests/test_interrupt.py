"""Ctrl-C or `kill` during training: the completed epochs are evaluated and
saved, nothing half-written is left, and the exit code says it stopped early."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, make_colour_dataset


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_saves_the_completed_epochs(sig, tmp_path):
    dataset = make_colour_dataset(tmp_path / "d", per_class=10, size=(8, 8))
    out = tmp_path / "out"
    history = out / "nn_history.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "train_simple_nn.py"), "--dataset", str(dataset), "--size", "8",
         "--epochs", "100000", "--patience", "0", "--batch-size", "4", "--model", str(out / "nn.keras")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if history.exists() and len(json.loads(history.read_text()).get("loss", [])) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("training never completed 2 epochs")
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    info = json.loads((out / "nn.json").read_text())
    assert info["run"]["interrupted"] is True
    assert 2 <= info["run"]["epochs_run"] < 100000
    assert "test accuracy" in stdout
    for name in ("nn.keras", "nn_labels.json", "nn_plot.png", "nn_history.csv", "nn_confusion.png"):
        assert (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
