"""Turn a folder dataset into train/val/test HDF5 files (build_hdf5.py).

Images are decoded and resized in parallel threads and appended in order by
one HDF5DatasetWriter, so memory stays flat whatever the dataset size. All
outputs are first written into a hidden staging folder inside the output
folder and moved into place only when every file is complete: an error or
Ctrl-C leaves the previous outputs as they were.
"""

import os
import shutil
import time

import cv2
import numpy as np
from tqdm import tqdm

from ..datasets import CHANNEL_ORDER, UnreadableImage, read_image
from ..datasets.folder import report_skipped
from ..preprocessing import AspectAwarePreprocessor
from ..utils.atomic import ensure_writable_folder, write_json
from ..utils.errors import UserError
from ..utils.parallel import imap_ordered
from .hdf5datasetwriter import HDF5DatasetWriter
from .hdf5file import MEAN_FILE

SPLITS = ("train", "val", "test")
SUMMARY_FILE = "summary.json"


def output_files(output):
    return [os.path.join(output, name) for name in
            [f"{split}.hdf5" for split in SPLITS] + [MEAN_FILE, SUMMARY_FILE]]


def check_output(output, force=False):
    """Refuse to overwrite earlier outputs unless `force`; fail early if the
    folder cannot be written."""
    existing = [p for p in output_files(output) if os.path.exists(p)]
    if existing and not force:
        raise UserError(f"{existing[0]} already exists; pass --force to overwrite "
                        f"(or choose another --output)")
    ensure_writable_folder(output, "--output")


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


def write_split(path, paths, labels, class_names, size, attrs, buf_size=128,
                channel_sums=None, desc=None, workers=None):
    """Decode, resize and append `paths` to one HDF5 file; return (count per
    class index, skipped [(path, reason)]). Per-channel pixel sums are added
    to `channel_sums` (float64, BGR) when given."""
    width, height = size
    counts = np.zeros(len(class_names), dtype=np.int64)
    skipped = []
    label_of = dict(zip(paths, labels))
    with HDF5DatasetWriter((len(paths), height, width, 3), path, buf_size=buf_size,
                           attrs=attrs) as writer:
        writer.store_class_labels(class_names)
        results = tqdm(resized_images(paths, size, workers), total=len(paths), unit="img", desc=desc,
                       leave=False)
        for image_path, image, reason in results:
            if image is None:
                skipped.append((image_path, reason))
                continue
            label = label_of[image_path]
            writer.add(image[np.newaxis], [label])
            counts[label] += 1
            if channel_sums is not None:
                # cv2.sumElems is exact for uint8 images and ~100x faster than numpy's axis sum.
                channel_sums += cv2.sumElems(image)[:3]
    return counts, skipped


def build_hdf5(dataset, splits, class_names, output, size=(256, 256), workers=None, run=None):
    """Write <output>/{train,val,test}.hdf5, mean.json (R, G, B means of the
    training split) and summary.json. `splits` maps split name to (paths,
    integer labels). Returns the summary dict."""
    width, height = size
    staging = os.path.join(output, f".build-tmp-{os.getpid()}")
    os.makedirs(staging, exist_ok=True)
    summary = {"dataset": os.fspath(dataset), "size": [width, height],
               "channel_order": CHANNEL_ORDER, "class_names": list(class_names),
               "counts": {}, "skipped": [], "run": run or {}}
    sums = np.zeros(3, dtype=np.float64)
    start = time.perf_counter()
    total = 0
    try:
        for split in SPLITS:
            paths, labels = splits[split]
            attrs = {"channel_order": CHANNEL_ORDER, "width": width, "height": height,
                     "source": os.path.abspath(dataset), "split": split}
            counts, skipped = write_split(os.path.join(staging, f"{split}.hdf5"), paths, labels,
                                          class_names, size, attrs, workers=workers,
                                          channel_sums=sums if split == "train" else None,
                                          desc=split)
            report_skipped(skipped, len(paths))
            summary["counts"][split] = {name: int(n) for name, n in zip(class_names, counts)}
            summary["skipped"] += [{"path": p, "reason": r, "split": split} for p, r in skipped]
            total += int(counts.sum())
            if split == "train":
                n_train = int(counts.sum())
            if counts.sum() == 0:
                raise UserError(f"{dataset}: none of the {len(paths)} {split} images could be "
                                "read", 1)
        seconds = time.perf_counter() - start
        pixels = n_train * width * height
        b, g, r = (sums / pixels).tolist()
        write_json(os.path.join(staging, MEAN_FILE), {"R": r, "G": g, "B": b})
        summary["seconds"] = round(seconds, 2)
        summary["images_per_s"] = round(total / seconds, 1) if seconds else None
        write_json(os.path.join(staging, SUMMARY_FILE), summary)
        for final in output_files(output):
            os.replace(os.path.join(staging, os.path.basename(final)), final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary
