"""Ctrl-C or `kill` during training: the completed epochs are evaluated and
saved, nothing half-written is left, the exit code says it stopped early, and
--resume continues the run. The signal is acted on between batches, never in
the middle of writing an epoch's outputs."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import pytest
from conftest import ROOT, communicate_or_show_stacks, make_colour_dataset, read_colour_dataset, run_script

from pyimagesearch.callbacks.stopbetweenbatches import interrupt_between_batches


def interrupt_training(script, args, out, sig=signal.SIGINT, epochs=2):
    """Run `script`, send `sig` once `epochs` epochs are complete; return
    (returncode, stdout, stderr)."""
    history = out / "nn_history.json"
    # PYTHONFAULTHANDLER: for communicate_or_show_stacks.
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONFAULTHANDLER="1", TMPDIR=str(out / "tmp"))
    (out / "tmp").mkdir(parents=True)
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
        stdout, stderr = communicate_or_show_stacks(proc, 120, script)
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
    assert not list((out / "tmp").iterdir())  # nor in the temp folder
    # The backup is kept for --resume. The signal is acted on between batches,
    # so it holds exactly the epochs the history does.
    done = json.loads((out / "nn_backup" / "training_metadata.json").read_text())["epoch"]
    assert done == info["run"]["epochs_run"] and f"--resume continues from epoch {done}" in stderr
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


def test_a_killed_run_resumes_with_its_whole_history(tmp_path):
    # SIGKILL (the out-of-memory killer, a power cut) runs no clean-up at all,
    # and may land while the backup is being saved. The run streams its
    # images from the disk cache, which the resumed run reuses.
    dataset = make_colour_dataset(tmp_path / "d", per_class=10, size=(8, 8))
    out = tmp_path / "out"
    args = ["--dataset", dataset, "--size", 8, "--patience", 0, "--batch-size", 4, "--data", "stream"]
    code, _, _ = interrupt_training("train_simple_nn.py", args, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    with open(out / "nn_history.csv") as f:
        assert len(list(csv.DictReader(f))) >= 1  # written every epoch, not at the end

    # The kill may also cut off an atomic write; plant such a leftover for sure.
    (out / ".nn_plot.tmp-999999999.png").write_bytes(b"cut off")
    resumed = run_script("train_simple_nn.py", *args, "--epochs", 6, "--resume",
                         "--model", out / "nn.keras")
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"resuming after epoch [1-5]\b", resumed.stdout), resumed.stdout
    with open(out / "nn_history.csv") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(6))
    assert len(json.loads((out / "nn_history.json").read_text())["loss"]) == 6
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]
    assert ".nn_plot.tmp-999999999.png, left by a run that was killed" in resumed.stdout
    assert "image cache: reusing" in resumed.stdout
    assert json.loads((out / "nn.json").read_text())["run"]["data"]["mode"] == "stream"


class EpochEndWriter(keras.callbacks.Callback):
    """A callback like CSVLogger or BackupAndRestore: on_epoch_end takes a
    moment and then writes a file. It first sends its own process
    `signals_at_epoch[epoch]` SIGINTs, as if the user pressed Ctrl-C while
    the epoch was being written."""

    def __init__(self, folder, signals_at_epoch):
        super().__init__()
        self.folder, self.signals_at_epoch = folder, signals_at_epoch
        self.batches_begun = []

    def on_train_batch_begin(self, batch, logs=None):
        self.batches_begun.append(batch)

    def on_epoch_end(self, epoch, logs=None):
        for _ in range(self.signals_at_epoch.get(epoch, 0)):
            os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal's handler has run by the time this returns
        (self.folder / f"epoch_{epoch}.txt").write_text(str(logs["loss"]))


def fit_tiny_model(tmp_path, callback):
    """model.fit for up to 50 epochs of 3 batches on 12 decoded images."""
    x, y = read_colour_dataset(tmp_path / "d")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with interrupt_between_batches() as stop:
        model.fit(x, y, batch_size=4, epochs=50, callbacks=[stop, callback], verbose=0)


def test_a_signal_while_an_epoch_is_being_written_stops_after_it(tmp_path):
    before = signal.getsignal(signal.SIGINT)
    writer = EpochEndWriter(tmp_path, {2: 1})
    with pytest.raises(KeyboardInterrupt):
        fit_tiny_model(tmp_path, writer)
    # Epoch 2's file was finished, and not one batch of epoch 3 ran.
    assert sorted(p.name for p in tmp_path.glob("epoch_*")) == [f"epoch_{e}.txt" for e in range(3)]
    assert writer.batches_begun == [0, 1, 2] * 3
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_signal_stops_at_once(tmp_path):
    writer = EpochEndWriter(tmp_path, {1: 2})
    with pytest.raises(KeyboardInterrupt):
        fit_tiny_model(tmp_path, writer)
    assert sorted(p.name for p in tmp_path.glob("epoch_*")) == ["epoch_0.txt"]
