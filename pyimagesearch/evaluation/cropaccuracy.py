"""Evaluate a classifier on an HDF5 test file two ways: one view per image
(resized to the model's input) and 10-crop oversampling (the predictions on
the four corner and center crops and their mirrors, averaged)."""

from typing import NamedTuple

import cv2
import numpy as np
from tqdm import tqdm

from ..io import HDF5DatasetGenerator
from ..io.hdf5file import hdf5_file, open_hdf5, read_label_names
from ..preprocessing import CropPreprocessor, SimplePreprocessor
from ..preprocessing.inputspec import InputSpec
from ..preprocessing.modelinput import to_model_input
from ..utils.errors import UserError
from ..utils.ranked import rank5_accuracy
from .bootstrap import accuracy_interval, mean_interval
from .reports import evaluate_predictions, headline_metrics

# The two views crop_accuracy.py compares, as its results name them.
VIEWS = ("single_view", "ten_crop")


class ViewPredictions(NamedTuple):
    """predict_views' result: an HDF5 file's labels and, per image, the
    probabilities of its single view and of its 10 crops."""
    labels: np.ndarray
    single: np.ndarray
    crops: np.ndarray       # averaged (N, classes), per crop (N, 10, classes), or None


def prepare(images, preprocessor, spec):
    """Preprocess a uint8 batch image by image, then make it model input
    as the InputSpec `spec` says."""
    batch = np.stack([preprocessor.preprocess(image) for image in images])
    return to_model_input(batch, scale=spec.scale, mean=spec.mean)


def single_view(spec):
    """uint8 images of any size -> the model input of their single view:
    resized to the model's input (INTER_AREA), scaled, minus the mean."""
    spec = InputSpec.from_dict(spec)
    resize = SimplePreprocessor(spec.width, spec.height, inter=cv2.INTER_AREA)
    return lambda images: prepare(images, resize, spec)


def ten_crop_batch(images, width, height, spec):
    """All crops of a batch of images as one model-input batch, shape
    (len(images) * 10, height, width, 3), image by image."""
    crops = CropPreprocessor(width, height, horiz=True)
    batch = np.concatenate([crops.preprocess(image) for image in images])
    spec = InputSpec.from_dict(spec)
    return to_model_input(batch, scale=spec.scale, mean=spec.mean)


def predict_views(model, db_path, spec, batch_size=32, ten_crop=True, progress=True,
                  average_crops=True):
    """Return ViewPredictions: labels, single-view probabilities, 10-crop
    probabilities or None. `batch_size` images are read at a time; their single views go to
    the model in one call and their 10 * batch_size crops in another. With
    `average_crops=False` the crops' probabilities come back one by one,
    shape (images, 10, classes), in CropPreprocessor's order."""
    gen = HDF5DatasetGenerator(db_path, batch_size, binarize=False)
    spec = InputSpec.from_dict(spec)
    height, width = spec.height, spec.width
    stored = gen.images.shape[1:3]
    try:
        if ten_crop and (stored[0] < height or stored[1] < width):
            raise ValueError(f"{db_path}: images are {stored[1]}x{stored[0]}, smaller than the "
                             f"model's {width}x{height} input, so they cannot be cropped")
        view = single_view(spec)
        labels, single, crops = [], [], []
        bar = tqdm(total=gen.num_images, unit="img", desc="evaluating", disable=not progress,
                   leave=False)
        for images, batch_labels in gen.generator(passes=1):
            labels.append(batch_labels)
            single.append(np.asarray(model.predict_on_batch(view(images))))
            if ten_crop:
                probs = np.asarray(model.predict_on_batch(ten_crop_batch(images, width, height, spec)))
                probs = probs.reshape(len(images), 10, -1)
                crops.append(probs.mean(axis=1) if average_crops else probs)
            bar.update(len(images))
        bar.close()
    finally:
        gen.close()
    return ViewPredictions(np.concatenate(labels), np.concatenate(single),
                           np.concatenate(crops) if ten_crop else None)


def compare_views(labels, single, crops, seed=0):
    """How 10-crop changes rank-1, image by image: the accuracy gain, how
    many images it fixes and breaks, and a 95% bootstrap confidence interval
    of the gain (None under 2 images). On a few hundred test images a
    one-point gain is a handful of images, so the interval says whether a
    difference is more than the luck of the test set."""
    labels = np.asarray(labels)
    diff = ((np.asarray(crops).argmax(axis=1) == labels).astype(np.int8)
            - (np.asarray(single).argmax(axis=1) == labels))  # +1 fixed, -1 broken
    return {"gain": float(diff.mean()) if len(diff) else 0.0, "ci95": mean_interval(diff, seed),
            "fixed": int((diff == 1).sum()), "broken": int((diff == -1).sum())}


def split_file(folder, split):
    """(path of <folder>/<split>.hdf5, its class names or None), or a
    one-line UserError for a missing or malformed file."""
    db_path = hdf5_file(folder, split)
    with open_hdf5(db_path) as db:
        return db_path, read_label_names(db)


def evaluate_views(predictor, db_path, file_classes, batch_size=32):
    """predict_views of `predictor` (model, class_names, spec) on the file,
    which must hold the model's classes; one-line UserErrors otherwise."""
    if file_classes is not None and file_classes != predictor.class_names:
        raise UserError(f"{db_path}: its classes {file_classes} differ from the model's "
                        f"{predictor.class_names}; evaluate with the HDF5 files the model was trained on")
    try:
        return predict_views(predictor.model, db_path, predictor.spec, batch_size=batch_size)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def view_results(labels, probs, class_names):
    """One view's entry of crop_accuracy.py's results (rank-1, rank-5 with
    more than 5 classes, balanced accuracy, macro F1, the per-class report,
    the rank-1 95% interval), and the printable per-class report."""
    y_pred = probs.argmax(axis=1)
    rank1, rank5 = rank5_accuracy(probs, labels)
    text, report, _ = evaluate_predictions(labels, y_pred, class_names)
    headline, _ = headline_metrics(labels, y_pred, len(class_names), split="view")
    result = {"rank1": rank1, "balanced_accuracy": headline["view_balanced_accuracy"],
              "macro_f1": headline["view_macro_f1"], "classification_report": report}
    if len(class_names) > 5:
        result["rank5"] = rank5
    result["rank1_ci95"] = accuracy_interval(labels, y_pred)[1]
    return result, text


def crop_accuracy_results(model_path, db_path, class_names, views):
    """crop_accuracy.py's results (written as JSON) from ViewPredictions:
    each view's metrics and how 10-crop changes rank-1. Prints each view's
    per-class report."""
    results = {"model": model_path, "hdf5": db_path, "images": len(views.labels),
               "class_names": class_names}
    for name, probs in zip(VIEWS, (views.single, views.crops)):
        results[name], text = view_results(views.labels, probs, class_names)
        print(f"[INFO] {name.replace('_', ' ')}: per-class report\n{text}")
    comparison = compare_views(*views)
    results.update({"rank1_gain": comparison["gain"], "rank1_gain_ci95": comparison["ci95"],
                    "fixed_by_ten_crop": comparison["fixed"], "broken_by_ten_crop": comparison["broken"]})
    return results


def summary_lines(results):
    """The lines crop_accuracy.py prints after the per-class reports."""
    lines = []
    for name in VIEWS:
        view = results[name]
        line = f"[INFO] {name.replace('_', ' '):12s} rank-1: {view['rank1'] * 100:.2f}%"
        if "rank5" in view:
            line += f"  rank-5: {view['rank5'] * 100:.2f}%"
        lines.append(line + f"  balanced accuracy: {view['balanced_accuracy'] * 100:.2f}%"
                            f"  macro F1: {view['macro_f1'] * 100:.2f}%")
    interval = ""
    if results["rank1_gain_ci95"] is not None:
        low, high = (100 * x for x in results["rank1_gain_ci95"])
        interval = f"; 95% confidence interval {low:+.2f} to {high:+.2f}"
    return lines + [(f"[INFO] 10-crop minus single view: {results['rank1_gain'] * 100:+.2f} points "
                    f"(rank-1, {results['images']} images{interval})"),
                    (f"[INFO] 10-crop put {results['fixed_by_ten_crop']} images right that the single view "
                    f"got wrong, and {results['broken_by_ten_crop']} wrong that it got right")]
