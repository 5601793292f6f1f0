"""Classify image files with a trained model and its sidecar.

inputs (find the image files, decode them and prepare batches exactly as the
training script did, with numpy and OpenCV only), outputs (the printed
lines, CSV and annotated copies), runtimes (open a model by its extension:
`.keras` with Keras, `.onnx` with onnxruntime, `.tflite` with LiteRT, each
checked against its sidecar). Only the Keras runtime imports TensorFlow, and
only when a `.keras` model is opened, so predict.py on an exported model runs
on a machine without it.
"""


def __getattr__(name):
    # The Keras loader used to live here; keep `from pyimagesearch.inference
    # import load_classifier` working without importing anything heavy
    # up front.
    if name in ("load_classifier", "check_model_matches"):
        from . import runtimes

        return getattr(runtimes, name)
    if name == "load_keras_model":
        from .keras_backend import load_keras_model

        return load_keras_model
    if name in ("expand_image_args", "predict_paths", "in_path_order", "load_batches"):
        from . import inputs

        return getattr(inputs, name)
    if name in ("write_predictions", "top_k_labels", "annotate"):
        from . import outputs

        return getattr(outputs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
