"""The HDF5 dataset files written by build_hdf5.py, and how to open one.

Layout of `train.hdf5`, `val.hdf5` and `test.hdf5` (plain h5py reads them):

    images       uint8  (N, H, W, 3)  pixels in BGR channel order (OpenCV's)
    labels       int64  (N,)          class index of each image
    label_names  str    (C,)          class names, UTF-8, index = label
                                      (dtype h5py.string_dtype())
    paths        str    (N,)          each image's file, relative to the
                                      `source` attribute, with "/" separators
                                      (absent from files of older builds)

File attributes: `format` ("pyimagesearch-hdf5/1"), `channel_order` ("BGR"),
`width`, `height`, `source` (the dataset folder) and `split` (train, val or
test). `images` is chunked a few rows at a time (about 1 MiB per chunk) so
that reading a contiguous batch `images[i:i + 32]` touches only the chunks
it needs. Reading it back:

    with h5py.File("output/hdf5/train.hdf5", "r") as db:
        images, labels = db["images"][:32], db["labels"][:32]
        names = db["label_names"].asstr()[:]
"""

import json
import os

import h5py

from ..utils.errors import UserError

FORMAT = "pyimagesearch-hdf5/1"
CHUNK_BYTES = 2**20
MEAN_FILE = "mean.json"


def chunk_rows(row_shape, itemsize=1, limit=64):
    """Rows per chunk: as many as fit in about CHUNK_BYTES, at least 1."""
    row_bytes = itemsize
    for n in row_shape:
        row_bytes *= int(n)
    return max(1, min(limit, CHUNK_BYTES // max(1, row_bytes)))


def open_hdf5(path, data_key="images", require_labels=True):
    """Open an HDF5 dataset file for reading, or raise UserError saying what
    is wrong with it (missing, not HDF5, lacking the expected datasets)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{path}: HDF5 file not found; build it with build_hdf5.py")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; pass an .hdf5 file")
    if not h5py.is_hdf5(path):
        raise UserError(f"{path}: not an HDF5 file; build it with build_hdf5.py")
    db = h5py.File(path, "r")
    required = [data_key] + (["labels"] if require_labels else [])
    missing = [key for key in required if key not in db]
    if missing:
        found = ", ".join(sorted(db.keys())) or "nothing"
        db.close()
        raise UserError(f"{path}: no {' or '.join(repr(k) for k in missing)} dataset in this HDF5 "
                        f"file (found {found}); rebuild it with build_hdf5.py")
    if require_labels and len(db["labels"]) != len(db[data_key]):
        db.close()
        raise UserError(f"{path}: {data_key!r} and 'labels' have different lengths; the file is "
                        "damaged, rebuild it with build_hdf5.py")
    return db


def read_label_names(db):
    """The file's class names as a list of str, or None when it has none."""
    if "label_names" not in db:
        return None
    return [str(name) for name in db["label_names"].asstr()[:]]


def read_paths(db, rows=None):
    """The files of `rows` (all rows by default) as str, relative to the
    file's `source` attribute, or None for a file without `paths`."""
    if "paths" not in db:
        return None
    paths = db["paths"].asstr()
    return [str(path) for path in (paths[:] if rows is None else paths[rows])]


def hdf5_file(folder, split):
    """Path of <folder>/<split>.hdf5, or a UserError naming what is missing."""
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: HDF5 folder not found; build it first with "
                        f"python build_hdf5.py --dataset <dataset> --output {folder}")
    path = os.path.join(folder, f"{split}.hdf5")
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; build_hdf5.py writes train.hdf5, val.hdf5 and "
                        f"test.hdf5 into {folder}")
    return path


def check_training_files(folder):
    """The training split's channel means (load_means) of build_hdf5.py's
    files in `folder`, once train.hdf5 and val.hdf5 are there; UserError
    naming what is missing otherwise. Cheap: no TensorFlow, no images read."""
    for split in ("train", "val"):
        hdf5_file(folder, split)
    return load_means(folder)


def load_means(folder):
    """The training split's channel means from <folder>/mean.json, as a dict
    with keys "R", "G", "B"."""
    path = os.path.join(folder, MEAN_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            means = json.load(f)
        return {key: float(means[key]) for key in ("R", "G", "B")}
    except FileNotFoundError:
        raise UserError(f"{path}: not found; build_hdf5.py writes it beside train.hdf5") from None
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path}: expected JSON like {{\"R\": 124.9, \"G\": 115.9, \"B\": 103.5}}; "
                        "rebuild with build_hdf5.py") from None
