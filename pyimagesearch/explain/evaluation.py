"""What every evaluation adds after its classification report: the
most-confused pairs, the top-losses gallery (with Grad-CAM heatmaps for a
ConvNet) and the run's HTML report."""

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..datasets import UnreadableImage, read_image
from ..modelfiles.paths import OutputPaths
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
        # No array (a features file holds no pixels): grey unless the file can be read.
        picture = images[i] if images is not None else np.full((THUMBNAIL, THUMBNAIL, 3), 200, np.uint8)
        name = f"#{i}"
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
                       ("train_rows", "training images"), ("test_rows", "test images"),
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
                paths=None, evaluated_on="test", views=None, views_note="", tiles=()):
    """Write `outputs.top_losses` (the `top_n` worst images, with Grad-CAM
    heatmaps for a ConvNet; none for 0) and `outputs.report`, the run's HTML
    page, from the sidecar's `run` section (which `mistakes` completed).
    `images` are uint8 as the model saw them, `paths` their files; `tiles`
    are drawn instead when the caller made them (hdf5_top_loss_tiles)."""
    from ..inference.inputs import model_input
    from .report import RunReport

    start = time.perf_counter()
    tiles = list(tiles)
    name = run.get("architecture", "model")
    if top_n:
        explainer = None if input_spec.get("flatten") else explainer_for(model)
        tiles = top_loss_tiles(images, labels, probs, class_names, top_n, explainer,
                               lambda batch: model_input(input_spec, batch), paths,
                               input_spec.get("resize", "simple"))
    if tiles:
        heat = any(tile.heatmap is not None for tile in tiles)
        write_top_losses(outputs.top_losses, tiles, f"{name}: the {len(tiles)} {evaluated_on} images with "
                         "the highest loss" + (" (right: Grad-CAM of the prediction)" if heat else ""))
    arguments = run.get("arguments") or {}
    source = run.get("source") or arguments.get("dataset") or arguments.get("hdf5") or arguments.get("db") or "?"
    report = RunReport(
        title=f"{name}: {os.path.basename(outputs.model)}", facts=run_facts(run, class_names, source),
        class_names=list(class_names), accuracy=run[f"{evaluated_on}_accuracy"],
        interval=run.get(f"{evaluated_on}_accuracy_ci95"), evaluated_on=evaluated_on, images=len(labels),
        balanced_accuracy=run.get(f"{evaluated_on}_balanced_accuracy"),
        macro_f1=run.get(f"{evaluated_on}_macro_f1"),
        classification_report=run.get("classification_report"), arguments=arguments,
        confused=run.get("most_confused", []), tiles=tiles, views=views, views_note=views_note,
        figures=[("loss and accuracy", outputs.plot), ("confusion matrix", outputs.confusion)])
    size = report.write(outputs.report)
    print(f"[INFO] {'top losses and ' if tiles else ''}HTML report ({size / 2**20:.1f} MiB) written in "
          f"{time.perf_counter() - start:.1f}s")


def hdf5_top_loss_tiles(db_path, labels, probs, class_names, top_n, explainer, prepare, data_key="images"):
    """top_loss_tiles for images stored in an HDF5 file: only the rows
    shown are read (in file order, as h5py requires), never the whole set.
    Each tile is named by its file (the file's `paths`), or by its row in
    files of older builds."""
    import h5py

    from ..io.hdf5file import read_paths

    order, _ = top_losses(probs, labels, top_n)
    rows = np.sort(order)
    with h5py.File(db_path, "r") as db:
        images = db[data_key][rows] if len(rows) else np.empty((0,))
        files = read_paths(db, rows) if len(rows) else []
    tiles = top_loss_tiles(images, np.asarray(labels)[rows], np.asarray(probs)[rows], class_names, top_n,
                           explainer, prepare)
    names = {f"#{i}": files[i] if files else f"row {rows[i]}" for i in range(len(rows))}
    for tile in tiles:
        tile.name = names[tile.name]
    return tiles


def evaluate_hdf5_run(model, db_path, spec, class_names, outputs, run, top_n=16, evaluated_on="test"):
    """The end of train_alexnet.py: the best model evaluated on one HDF5
    file (one view per image, as crop_accuracy.py's single view), with its
    classification report, confusion matrix, most-confused pairs,
    top-losses gallery and HTML report; the sidecar is rewritten with the
    results. Returns the updated run."""
    import cv2

    from ..evaluation.cropaccuracy import predict_views
    from ..evaluation.cropaccuracy import prepare as prepare_view
    from ..evaluation.reports import report_predictions, save_confusion_matrix
    from ..modelfiles.sidecar import save_model_info
    from ..preprocessing import SimplePreprocessor

    print(f"[INFO] evaluating the best model on {db_path} ({evaluated_on} split)...")
    labels, probs, _ = predict_views(model, db_path, spec, ten_crop=False, progress=False)
    y_pred = probs.argmax(axis=1)
    fields, accuracy = report_predictions(labels, y_pred, class_names, split=evaluated_on)
    run.update({**fields, "evaluated_on": evaluated_on, f"{evaluated_on}_images": len(labels),
                **mistakes(labels, y_pred, class_names, evaluated_on)})
    save_confusion_matrix(outputs.confusion, labels, y_pred, class_names,
                          title=f"{run.get('architecture', 'model')}: {evaluated_on} accuracy {accuracy:.3f}")
    save_model_info(outputs.model, class_names, spec, run)
    resize = SimplePreprocessor(spec["width"], spec["height"], inter=cv2.INTER_AREA)
    tiles = hdf5_top_loss_tiles(db_path, labels, probs, class_names, top_n, explainer_for(model) if top_n else None,
                                lambda images: prepare_view(images, resize, spec))
    explain_run(model, None, labels, probs, class_names, spec, outputs, run, 0, evaluated_on=evaluated_on,
                tiles=tiles)
    return run


@dataclass
class ReportPaths(OutputPaths):
    """The outputs explain_run writes for a script that trains nothing
    (crop_accuracy.py, train_model.py): OutputPaths' names, after `name`
    instead of the model's stem (no labels or plot of their own)."""
    name: str = None

    @property
    def stem(self):
        return self.name


def explain_crop_accuracy(model, db_path, spec, results, labels, single, crops, stem, top_n=16,
                          arguments=None):
    """crop_accuracy.py's report: single view against 10-crop with their
    intervals, the 10-crop predictions' confusion matrix, most-confused
    pairs and top losses (heatmaps from the single view). Adds the pairs
    and intervals to `results`; returns the files written."""
    import cv2

    from ..evaluation.bootstrap import accuracy_interval
    from ..evaluation.cropaccuracy import prepare as prepare_view
    from ..evaluation.reports import save_confusion_matrix
    from ..modelfiles.sidecar import image_counts, load_model_info
    from ..preprocessing import SimplePreprocessor

    class_names = results["class_names"]
    views = []
    for name, label, probs in (("single_view", "single view", single), ("ten_crop", "10-crop", crops)):
        accuracy, interval = accuracy_interval(labels, probs.argmax(axis=1))
        results[name]["rank1_ci95"] = interval
        views.append((label, accuracy, interval))
    y_pred = crops.argmax(axis=1)
    paths = ReportPaths(results["model"], None, None, stem)
    training = load_model_info(results["model"]).get("run", {})
    run = {"architecture": training.get("architecture", "model"), "arguments": arguments or {},
           **image_counts(test=len(labels)), "test_accuracy": results["ten_crop"]["rank1"],
           "test_balanced_accuracy": results["ten_crop"].get("balanced_accuracy"),
           "test_macro_f1": results["ten_crop"].get("macro_f1"),
           "classification_report": results["ten_crop"]["classification_report"],
           **mistakes(labels, y_pred, class_names)}
    results["ten_crop"]["most_confused"] = run["most_confused"]
    save_confusion_matrix(paths.confusion, labels, y_pred, class_names,
                          title=f"{run['architecture']}: 10-crop accuracy {run['test_accuracy']:.3f}")
    resize = SimplePreprocessor(spec["width"], spec["height"], inter=cv2.INTER_AREA)
    tiles = hdf5_top_loss_tiles(db_path, labels, crops, class_names, top_n,
                                explainer_for(model) if top_n else None,
                                lambda images: prepare_view(images, resize, spec))
    gain, ci = results["rank1_gain"], results["rank1_gain_ci95"]
    note = (f"10-crop minus single view: {gain * 100:+.2f} points" + (
        f" (95% interval {ci[0] * 100:+.2f} to {ci[1] * 100:+.2f})" if ci else "")
        + f"; 10-crop fixed {results['fixed_by_ten_crop']} images and broke {results['broken_by_ten_crop']}. "
        "The accuracy above, the table and the gallery are 10-crop's.")
    explain_run(model, None, labels, crops, class_names, spec, paths, run, 0, views=views, views_note=note,
                tiles=tiles)
    return [("confusion matrix", paths.confusion)] + (
        [("top losses", paths.top_losses)] if tiles else []) + [("HTML report", paths.report)]


def explain_transfer_run(probs, labels, paths, class_names, run, model_path, top_n=16):
    """train_model.py's evaluation: the most-confused pairs (into `run`, the
    sidecar's section), the top losses drawn from the image files the
    features file names, and the HTML report. Returns the files written."""
    run.update(mistakes(labels, np.asarray(probs).argmax(axis=1), class_names))
    outputs = ReportPaths(model_path, None, None, os.path.splitext(model_path)[0])
    from ..evaluation.reports import save_confusion_matrix

    save_confusion_matrix(outputs.confusion, labels, np.asarray(probs).argmax(axis=1), class_names,
                          title=f"test accuracy {run['test_accuracy']:.3f}")
    tiles = top_loss_tiles(None, labels, probs, class_names, top_n, paths=paths)
    explain_run(None, None, labels, probs, class_names, {}, outputs, run, 0, tiles=tiles)
    return [("confusion matrix", outputs.confusion)] + (
        [("top losses", outputs.top_losses)] if tiles else []) + [("HTML report", outputs.report)]
