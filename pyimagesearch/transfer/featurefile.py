"""The HDF5 file extract_features.py writes, in the layout of
`pyimagesearch.io` with features instead of images, plus each row's file:

    features     float32 (N, D)  backbone output, global-average pooled
    labels       int64   (N,)    class index of each row
    label_names  str     (C,)    class names, UTF-8, index = label
    paths        str     (N,)    the image file each row came from, UTF-8

File attributes: format, backbone, weights (file, "imagenet" or "none"),
weights_sha256, alpha, width, height, resize, channel_order, pooling, flip
and source (the dataset folder). Rows are in the order of the shuffled file
list, so the first 75% and the rest make the tutorial's train/test split.
"""

import os
import time
from dataclasses import dataclass

import h5py
import numpy as np
from tqdm import tqdm

from ..datasets.folder import warn_left_out
from ..io.hdf5datasetwriter import HDF5DatasetWriter
from ..io.hdf5file import read_label_names, read_paths
from ..preprocessing.inputspec import BACKBONE_KEYS, TRANSFER_PIXEL_KEYS, InputSpec
from ..utils.deferredinterrupts import deferred_interrupts
from ..utils.errors import UserError
from .backbones import file_sha256

DATA_KEY = "features"
REQUIRED = (DATA_KEY, "labels", "label_names", "paths")
SPEC_KEYS = (*TRANSFER_PIXEL_KEYS, *BACKBONE_KEYS)


@dataclass
class LabelledImages:
    """The images to extract features from: their files, each one's class
    index and the class names."""
    paths: list
    labels: list
    class_names: list


def feature_spec(extractor, weights, alpha=None, seed=None):
    """How `extractor`'s features were made (an InputSpec): its backbone,
    input size, resize mode, mirror averaging and feature count, and the
    `weights`, `alpha` and `seed` its model was built with. It becomes the
    file's attributes and the classifier sidecar's "input" section:
    everything needed to compute the features again."""
    return InputSpec(extractor.size, extractor.size, resize=extractor.resize, backbone=extractor.backbone,
                     weights=weights, alpha=alpha, pooling="avg", flip=bool(extractor.flip), seed=seed,
                     feature_dim=extractor.dim,
                     weights_sha256=file_sha256(weights) if weights not in (None, "imagenet") else None)


def spec_to_attrs(spec, **extra):
    """The file's attributes: the feature spec and `extra` (source, ...).
    HDF5 attributes cannot hold None; it is stored as "none"."""
    return {key: "none" if value is None else value for key, value in {**spec, **extra}.items()}


def spec_from_attrs(attrs, where="features file"):
    """The feature spec (an InputSpec) back from a file's attributes; a
    missing attribute takes its default."""
    values = {key: None if attrs.get(key) == "none" else attrs.get(key) for key in SPEC_KEYS}
    return InputSpec.from_dict(dict(values, flip=bool(values["flip"])), where)


def write_feature_file(output_path, extractor, images, attrs, buffer_size=1000, progress=True):
    """Extract features for `images` (LabelledImages) and write them
    atomically to `output_path`. Unreadable images are left out,
    and so is a class none of whose images could be read (a warning names
    it; the labels are renumbered over the classes kept). Returns (rows
    written, [(skipped path, reason)], seconds)."""
    paths, class_names = images.paths, images.class_names
    label_of = dict(zip(paths, images.labels))
    skipped, count = [], 0
    with HDF5DatasetWriter((len(paths), extractor.dim), output_path, data_key=DATA_KEY,
                           buf_size=buffer_size, dtype="float32", attrs=attrs) as writer:
        stored_paths = writer.db.create_dataset("paths", shape=(len(paths),), maxshape=(None,),
                                                dtype=h5py.string_dtype(), chunks=True,
                                                track_times=False)
        start = time.perf_counter()
        # Ctrl-C and `kill` stop between batches (see utils/deferredinterrupts.py).
        with tqdm(total=len(paths), unit="img", desc="extracting", disable=not progress) as bar, \
                deferred_interrupts() as interrupts:
            for _, kept, features, bad in extractor.extract(paths):
                interrupts.check()
                writer.add(features, [label_of[p] for p in kept])
                stored_paths[count:count + len(kept)] = kept
                count += len(kept)
                skipped.extend(bad)
                bar.update(len(kept) + len(bad))
        seconds = time.perf_counter() - start
        stored_paths.resize((count,))
        if count == 0:
            raise UserError(f"none of the {len(paths)} image files could be read", 1)
        writer.flush()
        written = writer.labels[:count]
        present = sorted(set(written.tolist()))
        warn_left_out(class_names, [class_names[c] for c in present])
        if len(present) < 2:
            raise UserError(f"only class {class_names[present[0]]!r} has readable images; a "
                            "classifier needs at least 2", 1)
        if len(present) < len(class_names):
            writer.labels[:count] = np.searchsorted(present, written)
        writer.store_class_labels([class_names[c] for c in present])
    return count, skipped, seconds


def read_feature_file(path):
    """Return (features, labels, label_names, paths, attrs) from a file
    written by write_feature_file, or raise UserError saying what is wrong."""
    hint = "write one with extract_features.py"
    if not os.path.isfile(path):
        raise UserError(f"{path}: features file not found; {hint}")
    if not h5py.is_hdf5(path):
        raise UserError(f"{path}: not an HDF5 file; {hint}")
    with h5py.File(path, "r") as db:
        missing = [key for key in REQUIRED if key not in db]
        if missing:
            raise UserError(f"{path}: not a features file (no {', '.join(missing)}); {hint}")
        features = db[DATA_KEY][:]
        labels = db["labels"][:]
        names, paths = read_label_names(db), read_paths(db)
        attrs = {key: to_python(value) for key, value in db.attrs.items()}
    if not len(features) == len(labels) == len(paths) or features.ndim != 2:
        raise UserError(f"{path}: features, labels and paths disagree in length; the file is "
                        f"damaged, {hint}")
    return features, labels, names, paths, attrs


def to_python(value):
    """HDF5 attribute -> plain JSON-friendly value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value
