"""Fold a transfer pipeline (an ImageNet backbone and a scikit-learn logistic
regression on its features) into one Keras model, so it exports to a single
ONNX or LiteRT file that takes the resized image's pixels."""

import keras
import numpy as np

from ..preprocessing.inputspec import InputSpec
from ..transfer.backbones import preprocess_function
from ..transfer.classifier import linear_form
from ..transfer.skopsmodel import load_backbone


def dense_weights(classifier, where):
    """(kernel (D, C), bias (C,)) of a dense layer whose softmax equals
    `classifier.predict_proba` (see transfer.classifier.linear_form)."""
    weights, biases = linear_form(classifier, where)
    return weights.T.astype(np.float32), biases.astype(np.float32)


def fold_transfer_model(classifier, spec, where):
    """One Keras model: float BGR pixels (0..255, the resized image) ->
    class probabilities, computing what FeatureExtractor + predict_proba
    compute (channel swap, the backbone's preprocess_input, the optional
    mirror average, the classifier)."""
    spec = InputSpec.from_dict(spec, where)
    backbone = load_backbone(spec, where)
    kernel, bias = dense_weights(classifier, where)
    pixels = keras.Input((spec.height, spec.width, 3), name="image")
    features = backbone(BackboneInput(spec.backbone)(pixels))
    if spec.flip:
        mirrored = backbone(BackboneInput(spec.backbone, mirror=True)(pixels))
        features = keras.layers.Average()([features, mirrored])
    head = keras.layers.Dense(len(bias), activation="softmax", name="classifier")
    model = keras.Model(pixels, head(features), name=f"{spec.backbone}_logreg")
    head.set_weights([kernel, bias])
    return model


class BackboneInput(keras.layers.Layer):
    """BGR -> RGB (optionally mirrored) and the backbone's own preprocess_input."""

    def __init__(self, backbone, mirror=False, **kwargs):
        super().__init__(**kwargs)
        self.backbone, self.mirror = backbone, mirror
        self.preprocess_input = preprocess_function(backbone)

    def call(self, x):
        # Reversed slices, not keras.ops.flip: tf2onnx turns a flip (ReverseV2)
        # into ReverseSequence between two Transposes, a large share of
        # onnxruntime's time; a slice with step -1 is one Slice node
        # (benchmarks/bench_export.py; the figures: BENCHMARKS.md "Exports").
        x = x[..., ::-1]
        if self.mirror:
            x = x[:, :, ::-1, :]
        return self.preprocess_input(x)
