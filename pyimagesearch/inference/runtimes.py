"""Open a model for inference by its file's extension, with its sidecar:
`.keras` with Keras, `.onnx` with onnxruntime, `.tflite` with LiteRT. Every
runtime offers input_shape, output_shape and predict_on_batch, so the rest of
predict.py does not care which one it got."""

import importlib.util
import os
from typing import NamedTuple

from ..modelfiles.sidecar import load_label_names, load_model_info, sidecar_path
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError
from .exportfile import REQUIREMENTS_FILE

# Exported formats: extension -> the format name export.py and Keras use.
EXPORT_FORMATS = {".onnx": "onnx", ".tflite": "litert"}


class Predictor(NamedTuple):
    """A model opened for inference with what its sidecar says: it unpacks
    as (model, class_names, spec) too."""
    model: object          # anything with predict_on_batch, input_shape, output_shape
    class_names: list
    spec: dict             # the sidecar's input spec: how to prepare its images


def load_model(path, threads=None):
    """The model at `path`, opened by the runtime its extension names;
    `threads` (default: every core) applies to the exports' runtimes; Keras
    keeps its own."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".onnx":
        from .onnx_backend import OnnxModel

        return OnnxModel(path, threads)
    if ext == ".tflite":
        from .litert_backend import LiteRTModel

        return LiteRTModel(path, threads)
    require_tensorflow(path)
    from .keras_backend import load_keras_model

    return load_keras_model(path)


def require_tensorflow(path):
    """A .keras or .skops model needs the full stack; say so in one line on a
    machine set up with requirements-predict.txt only."""
    if any(importlib.util.find_spec(m) is None for m in ("tensorflow", "keras")):
        raise UserError(f"{path}: running this model needs TensorFlow and Keras, which are not "
                        "installed; pip install -r requirements.txt, or export it with export.py "
                        f"and run the .onnx or .tflite file (needs only {REQUIREMENTS_FILE})", 1)


def load_predictor(model_path, label_bin=None, width=None, height=None, flatten=None, *, threads=None):
    """Return a Predictor (model, class_names, input_spec). The sidecar beside the model
    supplies everything; the tutorial's flags override it, and let a model
    without a sidecar be used at all."""
    model = load_model(model_path, threads)
    if os.path.exists(sidecar_path(model_path)):
        info = load_model_info(model_path)
        check_export_sidecar(model_path, info)
        class_names, spec = info["class_names"], InputSpec.from_dict(info["input"], sidecar_path(model_path))
    elif label_bin and width and height:
        class_names, spec = None, InputSpec(width, height, flatten=bool(flatten))
    else:
        load_model_info(model_path)  # raises the "sidecar not found" message
    if label_bin:
        class_names = load_label_names(label_bin)
    overrides = {"width": width, "height": height, "flatten": flatten}
    spec = spec.replace(**{key: value for key, value in overrides.items() if value is not None})
    check_model_matches(model, model_path, class_names, spec)
    return Predictor(model, class_names, spec)


def check_export_sidecar(model_path, info):
    """An exported model's sidecar must come from export.py for that format:
    a training sidecar copied beside it may describe different preprocessing
    (a transfer model's export takes raw pixels, for one)."""
    fmt = EXPORT_FORMATS.get(os.path.splitext(os.fspath(model_path))[1].lower())
    written_for = (info.get("export") or {}).get("format")
    if fmt and written_for != fmt:
        raise UserError(f"{sidecar_path(model_path)}: does not describe this {fmt} export (it was "
                        f"written for {written_for or 'a trained model'}); export the model again "
                        "with export.py", 1)


def check_model_matches(model, model_path, class_names, spec):
    spec = InputSpec.from_dict(spec)
    expected = ((spec.width * spec.height * spec.depth,) if spec.flatten
                else (spec.height, spec.width, spec.depth))
    actual = tuple(model.input_shape[1:])
    if actual != expected:
        raise UserError(f"{model_path}: model expects input {actual} but the sidecar/flags give "
                        f"{expected}; check --width/--height/--flatten or the sidecar")
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise UserError(f"{model_path}: model has {outputs} outputs but the labels name "
                        f"{len(class_names)} classes; the sidecar or --label-bin belongs to "
                        "another model")
