"""Which explainer draws a model's heatmaps, and the images it takes.

An ImageExplainer pairs an explainer (GradCAM here, or the transfer
pipeline's ClassActivationMap) with the step that turns uint8 images into
its input, so the gallery and predict.py --explain hand it images as they
were decoded, whatever the model."""

import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..inference.inputs import model_input
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError


@dataclass
class ImageExplainer:
    explainer: object              # .heatmaps(batch, class_index) -> (maps, probs, classes)
    prepare: Callable              # uint8 images -> the explainer's input batch
    name: str = "gradcam"          # names the heatmap files and labels: <image>_<name>.jpg

    def heatmaps(self, images, class_index=None):
        """(maps (N, h, w) in 0..1, probabilities (N, classes), class of each
        map) for uint8 `images`: the predicted class's, or `class_index`."""
        return self.explainer.heatmaps(self.prepare(images), class_index)


def keras_explainer(model, spec, model_path, layer=None):
    """Grad-CAM of a Keras classifier fed as `spec` says, or a one-line
    UserError for a model without a convolutional layer."""
    from .gradcam import GradCAM

    spec = InputSpec.from_dict(spec)
    if spec.flatten:
        raise UserError(f"{model_path}: this model takes flattened pixels and has no convolutional "
                        "layer, so there is no heatmap to draw; --explain works for ConvNets "
                        "(SmallVGGNet, AlexNet, fine-tuned backbones, .skops transfer models)")
    return ImageExplainer(GradCAM(model, layer, where=model_path), lambda images: model_input(spec, images))


def explainer_for(model, prepare):
    """Grad-CAM of `model` for the top-losses gallery, or None (with a note)
    for a model without a convolutional layer: its gallery shows the images
    alone."""
    from .gradcam import GradCAM

    try:
        return ImageExplainer(GradCAM(model), prepare)
    except UserError as exc:
        print(f"[NOTE] no heatmaps in the top-losses gallery: {exc}", file=sys.stderr)
        return None
