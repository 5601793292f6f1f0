"""Continue an interrupted training run (--resume): where the unfinished run
is kept (`<model>_backup/`, Keras' BackupAndRestore), which epoch it reached,
and the best validation loss its history had reached by then.

The folder exists only while a run is unfinished: BackupAndRestore removes it
when training ends normally, so Ctrl-C, `kill` or a crash leave it behind.
"""

import json
import math
import os
import shutil

import h5py
import keras

from ..utils.atomic import write_json
from ..utils.errors import UserError

# Flags a resumed run may change; any other difference would restore the
# saved weights into a different model or continue on different data.
MAY_CHANGE_ON_RESUME = frozenset({"epochs", "patience", "resume", "workers", "plot", "label_bin"})
ARGUMENTS_FILE = "arguments.json"
# BackupAndRestore's names for the saved state.
WEIGHTS_FILE = "latest.weights.h5"
METADATA_FILE = "training_metadata.json"


class ResumeState:
    """Where BackupAndRestore keeps an unfinished run (`<model>_backup/`),
    which epoch it reached and the flags it was started with."""

    def __init__(self, model_path):
        self.folder = os.path.splitext(model_path)[0] + "_backup"

    def record_arguments(self, arguments):
        """Keep the run's flags beside its state, so --resume can check them."""
        os.makedirs(self.folder, exist_ok=True)
        write_json(os.path.join(self.folder, ARGUMENTS_FILE), arguments)

    def check_arguments(self, arguments):
        """Raise UserError naming the first flag that differs from the
        interrupted run's (Keras would fail with a traceback restoring the
        weights into a model of another shape)."""
        try:
            with open(os.path.join(self.folder, ARGUMENTS_FILE), encoding="utf-8") as f:
                before = json.load(f)
        except (OSError, ValueError):
            return  # a run from before the flags were recorded: nothing to compare
        for name in sorted(set(before) | set(arguments)):
            if name in MAY_CHANGE_ON_RESUME or before.get(name) == arguments.get(name):
                continue
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} was {before.get(name)!r} in the interrupted run and is "
                            f"{arguments.get(name)!r} now; resume with the same flags (only "
                            "--epochs, --patience and --workers may change), or start afresh "
                            "without --resume")

    @property
    def epoch(self):
        return _saved_epoch(os.path.join(self.folder, METADATA_FILE)) or 0

    def prepare(self, resume, chief=True, arguments=None):
        """Return the epoch to continue from (0 for a fresh run). Only the
        chief removes a stale folder or records the run's `arguments` (a
        dict of its flags); the other workers never write here."""
        if arguments is not None:
            # Compare as JSON sees them (tuples become lists, paths strings).
            arguments = json.loads(json.dumps(arguments, default=str))
        if resume:
            if not os.path.isdir(self.folder):
                raise UserError(f"{self.folder}: no interrupted run to resume (this folder is "
                                "written during training and removed when it ends; with several "
                                "machines, every worker must see the chief's --model folder); "
                                "run without --resume")
            if arguments is not None:
                self.check_arguments(arguments)
            if chief:  # the other workers copy the chief's folder, recovered or not
                self.recover_saved_state()
            return self.epoch
        if os.path.isdir(self.folder) and chief:
            print(f"[NOTE] starting afresh: removing {self.folder} left by an interrupted run "
                  "(pass --resume to continue it instead)")
            shutil.rmtree(self.folder)
        if arguments is not None and chief:
            self.record_arguments(arguments)
        return 0

    def callback(self, write_folder=None, start_epoch=0, delete_checkpoint=True):
        """The BackupAndRestore callback; put it last, so an epoch counts as
        done only once every other callback has written its outputs.

        `write_folder` is where this process saves its state, when that is
        not `self.folder` (a non-chief worker's temporary folder): resuming,
        it starts from a copy of the chief's state, so that every worker
        continues from the same epoch and weights. `delete_checkpoint=False`
        keeps the state when training ends: a phase of a run in phases
        that is not its last."""
        if write_folder is None or os.path.abspath(write_folder) == os.path.abspath(self.folder):
            write_folder = self.folder
        elif start_epoch:
            shutil.copytree(self.folder, write_folder, dirs_exist_ok=True)
        # double_checkpoint keeps the previous epoch's state as well: Keras
        # saves in place, so a run killed while saving (SIGKILL, power loss)
        # leaves an unreadable file, and --resume then falls back to that one.
        return keras.callbacks.BackupAndRestore(write_folder, double_checkpoint=True,
                                                delete_checkpoint=delete_checkpoint)

    def save_phase_start(self, model, write_folder, dist):
        """At the start of a phase, replace the saved weights' optimizer
        state, the previous phase's, with the new phase's fresh optimizer:
        BackupAndRestore loads the saved optimizer state into the current
        optimizer, which would warn and skip it when the trainable weights
        differ, and continue the previous phase's step count and moments
        when they do not. The saved epoch stays the previous phase's last."""
        with dist.scope():
            model.optimizer.build(model.trainable_variables)
        os.makedirs(write_folder, exist_ok=True)
        # Written whole, then renamed (Keras wants the .weights.h5 ending,
        # which utils.atomic's temporary names do not keep).
        tmp = os.path.join(write_folder, f".phase-start.tmp-{os.getpid()}.weights.h5")
        try:
            model.save_weights(tmp)
            os.replace(tmp, os.path.join(write_folder, WEIGHTS_FILE))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def recover_saved_state(self):
        """Make sure the saved state can be read before Keras restores it.
        If it was cut off (a run killed while saving), put the previous
        epoch's copy in its place, as Keras would, but with a note, and so
        that `epoch` names the epoch really restored. If neither can be
        read, raise UserError: Keras would fail with a bare HDF5 or JSON
        error."""
        weights = os.path.join(self.folder, WEIGHTS_FILE)
        metadata = os.path.join(self.folder, METADATA_FILE)
        if not os.path.exists(weights) or _readable(weights, metadata):
            return  # nothing saved yet (resuming starts from scratch), or fine
        if not _readable(weights + ".bkp", metadata + ".bkp"):
            raise UserError(f"{weights}: the interrupted run's saved state cannot be read (the "
                            "run was stopped while writing it); run without --resume to start "
                            "afresh")
        shutil.copy(weights + ".bkp", weights)
        shutil.copy(metadata + ".bkp", metadata)
        print(f"[NOTE] {self.folder}: the saved state was cut off when the run stopped; resuming "
              f"from the copy saved after epoch {self.epoch}")


def _saved_epoch(metadata):
    """The epoch BackupAndRestore recorded in `metadata`, or None when the
    file is missing or cannot be read (Keras restores only an int)."""
    try:
        with open(metadata, encoding="utf-8") as f:
            epoch = json.load(f)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return epoch if isinstance(epoch, int) else None


def _readable(weights, metadata):
    """Whether a saved state, weights (HDF5) and epoch (JSON), can be read."""
    if _saved_epoch(metadata) is None:
        return False
    try:
        with h5py.File(weights, "r"):
            return True
    except OSError:
        return False


def best_so_far(history_json, epochs, monitor="val_loss"):
    """The best (lowest) `monitor` value of the first `epochs` epochs
    recorded in a history JSON file, or infinity."""
    try:
        with open(history_json, encoding="utf-8") as f:
            values = json.load(f).get(monitor, [])[:epochs]
        return min(values) if values else math.inf
    except (OSError, ValueError):
        return math.inf

