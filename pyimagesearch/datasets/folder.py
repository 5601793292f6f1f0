"""Checks and reporting around a `<root>/<class>/<images>` folder dataset,
so every script fails the same clear way on the same bad input."""

import os
import sys

import numpy as np

from ..utils.errors import UserError
from .exclude import read_exclude
from .imagefiles import IMAGE_EXTENSIONS, list_images

LAYOUT_HINT = "expected <dataset>/<class name>/<image files>, e.g. animals/cats/cats_00001.jpg"


def find_dataset(root, label_from="folder", seed=None, exclude=None):
    """List a dataset's images and labels, or raise UserError saying what is wrong.
    `exclude` (an --exclude value: datasets.exclude.ExcludeList, a path, or
    a sidecar's record of one) leaves the files it names out; the order of
    the others, hence the tutorial's split of them, follows the same rule."""
    if not os.path.exists(root):
        raise UserError(f"{root}: dataset folder not found ({LAYOUT_HINT})")
    if not os.path.isdir(root):
        raise UserError(f"{root}: is a file, not a folder ({LAYOUT_HINT})")
    paths, labels = list_images(root, label_from=label_from, seed=seed)
    if exclude is not None:
        paths, labels = read_exclude(exclude).apply(paths, labels, root)
    if label_from == "folder":
        warn_about_layout(root, set(labels))
    if not paths:
        raise UserError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}; "
                        f"{LAYOUT_HINT})")
    check_classes(root, labels, label_from)
    return paths, labels


def warn_about_layout(root, classes):
    """Say which files and folders the folder layout leaves out, and why."""
    entries = [e for e in os.scandir(root) if not e.name.startswith(".")]
    loose = [e.name for e in entries if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)]
    if loose:
        print(f"warning: {len(loose)} images lie directly in {root} (e.g. {loose[0]}) and are left "
              "out: put them in a class folder", file=sys.stderr)
    for entry in entries:
        if entry.is_dir() and entry.name not in classes:
            print(f"warning: class folder {entry.path} holds no images and is left out",
                  file=sys.stderr)


def check_classes(root, labels, label_from="folder"):
    classes = sorted(set(labels))
    if len(classes) < 2:
        hint = ("file names like cat.0.jpg, dog.0.jpg" if label_from == "filename" else LAYOUT_HINT)
        raise UserError(f"{root}: found {len(labels)} images in {len(classes)} class "
                        f"({', '.join(classes)}); a classifier needs at least 2 ({hint})")
    return classes


def warn_left_out(listed, kept):
    """Warn about each class that had files listed (`listed`: one class name
    per listed file) but none readable (`kept`: one per readable file);
    return those classes' names, sorted."""
    left_out = sorted(set(listed) - set(kept))
    for name in left_out:
        print(f"warning: class {name!r} has no readable images and is left out", file=sys.stderr)
    return left_out


def report_skipped(skipped, total, stream=None):
    """Print one line per unusable file and a count, to stderr."""
    stream = stream or sys.stderr
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=stream)
    if skipped:
        print(f"skipped {len(skipped)} of {total} files", file=stream)


def encode_labels(labels, class_names=None):
    """Map label strings to integers in sorted-class order (as LabelBinarizer
    did in the tutorial); return (y, class_names)."""
    class_names = sorted(set(labels)) if class_names is None else list(class_names)
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[label] for label in labels], dtype=np.int64), class_names
