"""Small, copyable building blocks for training Keras image classifiers.

Sub-packages: preprocessing (resizers and friends), datasets (find, decode and
load folder datasets), nn (model builders), callbacks (TrainingMonitor), utils.
"""
