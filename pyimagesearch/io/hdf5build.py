"""Turn a folder dataset into train/val/test HDF5 files (build_hdf5.py).

Two passes, so memory stays flat whatever the dataset size:

1. every listed image is decoded and resized once, in parallel threads, and
   appended in listing order to a staging file; unreadable files are
   skipped, and a class left with no readable image is dropped;
2. the readable images are split (stratified, reproducible with the seed)
   and copied, in one front-to-back read of the staging file, into
   train.hdf5, val.hdf5 and test.hdf5.

Splitting after decoding means skipped files never unbalance the split and a
class of unreadable files cannot break it. All outputs are first written
into a hidden staging folder inside the output folder and moved into place
only when every file is complete: an error, Ctrl-C or `kill` leaves the
previous outputs as they were. The staging file needs as much disk space
as the three splits together, until the build ends.
"""

import collections
import contextlib
import os
import pathlib
import shutil
import signal
import time
from dataclasses import dataclass

import cv2
import h5py
import numpy as np
from tqdm import tqdm

from ..datasets import CHANNEL_ORDER, UnreadableImage, read_image
from ..datasets.folder import encode_labels, report_skipped, warn_left_out
from ..datasets.imagefiles import DecodeOptions
from ..datasets.split import SplitOptions, stratified_split
from ..preprocessing import AspectAwarePreprocessor
from ..utils.atomic import ensure_writable_folder, left_by_other_processes, write_json
from ..utils.deferredinterrupts import deferred_interrupts
from ..utils.errors import UserError
from ..utils.parallel import imap_ordered
from .hdf5datasetwriter import HDF5DatasetWriter
from .hdf5file import MEAN_FILE

SPLITS = ("train", "val", "test")
SUMMARY_FILE = "summary.json"
STAGING_PREFIX = ".build-tmp-"


def output_files(output):
    return [os.path.join(output, name) for name in
            [f"{split}.hdf5" for split in SPLITS] + [MEAN_FILE, SUMMARY_FILE]]


def check_output(output, force=False):
    """Refuse to overwrite earlier outputs unless `force`; fail early if the
    folder cannot be written. Returns the outputs that will be replaced."""
    existing = [p for p in output_files(output) if os.path.exists(p)]
    if existing and not force:
        raise UserError(f"{existing[0]} already exists; pass --force to overwrite "
                        f"(or choose another --output)")
    ensure_writable_folder(output, "--output")
    return existing


def check_split(paths, names, test_size, val_size, seed):
    """Fail before decoding anything when the split flags cannot work. Only
    classes with 2 or more files take part: a smaller class is either
    unreadable (and dropped) or reported after decoding."""
    counts = collections.Counter(names)
    keep = [i for i, name in enumerate(names) if counts[name] >= 2]
    if len({names[i] for i in keep}) >= 2:
        stratified_split([paths[i] for i in keep], [names[i] for i in keep], test_size, val_size, seed)


def resized_images(paths, size, workers=None):
    """Yield (path, uint8 BGR image resized aspect-aware, or None, skip
    reason) in order; decoding and resizing run in `workers` threads and
    JPEGs decode at reduced resolution when they are much larger than `size`."""
    resizer = AspectAwarePreprocessor(*size)

    def load(path):
        try:
            return path, resizer.preprocess(read_image(path, min_size=max(size))), None
        except UnreadableImage as exc:
            return path, None, str(exc)

    return imap_ordered(load, paths, workers=workers)


def decode_all(path, paths, size, buf_size=128, workers=None, interrupts=None):
    """Pass 1: decode and resize `paths` into the `images` dataset of one
    HDF5 file, in order, leaving out unreadable files. Returns (indices of
    the kept paths, their per-channel pixel sums (n, 3) float64 BGR,
    skipped [(path, reason)]). `interrupts` (utils.deferredinterrupts) is checked
    after every image."""
    width, height = size
    kept, sums, skipped = [], [], []
    # The staging file is deleted with its folder, so it need not be atomic.
    with HDF5DatasetWriter((len(paths), height, width, 3), path, buf_size=buf_size,
                           atomic=False) as writer:
        results = tqdm(resized_images(paths, size, workers), total=len(paths), unit="img",
                       desc="decoding", leave=False)
        for i, (image_path, image, reason) in enumerate(results):
            if interrupts is not None:
                interrupts.check()
            if image is None:
                skipped.append((image_path, reason))
                continue
            writer.add(image[np.newaxis], [i])
            kept.append(i)
            # cv2.sumElems is exact for uint8 images and ~100x faster than numpy's axis sum.
            sums.append(cv2.sumElems(image)[:3])
    return np.array(kept, dtype=np.int64), np.array(sums, dtype=np.float64).reshape(-1, 3), skipped


@dataclass
class SplitFiles:
    """What the split files hold besides their rows: they are written into
    `folder`, list `class_names`, carry the file attributes `attrs` (each
    file adds its "split"), and name each staging row's image file
    (`row_paths`)."""
    folder: str
    class_names: list
    attrs: dict
    row_paths: list


def write_splits(source, splits, files, block=256, interrupts=None):
    """Pass 2: read the staging file once, front to back, `block` rows at a
    time, appending each row to the file of its split (`splits` maps split
    name to (rows, labels)) in `files.folder` (a SplitFiles), and each
    row's file to its `paths`. Rows keep the staging order, the seeded
    shuffle of the listing, so every split is shuffled too. Reading contiguous
    slices matters: h5py's list indexing (`source[[3, 17, ...]]`) selects
    row by row and made this pass slower than decoding everything
    (BENCHMARKS.md, "HDF5 stage").
    `interrupts` (utils.deferredinterrupts) is checked after every block."""
    split_of = np.full(source.shape[0], -1, dtype=np.int64)
    label_of = np.zeros(source.shape[0], dtype=np.int64)
    for k, split in enumerate(SPLITS):
        rows, labels = (np.asarray(a) for a in splits[split])
        split_of[rows], label_of[rows] = k, labels
    with contextlib.ExitStack() as stack:
        writers = []
        for k, split in enumerate(SPLITS):
            writer = stack.enter_context(HDF5DatasetWriter(
                (int((split_of == k).sum()),) + source.shape[1:],
                os.path.join(files.folder, f"{split}.hdf5"), buf_size=block,
                attrs={**files.attrs, "split": split}))
            writer.store_class_labels(files.class_names)
            writer.store_paths([files.row_paths[row] for row in np.flatnonzero(split_of == k)])
            writers.append(writer)
        for start in range(0, source.shape[0], block):
            if interrupts is not None:
                interrupts.check()
            images = source[start:start + block]
            where, labels = split_of[start:start + block], label_of[start:start + block]
            for k, writer in enumerate(writers):
                mine = where == k
                if mine.any():
                    writer.add(images[mine], labels[mine])


def build_hdf5(dataset, paths, names, output, split=None, decode=None, run=None):
    """Write <output>/{train,val,test}.hdf5, mean.json (R, G, B means of the
    training split) and summary.json from the image `paths` of a dataset
    and their class `names`, split as `split` (datasets.split.SplitOptions,
    stratified) says, each image decoded at `decode`'s size (a
    datasets.DecodeOptions, default 256x256; always resized aspect-aware)
    with its workers. `run` is recorded in the summary. Returns the
    summary dict.

    The same paths, seed and size give byte-identical HDF5 files."""
    split = split or SplitOptions()
    decode = decode or DecodeOptions(256, 256, "aspect")
    remove_leftover_staging(output)
    staging = os.path.join(output, f"{STAGING_PREFIX}{os.getpid()}")
    os.makedirs(staging, exist_ok=True)
    start = time.perf_counter()
    try:
        staged = os.path.join(staging, "all.hdf5")
        # Ctrl-C and `kill` stop the two passes between images or blocks,
        # never inside h5py or the decoding threads' bookkeeping.
        with deferred_interrupts() as interrupts:
            kept, sums, skipped = decode_all(staged, paths, decode.size, workers=decode.workers,
                                             interrupts=interrupts)
        report_skipped(skipped, len(paths))
        labels, class_names, left_out = _readable_classes(dataset, names, kept, len(paths))
        # Rows of the staging file are split, so skipped files take no place in any split.
        splits = stratified_split(np.arange(len(kept)), labels, split.test_size, split.val_size,
                                  split.seed)
        attrs = {"channel_order": CHANNEL_ORDER, "width": decode.width, "height": decode.height,
                 "source": os.path.abspath(dataset)}
        # Relative, so the files still name their images after the dataset moves.
        row_paths = [pathlib.Path(os.path.relpath(paths[i], dataset)).as_posix() for i in kept]
        with h5py.File(staged, "r") as db, deferred_interrupts() as interrupts:
            write_splits(db["images"], splits, SplitFiles(staging, class_names, attrs, row_paths),
                         interrupts=interrupts)
        os.remove(staged)
        train_rows = np.asarray(splits["train"][0])
        b, g, r = (sums[train_rows].sum(axis=0) / (len(train_rows) * decode.width * decode.height)).tolist()
        write_json(os.path.join(staging, MEAN_FILE), {"R": r, "G": g, "B": b})
        seconds = time.perf_counter() - start
        summary = {"dataset": os.fspath(dataset), "size": [decode.width, decode.height],
                   "channel_order": CHANNEL_ORDER, "class_names": class_names,
                   "counts": _split_counts(splits, class_names),
                   "skipped": [{"path": p, "reason": r} for p, r in skipped],
                   "classes_left_out": left_out, "run": run or {}, "seconds": round(seconds, 2),
                   "images_per_s": round(len(kept) / seconds, 1) if seconds else None}
        write_json(os.path.join(staging, SUMMARY_FILE), summary)
        move_into_place(staging, output_files(output))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _readable_classes(dataset, names, kept, listed):
    """(labels, class names, classes left out) of the readable images
    (`kept`: their positions in `names`); UserError when fewer than 2
    classes, or a class of 1 image, are left for the stratified split."""
    if len(kept) == 0:
        raise UserError(f"{dataset}: none of the {listed} image files could be read", 1)
    kept_names = [names[i] for i in kept]
    left_out = warn_left_out(names, kept_names)
    labels, class_names = encode_labels(kept_names)
    if len(class_names) < 2:
        raise UserError(f"{dataset}: only class {class_names[0]!r} has readable images; a "
                        "classifier needs at least 2", 1)
    small = [n for n, count in zip(class_names, np.bincount(labels)) if count < 2]
    if small:
        raise UserError(f"{dataset}: class {small[0]!r} has only 1 readable image; the "
                        "stratified train/val/test split needs more: add images or remove "
                        "that class folder", 1)
    return labels, class_names, left_out


def _split_counts(splits, class_names):
    """{split: {class name: images}}."""
    counts = {}
    for split in SPLITS:
        per_class = np.bincount(np.asarray(splits[split][1]), minlength=len(class_names))
        counts[split] = {name: int(n) for name, n in zip(class_names, per_class)}
    return counts


def remove_leftover_staging(output):
    """Delete staging folders that builds killed outright left in `output`;
    each can be as big as the dataset. Two builds into one folder at once
    are not supported anyway."""
    for leftover in left_by_other_processes(output, STAGING_PREFIX):
        print(f"[NOTE] removing {leftover}, left by a build that was killed")
        shutil.rmtree(leftover, ignore_errors=True)


def move_into_place(staging, finals):
    """Rename the staged files onto their final names with Ctrl-C and `kill`
    held back, so the outputs are never half old build, half new; a signal
    that arrives meanwhile is acted on once all are moved."""
    mask = getattr(signal, "pthread_sigmask", None)  # not on Windows
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) if mask else None
    try:
        for final in finals:
            os.replace(os.path.join(staging, os.path.basename(final)), final)
    finally:
        if mask:
            mask(signal.SIG_SETMASK, previous)
