"""Classify image files with a trained model and its sidecar.

inputs (find the image files, decode them and prepare batches exactly as the
training script did, with numpy and OpenCV only), outputs (the printed
lines and annotated copies), csvfile (the --csv table, written row by row
under a partial name and continued by --resume), runtimes (open a model by
its extension: `.keras` with Keras, `.onnx` with onnxruntime, `.tflite`
with LiteRT, each checked against its sidecar). Only the Keras runtime imports TensorFlow, and
only when a `.keras` model is opened, so predict.py on an exported model runs
on a machine without it.
"""
