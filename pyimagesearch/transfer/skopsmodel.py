"""Classify image files with a backbone + classifier saved by train_model.py:
the JSON sidecar beside the .skops file names the backbone, its weights and
input size, so images are prepared exactly as for training."""

import os

from ..modelfiles.sidecar import load_model_info, sidecar_path
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError
from .backbones import BACKBONES, build_backbone, check_backbone_args, file_sha256
from .classifier import load_classifier


def load_backbone(spec, where):
    """Build the backbone a spec (an InputSpec or its dict) describes; `where`
    names the file it came from."""
    import keras

    spec = InputSpec.from_dict(spec, where)
    weights = spec.weights
    if spec.backbone not in BACKBONES:
        raise UserError(f"{where}: unknown backbone {spec.backbone!r}; retrain with train_model.py")
    if weights not in (None, "imagenet"):
        if not os.path.isfile(weights):
            raise UserError(f"{where}: backbone weights {weights} not found; put the file back there "
                            "or extract features and train again", 1)
        if spec.weights_sha256 and file_sha256(weights) != spec.weights_sha256:
            raise UserError(f"{where}: {weights} is not the weights file the classifier was "
                            "trained with (checksum differs); restore it or train again", 1)
    check_backbone_args(spec.backbone, weights, spec.width, spec.alpha)
    # With random weights (--weights none) the seed makes the same backbone again.
    keras.utils.set_random_seed(spec.seed or 0)
    return build_backbone(spec.backbone, weights, spec.width, spec.alpha)


def load_transfer_model(model_path, batch_size=32, workers=None):
    """Return (classifier, class_names, FeatureExtractor) for a .skops model."""
    classifier = load_classifier(model_path)
    info = load_model_info(model_path)
    where = sidecar_path(model_path)
    spec, class_names = InputSpec.from_dict(info["input"], where), info["class_names"]
    if not spec.is_transfer:
        raise UserError(f"{where}: names no backbone; is this the sidecar of a train_model.py model?")
    if len(getattr(classifier, "classes_", [])) != len(class_names):
        raise UserError(f"{model_path}: the classifier knows {len(classifier.classes_)} classes but "
                        f"the sidecar names {len(class_names)}; they belong to different runs")
    from .features import FeatureExtractor

    model = load_backbone(spec, where)
    extractor = FeatureExtractor(model, spec.backbone, spec.width, resize=spec.resize,
                                 batch_size=batch_size, workers=workers, flip=spec.flip)
    if spec.feature_dim is not None and extractor.dim != spec.feature_dim:
        raise UserError(f"{where}: the backbone gives {extractor.dim} features, the classifier was "
                        f"trained on {spec.feature_dim}", 1)
    return classifier, class_names, extractor


def predict_paths(classifier, extractor, paths):
    """Yield (path, probabilities or None, skip reason or None), in order."""
    from ..inference.inputs import in_path_order

    for chunk, kept, features, skipped in extractor.extract(paths):
        yield from in_path_order(chunk, classifier.predict_proba(features) if kept else (), skipped)


def check_no_input_flags(label_bin=None, width=None, height=None, flatten=None):
    """The tutorial's input flags (predict.py's --label-bin, --width,
    --height, --flatten) cannot apply: the sidecar fixes the input."""
    given = {"label-bin": label_bin, "width": width, "height": height, "flatten": flatten}
    for flag, value in given.items():
        if value is not None:
            raise UserError(f"--{flag} does not apply to a .skops model; its sidecar sets the input")
