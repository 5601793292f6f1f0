"""predict.py --explain: classify image files and write, beside each
annotated copy, the heatmap of the predicted class (or of a chosen class)
over the image: Grad-CAM for a Keras ConvNet, the class activation map for
a .skops backbone + logistic regression (transfer.cam). The heatmaps come
from the same batched forward pass as the probabilities."""

import os
from dataclasses import dataclass, field

from ..datasets import UnreadableImage, read_image
from ..inference.inputs import decode_batches, in_path_order
from ..inference.outputs import annotate, write_image
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError
from .heatmap import model_frame, overlay


def class_index_of(name, class_names):
    if name is None:
        return None
    if name not in class_names:
        raise UserError(f"--explain-class {name!r} is not one of the model's classes: "
                        f"{', '.join(class_names)}")
    return class_names.index(name)


@dataclass
class OverlayFiles:
    """Where each image's heatmap goes: `<folder>/<stem>_<explainer>.jpg`,
    drawn over the part of the image the model saw (`spec`: its width,
    height and resize)."""
    folder: str
    spec: InputSpec  # or a sidecar's "input" dict
    used: set = field(default_factory=set)  # names written in this run

    def __post_init__(self):
        self.spec = InputSpec.from_dict(self.spec)

    def write(self, path, heatmap, label, explainer_name):
        try:
            image = model_frame(read_image(path), self.spec.resize, self.spec.width, self.spec.height)
        except UnreadableImage:
            return
        write_image(self.folder, f"{os.path.splitext(os.path.basename(path))[0]}_{explainer_name}.jpg",
                    annotate(overlay(image, heatmap), f"{explainer_name} {label}"), self.used, "heatmap image")


def explain_paths(explainer, spec, paths, output, class_names, class_index=None, batch_size=32):
    """Yield (path, probabilities or None, skip reason or None) for every
    path, like inference.predict_paths, and write `<output>/<stem>_<name>.jpg`
    for each image: the heatmap of its predicted class (or `class_index`)
    over the image, labelled. `explainer` is an explainers.ImageExplainer.
    One batch of decoding, forward and backward pass at a time."""
    files = OverlayFiles(output, spec)
    for chunk, images, kept, skipped in decode_batches(spec, paths, batch_size):
        probs = []
        if len(images):
            maps, probs, chosen = explainer.heatmaps(images, class_index)
            for path, heatmap, index, p in zip(kept, maps, chosen, probs):
                files.write(path, heatmap, f"{class_names[index]}: {p[index] * 100:.1f}%", explainer.name)
        yield from in_path_order(chunk, probs, skipped)
