"""Small, copyable building blocks for training Keras image classifiers.

The book's units, each copyable on its own: preprocessing (resizers and
friends), datasets (find, decode and load folder datasets), io (HDF5),
nn (model builders), callbacks (TrainingMonitor), utils.
The stages built on them: training (the run engine every trainer shares),
evaluation (reports, 10-crop), transfer (backbones, features, classifier),
inference (load a model and classify files).
"""
