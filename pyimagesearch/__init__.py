"""Small, copyable building blocks for training Keras image classifiers.

The book's units, each copyable on its own: preprocessing (resizers and
friends), datasets (find, decode and load folder datasets), io (HDF5),
nn (model builders), callbacks (TrainingMonitor), utils.
The stages built on them: training (the run engine every trainer shares),
evaluation (reports, intervals, 10-crop), explain (Grad-CAM, top losses, the
HTML report), transfer (backbones, features, classifier, fine-tuning),
inference (load a model or an export and classify files, TensorFlow only for
.keras), export (ONNX, LiteRT).
"""
