"""The images of the run that trained a model, found again from its sidecar:
the training split calibrates int8 exports, the test split measures them,
and a few images check every export."""

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np

from ..utils.errors import UserError


def no_calibration_images():
    return UserError("--int8 needs calibration images, and the run's training images are not at "
                     "hand; pass --calibrate DIR (a folder of typical images)")


@dataclass
class RunSplit:
    dataset: str
    train_paths: list
    test_paths: list
    test_labels: list    # class indices into the sidecar's class_names


def run_dataset(info):
    """The dataset folder a model was trained on, if the sidecar names one
    that still exists here."""
    run = info.get("run") or {}
    folder = (run.get("arguments") or {}).get("dataset") or run.get("source")
    return folder if folder and os.path.isdir(folder) else None


def run_images(info):
    """The image files of the run's dataset, listed as the run listed them
    (its --labels, --exclude: datasets.split), in sorted order; None when
    its dataset is not at hand or no longer lists as a dataset."""
    from ..datasets.split import SplitOptions, list_split_images

    dataset = run_dataset(info)
    if dataset is None:
        return None
    options = SplitOptions.from_arguments((info.get("run") or {}).get("arguments"))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            paths, _ = list_split_images(dataset, options)
    except UserError as exc:
        print(f"[NOTE] the run's dataset cannot be listed as it was: {exc}", file=sys.stderr)
        return None
    # Sorted: the sample of verification images does not depend on the seed.
    return sorted(paths)


def has_training_images(info):
    """Whether run_split can find the run's images (checked before TensorFlow loads)."""
    run = info.get("run") or {}
    if run.get("features_file"):
        return os.path.isfile(run["features_file"])
    return run_dataset(info) is not None and "size" in (run.get("arguments") or {})


def run_split(info, class_names):
    """The run's train/test split, or None when its images are not at hand."""
    run = info.get("run") or {}
    if run.get("features_file"):
        return _transfer_split(run, class_names)
    dataset, args = run_dataset(info), run.get("arguments") or {}
    if dataset is None or "size" not in args:
        return None
    from ..training.data import load_run_split

    # Decoding the dataset again finds the same readable images, so the
    # tutorial's index split gives the same test images as the run.
    with contextlib.redirect_stdout(sys.stderr):
        split = load_run_split(info, dataset)
    if list(split.class_names) != list(class_names):
        return None
    return RunSplit(dataset, list(split.train_paths), list(split.test_paths), split.y_test.tolist())


def _transfer_split(run, class_names):
    """train_model.py trains on the first train_images rows of the features file
    (already shuffled) and tests on the rest; the file lists each row's image."""
    from ..transfer.featurefile import read_feature_file

    db, rows = run["features_file"], run.get("train_images")
    if not os.path.isfile(db) or rows is None:
        return None
    _, labels, names, paths, attrs = read_feature_file(db)
    if names != list(class_names) or not all(os.path.isfile(p) for p in paths[rows:rows + 1]):
        return None
    return RunSplit(attrs.get("source", os.path.dirname(paths[0])), paths[:rows], paths[rows:],
                    labels[rows:].tolist())


def sample(paths, count, seed=0):
    """Up to `count` of `paths`, chosen reproducibly, in their original order."""
    if len(paths) <= count:
        return list(paths)
    keep = np.sort(np.random.default_rng(seed).choice(len(paths), count, replace=False))
    return [paths[i] for i in keep]


def calibration_paths(calibrate, split, count):
    """--calibrate DIR, or the run's training split; UserError when neither."""
    if calibrate:
        from ..inference.inputs import expand_image_args

        return sample(expand_image_args([calibrate]), count), calibrate
    if split is None:
        raise no_calibration_images()
    return sample(split.train_paths, count), f"training split of {split.dataset}"
