"""What every evaluation adds after its classification report: the
most-confused pairs, the top-losses gallery (with Grad-CAM heatmaps for a
ConvNet) and the run's HTML report."""

import os
import sys
import time

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


def run_facts(run, class_names, source):
    """The report's "Run" table from a sidecar's run section."""
    facts = {"dataset": source, "classes": ", ".join(class_names)}
    for key, label in (("architecture", "model"), ("train_images", "training images"),
                       ("val_images", "validation images"), ("test_images", "test images"),
                       ("epochs_run", "epochs run"), ("best_epoch", "best epoch"),
                       ("train_seconds", "training time (s)"), ("distribution", "distribution"),
                       ("finished", "finished (UTC)")):
        if run.get(key) is not None:
            facts[label] = run[key]
    versions = run.get("versions") or {}
    if versions:
        facts["versions"] = ", ".join(f"{name} {version}" for name, version in versions.items())
    return facts


def mistakes(y_true, y_pred, class_names, evaluated_on="test"):
    """The sidecar's facts about the mistakes, printed after the
    classification report: the most-confused pairs, and the accuracy's 95%
    bootstrap interval."""
    from ..evaluation.bootstrap import accuracy_interval

    pairs = confused_pairs(y_true, y_pred, class_names)
    accuracy, interval = accuracy_interval(y_true, y_pred)
    if interval:
        print(f"[INFO] {evaluated_on} accuracy {accuracy:.4f}, 95% bootstrap interval "
              f"{interval[0]:.4f} to {interval[1]:.4f} ({len(y_true)} images)")
    return {"most_confused": pairs, f"{evaluated_on}_accuracy_ci95": interval}


def explain_run(model, images, labels, probs, class_names, input_spec, outputs, run, top_n=16,
                paths=None, evaluated_on="test", views=None, views_note=""):
    """Write `outputs.top_losses` (the `top_n` worst images, with Grad-CAM
    heatmaps for a ConvNet; none for 0) and `outputs.report`, the run's HTML
    page, from the sidecar's `run` section (which `mistakes` completed).
    `images` are uint8 as the model saw them, `paths` their files."""
    from ..preprocessing.modelinput import to_model_input
    from .report import RunReport

    start = time.perf_counter()
    tiles = []
    name = run.get("architecture", "model")
    if top_n:
        explainer = None if input_spec.get("flatten") else explainer_for(model)

        def prepare(batch):
            return to_model_input(batch, scale=input_spec.get("scale", 1 / 255.0), mean=input_spec.get("mean"))
        tiles = top_loss_tiles(images, labels, probs, class_names, top_n, explainer, prepare, paths,
                               input_spec.get("resize", "simple"))
        write_top_losses(outputs.top_losses, tiles, f"{name}: the {len(tiles)} {evaluated_on} images with "
                         "the highest loss" + (" (right: Grad-CAM of the prediction)" if explainer else ""))
    arguments = run.get("arguments") or {}
    source = arguments.get("dataset") or arguments.get("hdf5") or "?"
    report = RunReport(
        title=f"{name}: {os.path.basename(outputs.model)}", facts=run_facts(run, class_names, source),
        class_names=list(class_names), accuracy=run[f"{evaluated_on}_accuracy"],
        interval=run.get(f"{evaluated_on}_accuracy_ci95"), evaluated_on=evaluated_on, images=len(labels),
        classification_report=run.get("classification_report"), arguments=arguments,
        confused=run.get("most_confused", []), tiles=tiles, views=views, views_note=views_note,
        figures=[("loss and accuracy", outputs.plot), ("confusion matrix", outputs.confusion)])
    size = report.write(outputs.report)
    print(f"[INFO] {'top losses and ' if tiles else ''}HTML report ({size / 2**20:.1f} MiB) written in "
          f"{time.perf_counter() - start:.1f}s")
