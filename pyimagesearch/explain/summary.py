"""The write-up every evaluation ends with, after its classification
report: the top-losses gallery (with Grad-CAM heatmaps for a ConvNet) and
the run's HTML report, for a training run, crop_accuracy.py and
train_model.py."""

import os
import time
from dataclasses import dataclass

import numpy as np

from ..evaluation.confusion import mistakes
from .explainers import explainer_for
from .losstiles import hdf5_top_loss_tiles, top_loss_tiles, write_top_losses


@dataclass(frozen=True)
class ReportFiles:
    """The files an evaluation's write-up reads and writes, named after a
    stem: OutputPaths of a training run has the same fields."""
    model: str             # the model the report is about (its name titles the page)
    confusion: str
    top_losses: str
    report: str
    plot: str = None       # the training curves, if the run drew them

    @classmethod
    def beside(cls, stem, model):
        """`<stem>_confusion.png`, `<stem>_top_losses.png`, `<stem>_report.html`."""
        return cls(model, stem + "_confusion.png", stem + "_top_losses.png", stem + "_report.html")


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
        explainer = None if input_spec.get("flatten") else explainer_for(
            model, lambda batch: model_input(input_spec, batch))
        tiles = top_loss_tiles(images, labels, probs, class_names, top_n, explainer, paths,
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
    from ..modelfiles.sidecar import load_model_info
    from ..preprocessing import SimplePreprocessor

    class_names = results["class_names"]
    views = []
    for name, label, probs in (("single_view", "single view", single), ("ten_crop", "10-crop", crops)):
        accuracy, interval = accuracy_interval(labels, probs.argmax(axis=1))
        results[name]["rank1_ci95"] = interval
        views.append((label, accuracy, interval))
    y_pred = crops.argmax(axis=1)
    paths = ReportFiles.beside(stem, results["model"])
    training = load_model_info(results["model"]).get("run", {})
    run = {"architecture": training.get("architecture", "model"), "arguments": arguments or {},
           "test_images": len(labels), "test_accuracy": results["ten_crop"]["rank1"],
           "test_balanced_accuracy": results["ten_crop"].get("balanced_accuracy"),
           "test_macro_f1": results["ten_crop"].get("macro_f1"),
           "classification_report": results["ten_crop"]["classification_report"],
           **mistakes(labels, y_pred, class_names)}
    results["ten_crop"]["most_confused"] = run["most_confused"]
    save_confusion_matrix(paths.confusion, labels, y_pred, class_names,
                          title=f"{run['architecture']}: 10-crop accuracy {run['test_accuracy']:.3f}")
    resize = SimplePreprocessor(spec["width"], spec["height"], inter=cv2.INTER_AREA)
    explainer = explainer_for(model, lambda images: prepare_view(images, resize, spec)) if top_n else None
    tiles = hdf5_top_loss_tiles(db_path, labels, crops, class_names, top_n, explainer)
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
    outputs = ReportFiles.beside(os.path.splitext(model_path)[0], model_path)
    from ..evaluation.reports import save_confusion_matrix

    save_confusion_matrix(outputs.confusion, labels, np.asarray(probs).argmax(axis=1), class_names,
                          title=f"test accuracy {run['test_accuracy']:.3f}")
    tiles = top_loss_tiles(None, labels, probs, class_names, top_n, paths=paths)
    explain_run(None, None, labels, probs, class_names, {}, outputs, run, 0, tiles=tiles)
    return [("confusion matrix", outputs.confusion)] + (
        [("top losses", outputs.top_losses)] if tiles else []) + [("HTML report", outputs.report)]
