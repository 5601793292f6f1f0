"""Fold a transfer pipeline (an ImageNet backbone and a scikit-learn logistic
regression on its features) into one Keras model, so it exports to a single
ONNX or LiteRT file that takes the resized image's pixels."""

import keras
import numpy as np

from ..transfer.backbones import preprocess_function
from ..transfer.predict import load_backbone
from ..utils.errors import UserError


def dense_weights(classifier, where):
    """(kernel (D, C), bias (C,)) of a dense layer whose softmax equals
    `classifier.predict_proba`, for a LogisticRegression, optionally after a
    StandardScaler in a Pipeline.

    A multinomial logistic regression's probabilities are the softmax of its
    decision function. A binary one gives sigmoid(d) for the second class,
    which is the softmax of the logits (0, d). A one-vs-rest model normalises
    sigmoids instead, which no softmax layer reproduces: it is refused.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    steps = list(getattr(classifier, "steps", [("classifier", classifier)]))
    *transforms, (_, model) = steps
    if not isinstance(model, LogisticRegression):
        raise UserError(f"{where}: holds a {type(model).__name__}; only a logistic regression (as "
                        "train_model.py writes) can be exported", 1)
    coef, intercept = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    n_classes = len(model.classes_)
    if n_classes == 2:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    elif getattr(model, "multi_class", "auto") == "ovr" or model.solver == "liblinear":
        raise UserError(f"{where}: a one-vs-rest logistic regression normalises sigmoids, which "
                        "a softmax layer cannot reproduce; retrain it with train_model.py "
                        "(multinomial)", 1)
    for name, step in reversed(transforms):
        if not isinstance(step, StandardScaler):
            raise UserError(f"{where}: pipeline step {name!r} is a {type(step).__name__}; only a "
                            "StandardScaler before the logistic regression can be exported", 1)
        mean = step.mean_ if step.with_mean else 0.0
        scale = step.scale_ if step.with_std else 1.0
        # w . ((f - mean) / scale) + b == (w / scale) . f + (b - w . (mean / scale))
        intercept = intercept - coef @ (np.zeros(coef.shape[1]) + mean / scale)
        coef = coef / scale
    return coef.T.astype(np.float32), intercept.astype(np.float32)


def fold_transfer_model(classifier, spec, where):
    """One Keras model: float BGR pixels (0..255, the resized image) ->
    class probabilities, computing what FeatureExtractor + predict_proba
    compute (channel swap, the backbone's preprocess_input, the optional
    mirror average, the classifier)."""
    backbone = load_backbone(spec, where)
    kernel, bias = dense_weights(classifier, where)
    pixels = keras.Input((spec["height"], spec["width"], 3), name="image")
    features = backbone(BackboneInput(spec["backbone"])(pixels))
    if spec.get("flip"):
        mirrored = backbone(BackboneInput(spec["backbone"], mirror=True)(pixels))
        features = keras.layers.Average()([features, mirrored])
    head = keras.layers.Dense(len(bias), activation="softmax", name="classifier")
    model = keras.Model(pixels, head(features), name=f"{spec['backbone']}_logreg")
    head.set_weights([kernel, bias])
    return model


class BackboneInput(keras.layers.Layer):
    """BGR -> RGB (optionally mirrored) and the backbone's own preprocess_input."""

    def __init__(self, backbone, mirror=False, **kwargs):
        super().__init__(**kwargs)
        self.backbone, self.mirror = backbone, mirror
        self.preprocess_input = preprocess_function(backbone)

    def call(self, x):
        x = keras.ops.flip(x, axis=-1)
        if self.mirror:
            x = keras.ops.flip(x, axis=2)
        return self.preprocess_input(x)
