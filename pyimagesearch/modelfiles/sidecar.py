"""The JSON sidecar saved beside every model: what predict.py needs to feed it
(class names, input size, flattening, channel order, scaling) and the facts of
the run that made it. This module is the sidecar's schema: the one place that
writes, reads and validates it.

    {"format": "pyimagesearch-model/2",     FORMAT: the schema's name/VERSION
     "class_names": ["cats", "dogs", ...],  the model's outputs, in order
     "input": {...},                        how an image becomes the model's input
                                            (preprocessing.inputspec.InputSpec.to_dict)
     "run": {...},                          the run that made the model: RUN_KEYS
     "export": {...}}                       exports only: format, verification, versions

The "run" section's known keys are RUN_KEYS; a stage may record more (they
are kept). Versions: 1 wrote train_model.py's counts as train_rows and
test_rows; 2 names them train_images and test_images like every other run.
Sidecars of every earlier version load (upgraded as they are read); one
written by a newer version is refused with a message saying so.
"""

import datetime
import json
import os
import platform

from ..utils.atomic import write_json
from ..utils.errors import UserError

FORMAT_NAME = "pyimagesearch-model"
VERSION = 2
FORMAT = f"{FORMAT_NAME}/{VERSION}"

# The "run" section's known keys. Accuracy fields are named after the split
# evaluated: test_accuracy, or val_accuracy when a run has no test images.
RUN_KEYS = {
    "architecture": "the model's name (train_model.py: '<backbone> + logistic regression')",
    "arguments": "the script's command-line arguments",
    "source": "the dataset folder the images came from",
    "features_file": "train_model.py: the features file it read",
    "data": "how the images were held (memory, cache, hdf5)",
    "seed": "the run's random seed",
    "train_images": "images (or feature rows) trained on",
    "val_images": "validation images",
    "test_images": "test images evaluated on",
    "epochs_requested": "--epochs",
    "epochs_run": "epochs trained, a resumed run's earlier ones included",
    "best_epoch": "the epoch whose weights were kept",
    "early_stopped": "whether EarlyStopping ended the run",
    "interrupted": "whether Ctrl-C or SIGTERM ended training",
    "resumed_from_epoch": "the epoch --resume continued after, or null",
    "train_seconds": "training time",
    "images_per_second": "training throughput",
    "phases": "fine-tuning: each phase's epochs, trainable weights, learning rate",
    "precision": "the mixed-precision policy trained under",
    "distribution": "strategy, replicas and batch size",
    "class_weight": "the class weights used, if any",
    "evaluated_on": "test, or val for a run without test images",
    "test_accuracy": "accuracy on the evaluated split (also test_balanced_accuracy, "
                     "test_macro_f1, test_accuracy_ci95, classification_report)",
    "most_confused": "the most-confused class pairs",
    "finished": "when the run finished (UTC), or null for a checkpoint written mid-run",
    "versions": "Python's and the libraries' versions",
}

# Run keys renamed since version 1: old spelling -> current one.
RENAMED_RUN_KEYS = {"train_rows": "train_images", "test_rows": "test_images"}


# Exports of one model share its stem (smallvggnet.onnx, smallvggnet.tflite),
# so their sidecars keep the extension: smallvggnet.onnx.json.
EXPORT_EXTENSIONS = (".onnx", ".tflite")


def sidecar_path(model_path):
    stem, ext = os.path.splitext(os.fspath(model_path))
    return stem + ext + ".json" if ext.lower() in EXPORT_EXTENSIONS else stem + ".json"


def image_counts(train=None, val=None, test=None):
    """The run section's image counts under their schema names, for the
    counts given: {"train_images": ..., "val_images": ..., "test_images": ...}."""
    counts = {"train_images": train, "val_images": val, "test_images": test}
    return {key: int(n) for key, n in counts.items() if n is not None}


def run_section(run):
    """`run` (a mapping, or None) as the sidecar's "run" section: a new dict
    with the keys renamed since earlier versions under their current names."""
    section = dict(run or {})
    for old, new in RENAMED_RUN_KEYS.items():
        if old in section:
            value = section.pop(old)
            section.setdefault(new, value)
    return section


def save_model_info(model_path, class_names, input_spec, run=None):
    """`input_spec`: an InputSpec (preprocessing.inputspec) or its dict:
    width, height, depth, flatten, resize ("simple" or "aspect"),
    channel_order, scale and optional per-channel mean. `run`: the facts of
    the run (RUN_KEYS). Returns the sidecar as written."""
    info = {"format": FORMAT, "class_names": list(class_names), "input": _input_dict(input_spec),
            "run": run_section(run)}
    _check(info, sidecar_path(model_path))
    write_json(sidecar_path(model_path), info)
    return info


def load_model_info(model_path):
    """The sidecar beside `model_path` as a dict, checked and upgraded to the
    current version; UserError (one line naming the file) when it is missing,
    malformed or written by a newer version."""
    path = sidecar_path(model_path)
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: sidecar not found; it is written beside the model by the "
                        "training scripts (or pass --label-bin, --width and --height)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a valid JSON sidecar ({exc})") from None
    return upgrade(info, path)


def upgrade(info, path):
    """A parsed sidecar, checked, in the current version's form."""
    version = format_version(info, path)
    if version > VERSION:
        raise UserError(f"{path}: written by a newer version {version} of the model sidecar format "
                        f"(this project reads up to {VERSION}); update the project")
    run = info.get("run")
    info = dict(info, format=FORMAT, run=run_section(run) if isinstance(run, dict) or run is None else run)
    _check(info, path)
    return info


def format_version(info, path):
    """The version number of a parsed sidecar's "format"."""
    fmt = info.get("format") if isinstance(info, dict) else None
    name, _, number = fmt.partition("/") if isinstance(fmt, str) else ("", "", "")
    if name != FORMAT_NAME:
        raise UserError(f"{path}: not a pyimagesearch model sidecar (expected format {FORMAT!r})")
    if not number.isdigit() or int(number) < 1:
        raise _malformed(path, f"format {fmt!r} has no version number")
    return int(number)


def _check(info, path):
    names = info.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _malformed(path, "class_names must be a non-empty list of names")
    spec = info.get("input")
    if not isinstance(spec, dict):
        raise _malformed(path, "no input section")
    for key in ("width", "height"):
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _malformed(path, f"input {key} must be a positive whole number, got {value!r}")
    if not isinstance(info.get("run"), dict):
        raise _malformed(path, "the run section must be a JSON object")


def _malformed(path, problem):
    return UserError(f"{path}: malformed model sidecar ({problem}); run the script that wrote the "
                     "model again, or restore the sidecar")


def _input_dict(input_spec):
    # An InputSpec writes only the keys it holds (to_dict); a plain dict as it is.
    return input_spec.to_dict() if hasattr(input_spec, "to_dict") else dict(input_spec)


def load_label_names(path):
    """Read class names from a JSON labels file (a list, or {"class_names": [...]})."""
    try:
        with open(path, encoding="utf-8") as f:
            names = json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: labels file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        # Deliberately no pickle fallback: unpickling runs arbitrary code.
        raise UserError(f"{path}: labels file is not JSON (pickled label files are refused "
                        "because loading them can run code); retrain or write a JSON list") from None
    if isinstance(names, dict):
        names = names.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path}: expected a JSON list of class names")
    return names


def run_stamp(**versions):
    """When a run finished and with which versions (Python's plus `versions`),
    for the sidecar's "run" section."""
    return {"finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "versions": {"python": platform.python_version(), **versions}}
