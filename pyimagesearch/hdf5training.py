"""Train a classifier from the HDF5 files of build_hdf5.py (train_alexnet.py):
the data stays on disk and is read a batch at a time, the best model is
saved as training goes, and an interrupted run can be resumed."""

import json
import math
import os
import shutil
import time

import keras
import tensorflow as tf

from .callbacks import TrainingMonitor
from .callbacks.bestmodel import BestModelCheckpoint
from .io.hdf5sequence import HDF5Sequence
from .utils.atomic import atomic_path, write_json
from .utils.errors import UserError
from .utils.modelinfo import run_stamp, save_model_info


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

    def prepare(self, resume):
        """Return the epoch to continue from (0 for a fresh run)."""
        if resume:
            if not os.path.isdir(self.folder):
                raise UserError(f"{self.folder}: no interrupted run to resume (this folder is "
                                "written during training and removed when it ends); run "
                                "without --resume")
            return self.epoch
        if os.path.isdir(self.folder):
            print(f"[NOTE] starting afresh: removing {self.folder} left by an interrupted run "
                  "(pass --resume to continue it instead)")
            shutil.rmtree(self.folder)
        return 0


def best_so_far(history_json, epochs, monitor="val_loss"):
    try:
        with open(history_json, encoding="utf-8") as f:
            values = json.load(f).get(monitor, [])[:epochs]
        return min(values) if values else math.inf
    except (OSError, ValueError):
        return math.inf


def fit_from_hdf5(model, train: HDF5Sequence, val: HDF5Sequence, optimizer, outputs, input_spec,
                  class_names, epochs=75, patience=10, resume=False, architecture=None,
                  run_args=None, seed=42):
    """Compile and train with the callbacks of a long run; write the best
    model, sidecar, labels, plot and history. Returns the sidecar's run dict."""
    outputs.check_writable()
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    state = ResumeState(outputs.model)
    start_epoch = state.prepare(resume)
    name = architecture or model.name

    def run_info(extra):
        return {"architecture": name, "arguments": run_args or {}, "seed": seed,
                "train_images": train.num_images, "val_images": val.num_images,
                **run_stamp(tensorflow=tf.__version__, keras=keras.__version__), **extra}

    def save_sidecar(path, epoch, logs):
        save_model_info(path, class_names, input_spec,
                        run_info({"best_epoch": epoch, "finished": None,
                                  "val_loss": float(logs["val_loss"]),
                                  "val_accuracy": float(logs.get("val_accuracy", math.nan))}))

    checkpoint = BestModelCheckpoint(outputs.model, on_save=save_sidecar,
                                     best=best_so_far(outputs.history_json, start_epoch)
                                     if start_epoch else math.inf)
    monitor = TrainingMonitor(outputs.plot, json_path=outputs.history_json, start_at=start_epoch,
                              title=f"{name}: loss and accuracy")
    callbacks = [
        monitor,
        keras.callbacks.CSVLogger(outputs.history_csv, append=start_epoch > 0),
        checkpoint,
    ]
    early = None
    if patience and patience > 0:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                              restore_best_weights=True, verbose=1)
        callbacks.append(early)
    # Last, so an epoch counts as done for --resume only once all its outputs are written.
    callbacks.append(keras.callbacks.BackupAndRestore(state.folder))
    print(f"[INFO] training {name} on {train.num_images} images (validating on "
          f"{val.num_images}) for up to {epochs} epochs"
          + (f", resuming after epoch {start_epoch}" if start_epoch else ""))
    started = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks, verbose=2)
    seconds = time.perf_counter() - started
    if checkpoint.best_epoch is None and not os.path.exists(outputs.model):
        # val_loss never became finite: keep the last weights rather than nothing.
        with atomic_path(outputs.model) as tmp:
            model.save(tmp)
    epochs_run = start_epoch + len(history.history.get("loss", []))
    val_losses = monitor.history.get("val_loss", [])  # includes the epochs before a resume
    best_epoch = min(range(len(val_losses)), key=val_losses.__getitem__) + 1 if val_losses else None
    run = run_info({
        "epochs_requested": epochs, "epochs_run": epochs_run,
        "best_epoch": best_epoch, "best_val_loss": min(val_losses, default=None),
        "early_stopped": bool(early is not None and early.stopped_epoch > 0),
        "resumed_from_epoch": start_epoch or None, "train_seconds": round(seconds, 1),
    })
    write_json(outputs.labels, list(class_names))
    save_model_info(outputs.model, class_names, input_spec, run)
    print(f"[INFO] trained to epoch {epochs_run} in {seconds:.0f}s; best epoch {best_epoch} "
          f"(val_loss {checkpoint.best:.4f}) saved as {outputs.model}")
    outputs.print_written(confusion=False)
    return run
