"""What every evaluation adds after its classification report: the
most-confused pairs, the top-losses gallery (with Grad-CAM heatmaps for a
ConvNet) and the run's HTML report."""

import os
import sys

import numpy as np

from ..datasets import UnreadableImage, read_image
from ..preprocessing import RESIZERS
from ..utils.errors import UserError
from .gallery import Tile, save_gallery
from .toplosses import format_confused, most_confused, top_losses

THUMBNAIL = 128  # pixels: the gallery's and the report's pictures, not full photos


def confused_pairs(y_true, y_pred, class_names):
    """The most-confused pairs, printed (after the classification report) and
    returned for the sidecar."""
    pairs = most_confused(y_true, y_pred, class_names)
    print(format_confused(pairs))
    return pairs


def explainer_for(model, layer=None):
    """A GradCAM of `model`, or None (with a note) for a model without a
    convolutional layer: its gallery shows the images alone."""
    from .gradcam import GradCAM

    try:
        return GradCAM(model, layer)
    except UserError as exc:
        print(f"[NOTE] no heatmaps in the top-losses gallery: {exc}", file=sys.stderr)
        return None


def top_loss_tiles(images, labels, probs, class_names, n=16, explainer=None, prepare=None,
                   paths=None, resize="simple", batch_size=32):
    """Tiles of the `n` images with the highest loss, worst first.

    `images` are uint8 as the model saw them before `prepare` (uint8 batch ->
    model input) made them floats; `paths` (optional) their files, whose
    thumbnail replaces the small model-sized copy (cut to the same frame
    with `resize`, so the heatmap still fits it). With an `explainer`
    (GradCAM), each tile carries the heatmap of its predicted class."""
    order, losses = top_losses(probs, labels, n)
    maps = [None] * len(order)
    if explainer is not None and len(order):
        maps = np.concatenate([explainer.heatmaps(prepare(images[order[i:i + batch_size]]))[0]
                               for i in range(0, len(order), batch_size)])
    resizer = RESIZERS[resize](THUMBNAIL, THUMBNAIL)
    tiles = []
    for i, loss, heatmap in zip(order, losses, maps):
        picture, name = images[i], f"#{i}"
        if paths is not None:
            name = os.path.basename(paths[i])
            try:
                picture = resizer.preprocess(read_image(paths[i]))
            except (UnreadableImage, OSError):
                pass  # moved or deleted since: the model-sized copy still shows it
        predicted = int(np.argmax(probs[i]))
        tiles.append(Tile(picture, name, class_names[int(labels[i])], class_names[predicted],
                          float(probs[i][predicted]), float(loss), heatmap))
    return tiles


def write_top_losses(path, tiles, title):
    """The gallery PNG, or nothing for no tiles (--top-losses 0)."""
    if tiles:
        save_gallery(path, tiles, title)
        return path
    return None
