"""Write a Keras model in each export format with Keras' own `model.export`,
name the files, open them again for verification, and record the versions
that made them."""

import contextlib
import os
import sys

# format -> (suffix replacing the model's extension, Keras' name for it)
FORMATS = {"onnx": (".onnx", "onnx"), "litert": (".tflite", "litert"),
           "saved_model": ("_saved_model", "tf_saved_model")}
INT8_FORMATS = ("onnx", "litert")


def target_path(model_path, fmt, int8=False):
    """output/smallvggnet.keras -> output/smallvggnet.onnx (_int8.onnx with int8)."""
    return os.path.splitext(model_path)[0] + ("_int8" if int8 else "") + FORMATS[fmt][0]


def write_export(model, path, fmt, **converter_options):
    """model.export, with its progress messages on stderr (stdout is for results)."""
    with contextlib.redirect_stdout(sys.stderr):
        model.export(path, format=FORMATS[fmt][1], verbose=False, **converter_options)
    if fmt == "onnx":
        from .onnxgraph import fuse_channel_affines

        fuse_channel_affines(path)


def open_export(path, fmt):
    """The written export, opened by the runtime predict.py uses for it."""
    if fmt == "onnx":
        from ..inference.onnx_backend import OnnxModel

        return OnnxModel(path)
    if fmt == "litert":
        from ..inference.litert_backend import LiteRTModel

        return LiteRTModel(path)
    return SavedModel(path)


class SavedModel:
    """A SavedModel's serving endpoint with predict_on_batch (TensorFlow Serving
    and TF.js read the folder; this is only for verifying it)."""

    def __init__(self, path):
        import tensorflow as tf

        self.loaded = tf.saved_model.load(path)  # serve's variables live as long as this object
        self.versions = {}

    def predict_on_batch(self, batch):
        return self.loaded.serve(batch).numpy()


def export_versions(path, fmt, runtime):
    """The versions that wrote and will run the export, for its sidecar."""
    import keras
    import tensorflow as tf

    versions = {"tensorflow": tf.__version__, "keras": keras.__version__, **runtime.versions}
    if fmt == "onnx":
        import onnx
        import tf2onnx

        model = onnx.load(path, load_external_data=False)
        versions.update({"tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__,
                         "opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))})
    return versions
