"""The JSON sidecar saved beside every model: what predict.py needs to feed it
(class names, input size, flattening, channel order, scaling) and the facts of
the run that made it."""

import datetime
import json
import os
import platform

from ..utils.atomic import write_json
from ..utils.errors import UserError

FORMAT = "pyimagesearch-model/1"


# Exports of one model share its stem (smallvggnet.onnx, smallvggnet.tflite),
# so their sidecars keep the extension: smallvggnet.onnx.json.
EXPORT_EXTENSIONS = (".onnx", ".tflite")


def sidecar_path(model_path):
    stem, ext = os.path.splitext(os.fspath(model_path))
    return stem + ext + ".json" if ext.lower() in EXPORT_EXTENSIONS else stem + ".json"


def save_model_info(model_path, class_names, input_spec, run=None):
    """`input_spec`: width, height, depth, flatten, resize ("simple" or
    "aspect"), channel_order, scale and optional per-channel mean."""
    info = {"format": FORMAT, "class_names": list(class_names), "input": dict(input_spec),
            "run": run or {}}
    write_json(sidecar_path(model_path), info)
    return info


def load_model_info(model_path):
    path = sidecar_path(model_path)
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: sidecar not found; it is written beside the model by the "
                        "training scripts (or pass --label-bin, --width and --height)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a valid JSON sidecar ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or "input" not in info \
            or not info.get("class_names"):
        raise UserError(f"{path}: not a pyimagesearch model sidecar (expected format {FORMAT!r})")
    return info


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
