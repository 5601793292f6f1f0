"""Continue an interrupted training run (--resume): where the unfinished run
is kept (`<model>_backup/`, Keras' BackupAndRestore), which epoch it reached,
and what of the earlier epochs' history to keep.

The folder exists only while a run is unfinished: BackupAndRestore removes it
when training ends normally, so Ctrl-C, `kill` or a crash leave it behind.
"""

import csv
import json
import math
import os
import shutil

import keras

from .utils.errors import UserError


class ResumeState:
    """Where BackupAndRestore keeps an unfinished run (`<model>_backup/`) and
    which epoch it reached."""

    def __init__(self, model_path):
        self.folder = os.path.splitext(model_path)[0] + "_backup"

    @property
    def epoch(self):
        try:
            with open(os.path.join(self.folder, "training_metadata.json"), encoding="utf-8") as f:
                return int(json.load(f)["epoch"])
        except (OSError, ValueError, KeyError):
            return 0

    def prepare(self, resume, chief=True):
        """Return the epoch to continue from (0 for a fresh run). Only the
        chief removes a stale folder; the other workers never touch it."""
        if resume:
            if not os.path.isdir(self.folder):
                raise UserError(f"{self.folder}: no interrupted run to resume (this folder is "
                                "written during training and removed when it ends; with several "
                                "machines, every worker must see the chief's --model folder); "
                                "run without --resume")
            return self.epoch
        if os.path.isdir(self.folder) and chief:
            print(f"[NOTE] starting afresh: removing {self.folder} left by an interrupted run "
                  "(pass --resume to continue it instead)")
            shutil.rmtree(self.folder)
        return 0

    def callback(self, write_folder=None, start_epoch=0):
        """The BackupAndRestore callback; put it last, so an epoch counts as
        done only once every other callback has written its outputs.

        `write_folder` is where this process saves its state, when that is
        not `self.folder` (a non-chief worker's temporary folder): resuming,
        it starts from a copy of the chief's state, so that every worker
        continues from the same epoch and weights."""
        if write_folder is None or os.path.abspath(write_folder) == os.path.abspath(self.folder):
            return keras.callbacks.BackupAndRestore(self.folder)
        if start_epoch:
            shutil.copytree(self.folder, write_folder, dirs_exist_ok=True)
        return keras.callbacks.BackupAndRestore(write_folder)


def best_so_far(history_json, epochs, monitor="val_loss"):
    """The best (lowest) `monitor` value of the first `epochs` epochs
    recorded in a history JSON file, or infinity."""
    try:
        with open(history_json, encoding="utf-8") as f:
            values = json.load(f).get(monitor, [])[:epochs]
        return min(values) if values else math.inf
    except (OSError, ValueError):
        return math.inf


def copy_history_csv(src, dst, epochs):
    """Copy the header and first `epochs` rows of a CSVLogger file, so a
    resumed run appends after the last epoch it really continues from (a run
    stopped between CSVLogger and BackupAndRestore logged one epoch more)."""
    try:
        with open(src, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError:
        return False
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows[:epochs + 1])
    return True
