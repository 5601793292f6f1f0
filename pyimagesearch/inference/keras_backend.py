"""Open a `.keras` model. The only inference module that imports Keras (and
with it TensorFlow)."""

import os
import zipfile

import keras

from ..utils.errors import UserError, first_line


def load_keras_model(path):
    """Load a `.keras` model in safe mode (no arbitrary code from lambdas)."""
    if not os.path.exists(path):
        raise UserError(f"{path}: model file not found; train one first (e.g. python train_vgg.py)")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; pass the .keras model file")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a Keras 3 .keras model file")
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad archive
        raise UserError(f"{path}: could not load the model ({first_line(exc)})", 1) from None
