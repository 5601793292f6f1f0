"""The model to export: a Keras graph ready for `model.export`, the sidecar
input spec its exports take, and the original's own predictions to verify
them against."""

import os
from dataclasses import dataclass

import numpy as np

from ..inference.inputs import predict_paths
from ..modelfiles.sidecar import load_model_info, sidecar_path
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError
from .rewrite import exportable_model
from .verify import kept_results


@dataclass
class ExportSource:
    path: str
    model: object        # Keras model to convert, already called once (the export needs it)
    class_names: list
    spec: InputSpec      # the exports' input spec (sidecar "input")
    info: dict           # the original sidecar
    predict: object      # paths -> (kept paths, probabilities) computed the original way


def load_source(path, batch_size=32):
    if not os.path.exists(path):
        raise UserError(f"{path}: model file not found; train one first (e.g. python train_vgg.py)")
    if path.endswith(".skops"):
        return _transfer_source(path, batch_size)
    if not path.endswith(".keras"):
        raise UserError(f"{path}: export takes a .keras model or a .skops transfer classifier")
    from ..inference.runtimes import load_predictor

    model, class_names, spec = load_predictor(path)  # spec: an InputSpec from the sidecar
    info = load_model_info(path)
    _call_once(model)

    def predict(paths):
        return kept_results(predict_paths(model, spec, paths, batch_size))

    return ExportSource(path, exportable_model(model), class_names, spec, info, predict)


def _transfer_source(path, batch_size):
    from ..transfer.skopsmodel import load_transfer_model
    from ..transfer.skopsmodel import predict_paths as predict_transfer
    from .fold import fold_transfer_model

    classifier, class_names, extractor = load_transfer_model(path, batch_size)
    info = load_model_info(path)
    features = InputSpec.from_dict(info["input"], sidecar_path(path))
    model = fold_transfer_model(classifier, features, path)
    _call_once(model)
    # The folded graph takes the resized BGR image's pixels as floats
    # (0..255); everything else happens inside it.
    spec = InputSpec(features.width, features.height, resize=features.resize, scale=1.0)

    def predict(paths):
        return kept_results(predict_transfer(classifier, extractor, paths))

    return ExportSource(path, exportable_model(model), class_names, spec, info, predict)


def _call_once(model):
    """Keras' export traces a model only after it has been called."""
    model(np.zeros((1, *model.input_shape[1:]), np.float32))
