import contextlib
import os

import h5py
import numpy as np

from ..utils.atomic import atomic_path
from ..utils.booknames import accepts_book_names
from .hdf5file import FORMAT, chunk_rows


class HDF5DatasetWriter:
    """Append rows (images or features) and their integer labels to an HDF5
    file, a buffer at a time, so a dataset larger than memory can be written.

    `dims` is (N, ...) with N the expected number of rows: the datasets grow
    if more are added and are trimmed to what was added on close, so skipped
    files need no bookkeeping. Layout: see `pyimagesearch.io.hdf5file`.

    The file is written under a temporary name beside `output_path` and
    renamed onto it by `close()`, so `output_path` only ever holds a complete
    file. Used as a context manager, an exception inside the block discards
    the temporary file and leaves whatever was at `output_path` untouched.
    `atomic=False` writes in place like the book's writer; then an error still
    flushes the buffer, so the partial file holds every row added so far.

    Datasets are created without HDF5's modification times, so the same rows
    give a byte-identical file (a build can be checked by its checksum).

    Eight parameters, for a reason: the first four are the book's
    HDF5DatasetWriter(dims, outputPath, dataKey, bufSize), positional order
    and names kept for readers' code; the other four are keyword options of
    this version (dtype, attrs, atomic, overwrite).
    """

    @accepts_book_names(outputPath="output_path", dataKey="data_key", bufSize="buf_size")
    def __init__(self, dims, output_path, data_key="images", buf_size=1000, dtype=None,
                 attrs=None, atomic=True, overwrite=True):
        self.output_path = os.fspath(output_path)
        self.atomic = atomic
        if not overwrite and os.path.exists(self.output_path):
            raise FileExistsError(f"{self.output_path} already exists")
        self._stack = contextlib.ExitStack()
        path = self._stack.enter_context(atomic_path(self.output_path)) if atomic else self.output_path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.db = h5py.File(path, "w")
        self.db.attrs["format"] = FORMAT
        for key, value in (attrs or {}).items():
            self.db.attrs[key] = value
        self.dims = tuple(int(d) for d in dims)
        self.data_key = data_key
        self.buf_size = max(1, int(buf_size))
        self._buffered = 0
        self.idx = 0
        self.data = self.labels = None
        if dtype is not None:
            self._create_datasets(np.dtype(dtype))

    def _create_datasets(self, dtype):
        dims = self.dims
        rows = min(chunk_rows(dims[1:], dtype.itemsize), max(1, dims[0]))
        self.data = self.db.create_dataset(self.data_key, shape=dims, maxshape=(None,) + dims[1:],
                                           dtype=dtype, chunks=(rows,) + dims[1:], track_times=False)
        self.labels = self.db.create_dataset("labels", shape=(dims[0],), maxshape=(None,),
                                             dtype="int64", chunks=(max(1024, rows),), track_times=False)
        self._rows = np.empty((self.buf_size,) + dims[1:], dtype=dtype)
        self._labels = np.empty((self.buf_size,), dtype="int64")

    def add(self, rows, labels):
        """Append a batch: `rows` shaped (n, ...) like dims[1:], `labels` (n,).
        Without a `dtype`, the first batch decides it: float rows (the book's
        features) are stored as float32, anything else as it comes (uint8
        images stay uint8)."""
        rows = np.asarray(rows)
        labels = np.asarray(labels)
        if rows.shape[1:] != self.dims[1:] or len(rows) != len(labels):
            raise ValueError(f"expected rows of shape (n, {', '.join(map(str, self.dims[1:]))}) "
                             f"with n labels, got {rows.shape} and {labels.shape}")
        if self.data is None:
            self._create_datasets(np.dtype("float32") if rows.dtype.kind == "f" else rows.dtype)
        elif rows.dtype.kind == "f" and self.data.dtype.kind in "iub":
            raise ValueError(f"float rows would be truncated to the file's {self.data.dtype}; "
                             "create the writer with dtype='float32'")
        start = 0
        while start < len(rows):
            take = min(len(rows) - start, self.buf_size - self._buffered)
            self._rows[self._buffered:self._buffered + take] = rows[start:start + take]
            self._labels[self._buffered:self._buffered + take] = labels[start:start + take]
            self._buffered += take
            start += take
            if self._buffered == self.buf_size:
                self.flush()

    def flush(self):
        """Write the buffered rows to the file."""
        n = self._buffered
        if n == 0:
            return
        end = self.idx + n
        if end > self.data.shape[0]:
            self.data.resize(end, axis=0)
            self.labels.resize(end, axis=0)
        self.data[self.idx:end] = self._rows[:n]
        self.labels[self.idx:end] = self._labels[:n]
        self.idx = end
        self._buffered = 0

    @accepts_book_names(classLabels="class_labels")
    def store_class_labels(self, class_labels):
        """Save the class names (index = label) as `label_names`, UTF-8."""
        names = [str(name) for name in class_labels]
        if "label_names" in self.db:
            del self.db["label_names"]
        self.db.create_dataset("label_names", data=names, dtype=h5py.string_dtype(), track_times=False)

    storeClassLabels = store_class_labels  # the book's spelling

    def store_paths(self, paths):
        """Save each row's source file as `paths`, UTF-8, in row order (for
        galleries and reports that name the images they show)."""
        if "paths" in self.db:
            del self.db["paths"]
        self.db.create_dataset("paths", data=[str(path) for path in paths], dtype=h5py.string_dtype(),
                               track_times=False)

    def close(self):
        """Flush, trim the datasets to the rows added and (atomic mode) move
        the finished file onto `output_path`."""
        if self.db is None:
            return
        if self.data is None:  # nothing added and no dtype given
            self._create_datasets(np.dtype("uint8"))
        self.flush()
        self.data.resize(self.idx, axis=0)
        self.labels.resize(self.idx, axis=0)
        self.db.close()
        self.db = None
        self._stack.close()

    def discard(self):
        """Abandon the file: in atomic mode nothing reaches `output_path`."""
        if self.db is None:
            return
        self.db.close()
        self.db = None
        # Leaving the atomic_path block with an exception deletes the temporary file.
        self._stack.__exit__(RuntimeError, RuntimeError("discarded"), None)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self.atomic:
            self.discard()
        else:
            self.close()  # atomic=False: keep what was added, buffer included
        return False
