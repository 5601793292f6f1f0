"""The write-up every evaluation ends with, after its classification
report: the top-losses gallery (with Grad-CAM heatmaps for a ConvNet) and
the run's HTML report, for a training run, crop_accuracy.py and
train_model.py."""

import os
import time
from dataclasses import dataclass

import numpy as np

from ..evaluation.confusion import mistakes
from ..modelfiles.paths import writeup_files
from ..preprocessing.inputspec import InputSpec
from .explainers import explainer_for
from .losstiles import EvaluatedImages, hdf5_top_loss_tiles, top_loss_tiles, write_top_losses


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
        return cls(model, *writeup_files(stem))

    def written(self, tiles):
        """(what, path) of the files a write-up with `tiles` wrote."""
        return [("confusion matrix", self.confusion)] + (
            [("top losses", self.top_losses)] if tiles else []) + [("HTML report", self.report)]


@dataclass
class ViewComparison:
    """The report's single view against 10-crop table."""
    rows: list             # [(view, accuracy, 95% interval or None)]
    note: str = ""


def run_facts(run, class_names, source):
    """The report's "Run" table from a sidecar's run section."""
    facts = {"dataset": source, "classes": ", ".join(class_names)}
    for key, label in (("architecture", "model"), ("train_images", "training images"),
                       ("val_images", "validation images"), ("test_images", "test images"),
                       ("epochs_run", "epochs run"), ("best_epoch", "best epoch"),
                       ("train_seconds", "training time (s)"), ("distribution", "distribution"),
                       ("finished", "finished (UTC)")):
        if run.get(key) is not None:
            facts[label] = distribution_words(run[key]) if key == "distribution" else run[key]
    versions = run.get("versions") or {}
    if versions:
        facts["versions"] = ", ".join(f"{name} {version}" for name, version in versions.items())
    return facts


def distribution_words(distribution):
    """The sidecar's distribution facts (training.distribute's describe) as
    the report says them, e.g. "MirroredStrategy, 2 replicas, batch 32 per
    replica (64 in all)"; a value of another shape as it is."""
    if not isinstance(distribution, dict) or "strategy" not in distribution:
        return distribution
    strategy = distribution["strategy"]
    # TensorFlow's default strategy is a private class: one device, no distribution.
    words = ["none (one device)" if strategy.startswith("_Default") else strategy]
    replicas, workers = distribution.get("replicas"), distribution.get("workers") or 1
    if replicas is not None:
        words.append(f"{replicas} replica{'s' if replicas != 1 else ''}")
    if workers > 1:
        words.append(f"{workers} workers")
    per_replica, total = distribution.get("batch_size_per_replica"), distribution.get("global_batch_size")
    if per_replica is not None:
        words.append(f"batch {per_replica} per replica" + (f" ({total} in all)" if total != per_replica else ""))
    if (distribution.get("lr_scale") or 1) != 1:
        words.append(f"learning rate x{distribution['lr_scale']}")
    return ", ".join(words)


def explain_run(model, evaluated, input_spec, outputs, run, top_n=16):
    """Write `outputs.top_losses` (the `top_n` worst of the EvaluatedImages,
    with Grad-CAM heatmaps for a ConvNet; none for 0) and `outputs.report`,
    the run's HTML page, from the sidecar's `run` section (which `mistakes`
    completed). `input_spec` says how the images became model input."""
    from ..inference.inputs import model_input

    input_spec = InputSpec.from_dict(input_spec)
    start = time.perf_counter()
    tiles = []
    if top_n:
        explainer = None if input_spec.flatten else explainer_for(
            model, lambda batch: model_input(input_spec, batch))
        tiles = top_loss_tiles(evaluated, top_n, explainer, input_spec.resize)
    write_run_report(evaluated, outputs, run, tiles, started=start)


def write_run_report(evaluated, outputs, run, tiles=(), views=None, started=None):
    """Write the gallery of `tiles` (if any) and the HTML report of the
    EvaluatedImages to `outputs` (ReportFiles, or a run's OutputPaths);
    `views` adds the single view against 10-crop table (ViewComparison)."""
    from .report import RunReport

    started = time.perf_counter() if started is None else started
    name, split = run.get("architecture", "model"), evaluated.split
    if tiles:
        heat = any(tile.heatmap is not None for tile in tiles)
        write_top_losses(outputs.top_losses, tiles, f"{name}: the {len(tiles)} {split} images with "
                         "the highest loss" + (" (right: Grad-CAM of the prediction)" if heat else ""))
    arguments = run.get("arguments") or {}
    source = run.get("source") or arguments.get("dataset") or arguments.get("hdf5") or arguments.get("db") or "?"
    report = RunReport(
        title=f"{name}: {os.path.basename(outputs.model)}",
        facts=run_facts(run, evaluated.class_names, source), class_names=list(evaluated.class_names),
        accuracy=run[f"{split}_accuracy"], interval=run.get(f"{split}_accuracy_ci95"), evaluated_on=split,
        images=len(evaluated.labels), balanced_accuracy=run.get(f"{split}_balanced_accuracy"),
        macro_f1=run.get(f"{split}_macro_f1"), classification_report=run.get("classification_report"),
        arguments=arguments, confused=run.get("most_confused", []), tiles=list(tiles),
        views=views.rows if views else None, views_note=views.note if views else "",
        figures=[("loss and accuracy", outputs.plot), ("confusion matrix", outputs.confusion)])
    size = report.write(outputs.report)
    print(f"[INFO] {'top losses and ' if tiles else ''}HTML report ({size / 2**20:.1f} MiB) written in "
          f"{time.perf_counter() - started:.1f}s")


def explain_crop_accuracy(predictor, db_path, views, results, files, top_n=16, arguments=None):
    """crop_accuracy.py's report (`files`: ReportFiles) on `predictor`'s
    ViewPredictions of the HDF5 file: single view against 10-crop with
    their intervals, the 10-crop predictions' confusion matrix,
    most-confused pairs and top losses (heatmaps from the single view).
    Adds the pairs to `results`; returns the files written."""
    from ..evaluation.cropaccuracy import single_view
    from ..evaluation.reports import save_confusion_matrix
    from ..modelfiles.sidecar import image_counts, load_model_info

    class_names, single, ten = results["class_names"], results["single_view"], results["ten_crop"]
    y_pred = views.crops.argmax(axis=1)
    training = load_model_info(results["model"]).get("run", {})
    run = {"architecture": training.get("architecture", "model"), "arguments": arguments or {},
           **image_counts(test=len(views.labels)), "test_accuracy": ten["rank1"],
           "test_balanced_accuracy": ten.get("balanced_accuracy"), "test_macro_f1": ten.get("macro_f1"),
           "classification_report": ten["classification_report"],
           **mistakes(views.labels, y_pred, class_names)}
    ten["most_confused"] = run["most_confused"]
    save_confusion_matrix(files.confusion, views.labels, y_pred, class_names,
                          title=f"{run['architecture']}: 10-crop accuracy {run['test_accuracy']:.3f}")
    evaluated = EvaluatedImages(views.labels, views.crops, class_names)
    explainer = explainer_for(predictor.model, single_view(predictor.spec)) if top_n else None
    tiles = hdf5_top_loss_tiles(db_path, evaluated, top_n, explainer)
    gain, ci = results["rank1_gain"], results["rank1_gain_ci95"]
    note = (f"10-crop minus single view: {gain * 100:+.2f} points" + (
        f" (95% interval {ci[0] * 100:+.2f} to {ci[1] * 100:+.2f})" if ci else "")
        + f"; 10-crop fixed {results['fixed_by_ten_crop']} images and broke {results['broken_by_ten_crop']}. "
        "The accuracy above, the table and the gallery are 10-crop's.")
    comparison = ViewComparison([("single view", single["rank1"], single["rank1_ci95"]),
                                 ("10-crop", ten["rank1"], ten["rank1_ci95"])], note)
    write_run_report(evaluated, files, run, tiles, comparison)
    return files.written(tiles)


def explain_transfer_run(probs, labels, paths, class_names, run, model_path, top_n=16):
    """train_model.py's evaluation: the most-confused pairs (into `run`, the
    sidecar's section), the top losses drawn from the image files the
    features file names, and the HTML report. Returns the files written."""
    from ..evaluation.reports import save_confusion_matrix

    y_pred = np.asarray(probs).argmax(axis=1)
    run.update(mistakes(labels, y_pred, class_names))
    outputs = ReportFiles.beside(os.path.splitext(model_path)[0], model_path)
    save_confusion_matrix(outputs.confusion, labels, y_pred, class_names,
                          title=f"test accuracy {run['test_accuracy']:.3f}")
    evaluated = EvaluatedImages(labels, probs, class_names, paths=paths)
    tiles = top_loss_tiles(evaluated, top_n)
    write_run_report(evaluated, outputs, run, tiles)
    return outputs.written(tiles)
