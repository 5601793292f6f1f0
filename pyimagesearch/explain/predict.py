"""predict.py --explain: classify image files and write, beside each
annotated copy, the heatmap of the predicted class (or of a chosen class)
over the image: Grad-CAM for a Keras ConvNet, the class activation map for
a .skops backbone + logistic regression. The heatmaps come from the same
batched forward pass as the probabilities."""

import os

from ..datasets import UnreadableImage, read_image
from ..inference.inputs import decode_batches, in_path_order, model_input
from ..inference.outputs import annotate, write_image
from ..modelfiles.sidecar import load_model_info
from ..utils.errors import UserError
from .heatmap import model_frame, overlay


def class_index_of(name, class_names):
    if name is None:
        return None
    if name not in class_names:
        raise UserError(f"--explain-class {name!r} is not one of the model's classes: "
                        f"{', '.join(class_names)}")
    return class_names.index(name)


def keras_explainer(model, spec, model_path, layer=None):
    """(GradCAM, uint8 batch -> model input) for a Keras classifier, or a
    one-line UserError for a model without a convolutional layer."""
    from .gradcam import GradCAM

    if spec.get("flatten"):
        raise UserError(f"{model_path}: this model takes flattened pixels and has no convolutional "
                        "layer, so there is no heatmap to draw; --explain works for ConvNets "
                        "(SmallVGGNet, AlexNet, fine-tuned backbones, .skops transfer models)")
    explainer = GradCAM(model, layer, where=model_path)
    return explainer, lambda images: model_input(spec, images)


def transfer_explainer(classifier, extractor, model_path, layer=None):
    """(ClassActivationMap, identity) for a .skops model (its extractor prepares the images)."""
    from .cam import ClassActivationMap

    if layer is not None:
        raise UserError("--explain-layer does not apply to a .skops model: its class activation map "
                        "is exact on the feature map the backbone averages, and on no other layer")
    return ClassActivationMap(extractor, classifier, where=model_path), lambda images: images


def explain_paths(explainer, prepare, spec, paths, output, class_names, class_index=None,
                  batch_size=32, suffix="gradcam"):
    """Yield (path, probabilities or None, skip reason or None) for every
    path, like inference.predict_paths, and write `<output>/<stem>_<suffix>.jpg`
    for each image: the heatmap of its predicted class (or `class_index`)
    over the image, labelled. One batch of decoding, forward and backward
    pass at a time."""
    width, height, resize = spec["width"], spec["height"], spec.get("resize", "simple")
    used = set()
    for chunk, images, kept, skipped in decode_batches(spec, paths, batch_size):
        probs = []
        if len(images):
            maps, probs, chosen = explainer.heatmaps(prepare(images), class_index)
            for path, heatmap, index, p in zip(kept, maps, chosen, probs):
                write_overlay(path, heatmap, f"{class_names[index]}: {p[index] * 100:.1f}%",
                              output, used, suffix, resize, width, height)
        yield from in_path_order(chunk, probs, skipped)


def write_overlay(path, heatmap, text, output, used, suffix, resize, width, height):
    try:
        image = model_frame(read_image(path), resize, width, height)
    except UnreadableImage:
        return
    write_image(output, f"{os.path.splitext(os.path.basename(path))[0]}_{suffix}.jpg",
                annotate(overlay(image, heatmap), f"{suffix} {text}"), used, "heatmap image")


def explained_results(args, paths, class_names, model, spec_or_extractor):
    """predict.py's results with --explain: (model, spec) for a Keras model,
    (classifier, FeatureExtractor) for a .skops one."""
    index = class_index_of(args.explain_class, class_names)
    if args.model.endswith(".skops"):
        extractor = spec_or_extractor
        explainer, prepare = transfer_explainer(model, extractor, args.model, args.explain_layer)
        spec = load_model_info(args.model)["input"]
        suffix = "cam"
    else:
        spec = spec_or_extractor
        explainer, prepare = keras_explainer(model, spec, args.model, args.explain_layer)
        suffix = "gradcam"
    return explain_paths(explainer, prepare, spec, paths, args.output, class_names, index,
                         args.batch_size, suffix)
