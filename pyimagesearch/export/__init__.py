"""Export a trained model for deployment without TensorFlow.

options (what export.py is asked to do, with its defaults), source (open a .keras model, or fold a .skops transfer pipeline into one
Keras graph, with the way to compute the original's predictions), fold (the
backbone + logistic regression as a single Keras model), formats (write ONNX,
LiteRT and SavedModel files with Keras' `model.export`, and open them
again), quantize (int8: onnxruntime static quantization, LiteRT
full-integer), splits (the run's own training and test images, for
calibration and accuracy) and verify (the original against the export).
"""
