"""Class activation maps (Zhou et al. 2016) for the transfer pipeline: a
backbone whose last feature map is global-average pooled, then a linear
classifier (train_model.py's logistic regression).

The classifier's score for class c is w_c . mean_ij F_ij + b_c, which is
mean_ij (w_c . F_ij) + b_c: the map M_c(i, j) = w_c . F_ij, averaged over
the grid, gives the score exactly. So for this model the map is not an
approximation: it is how the score splits over the image's positions.
"""

import numpy as np

from ..explain.explainers import ImageExplainer
from ..explain.gradcam import normalise_maps
from ..utils.errors import UserError
from .classifier import linear_form


def class_maps(feature_maps, weights, class_index):
    """M(i, j) = w_c . F_ij for each image's class: `feature_maps` (N, h, w,
    D), `weights` (classes, D), `class_index` (N,) -> (N, h, w)."""
    return np.einsum("nhwd,nd->nhw", np.asarray(feature_maps, np.float64), weights[class_index])


def pooling_input_model(backbone):
    """A model from the backbone's input to the feature map its final global
    average pooling averages."""
    import keras

    pools = [layer for layer in backbone.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)]
    if not pools:
        raise UserError(f"{backbone.name}: the backbone does not end in global average pooling, so "
                        "its features have no class activation map")
    return keras.Model(backbone.inputs, pools[-1].input)


class ClassActivationMap:
    """CAM heatmaps and probabilities of a backbone + linear classifier, a
    batch of uint8 BGR images at a time, prepared exactly as
    transfer.features.FeatureExtractor prepares them (with its mirror-image
    averaging, which averages the maps too)."""

    def __init__(self, extractor, classifier, where="the classifier"):
        self.extractor = extractor
        self.classifier = classifier
        self.weights, self.biases = linear_form(classifier, where)
        self.feature_model = pooling_input_model(extractor.model)
        self.layer_name = self.feature_model.outputs[0]._keras_history[0].name

    def feature_maps(self, images):
        """uint8 BGR (N, H, W, 3) -> the backbone's last feature maps (N, h, w, D)
        and, with the extractor's flip, those of the mirror images."""
        x = self.extractor.preprocess_input(images[..., ::-1].astype(np.float32))
        maps = np.asarray(self.feature_model.predict_on_batch(x))
        mirrored = np.asarray(self.feature_model.predict_on_batch(x[:, :, ::-1])) if self.extractor.flip else None
        return maps, mirrored

    def raw_maps(self, images, class_index=None):
        """(maps (N, h, w) in score units, probabilities (N, classes), class
        of each map). Each map's mean plus the class's bias is the
        classifier's score for it."""
        maps, mirrored = self.feature_maps(images)
        pooled = maps.mean(axis=(1, 2))
        if mirrored is not None:
            pooled = (pooled + mirrored.mean(axis=(1, 2))) / 2
        probs = self.classifier.predict_proba(pooled.astype(np.float32))
        chosen = (probs.argmax(axis=1) if class_index is None
                  else np.broadcast_to(np.asarray(class_index), len(images)).astype(int))
        cams = class_maps(maps, self.weights, chosen)
        if mirrored is not None:
            cams = (cams + class_maps(mirrored, self.weights, chosen)[:, :, ::-1]) / 2
        return cams, probs, chosen

    def heatmaps(self, images, class_index=None):
        """Like GradCAM.heatmaps: maps scaled to 0..1 (positive evidence only)."""
        cams, probs, chosen = self.raw_maps(images, class_index)
        return normalise_maps(cams), probs, chosen


def cam_explainer(classifier, extractor, model_path, layer=None):
    """The class activation map of a .skops model, as predict.py --explain
    draws it; its images go in as decoded (the extractor prepares them)."""
    if layer is not None:
        raise UserError("--explain-layer does not apply to a .skops model: its class activation map "
                        "is exact on the feature map the backbone averages, and on no other layer")
    return ImageExplainer(ClassActivationMap(extractor, classifier, where=model_path), lambda images: images,
                          name="cam")
