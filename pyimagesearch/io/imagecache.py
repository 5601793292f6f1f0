"""A folder dataset's images decoded once, at a model's input size, into an
HDF5 file on disk, so that trainers read batches from disk with flat memory.

    cache = open_cache(dataset, paths, labels, 64, 64, folder="output/cache")
    rows, kept_paths = cache.rows_for(paths)   # the loader's `.paths` order
    batch = cache.read(rows[:32])              # uint8 (32, 64, 64, 3), BGR

Layout of a cache file (plain h5py reads it):

    images          uint8  (N, H, W, 3)  pixels in BGR order, exactly what
                                         SimpleDatasetLoader gives; chunks
                                         of whole rows (hdf5file.chunk_rows),
                                         not compressed, so that any row is
                                         read in one system call
    paths           str    (N,)          each image's file relative to the
                                         `dataset` attribute, "/" separators,
                                         sorted: the rows do not depend on
                                         the seed that shuffled the listing
    labels          str    (N,)          each image's label
    file_sizes      int64  (N,)          each file's size in bytes and
    file_mtimes_ns  int64  (N,)          modification time (os.stat) when
                                         it was cached

File attributes: `format` ("pyimagesearch-imagecache/1"), `dataset` (the
dataset folder's absolute path), `width`, `height`, `resize` (a key of
preprocessing.RESIZERS), `fingerprint`, `built` (local date and time),
`skipped` (JSON list of [relative path, reason] of the unreadable files left
out) and `skipped_files` (JSON list of [relative path, label, size,
mtime_ns] of those files, to tell what changed since).

When a cache is stale: the fingerprint is a SHA-256 of every listed file's
relative path, label, size and mtime_ns. A file added, removed, renamed,
relabelled or rewritten therefore gives another fingerprint, and the cache is
rebuilt. A change that keeps both the size and the modification time (a
tool that restores mtimes after editing pixels in place) is NOT detected:
delete the cache file to force a rebuild.

Safety: the free disk space for the whole file is checked first. The cache
is written under a temporary name in its folder (.<name>.tmp-<pid>.hdf5) and
renamed into place only when complete, so an error, Ctrl-C, `kill` or a full
disk never leaves a file that a later run uses; the temporary file of a build
killed outright (SIGKILL) is deleted by the next build, unless its process
still runs. Two processes building the same cache at once each write their
own temporary file; the last to finish wins. The file is not fsync'ed (that
would wait for all of it to reach the disk): a power cut just after a build
may leave a damaged cache, which is then rebuilt if h5py cannot open it.
"""

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass

import h5py
import numpy as np
from tqdm import tqdm

from ..datasets.folder import report_skipped
from ..datasets.simpledatasetloader import SimpleDatasetLoader
from ..preprocessing import RESIZERS
from ..utils.atomic import atomic_path, being_written, ensure_writable_folder, remove_leftover_temporaries
from ..utils.deferredinterrupts import deferred_interrupts
from ..utils.errors import UserError, first_line
from ..utils.parallel import imap_ordered
from .hdf5file import chunk_rows

FORMAT = "pyimagesearch-imagecache/1"
DEFAULT_FOLDER = os.path.join("output", "cache")
# Rows are written (and, without preadv, read_all reads them) about this
# many bytes at a time: big enough that h5py's per-call cost vanishes, small
# enough that memory stays flat.
BLOCK_BYTES = 8 * 2**20
# Free space wanted beyond the pixels: HDF5's metadata, the paths and labels.
SPACE_MARGIN = 64 * 2**20
# How long a worker that does not build the cache (build=False) waits for a
# build to show up before it builds its own.
WAIT_FOR_BUILDER_SECONDS = 120


def estimate_bytes(n_images, width, height):
    """Bytes of `n_images` decoded uint8 BGR images of width x height."""
    return int(n_images) * int(width) * int(height) * 3


def cache_path(dataset, width, height, resize="simple", folder=None):
    """The cache file of a dataset at one input size and resize mode:
    <folder>/<dataset name>-<hash of its absolute path>-<W>x<H>-<resize>.hdf5."""
    root = os.path.abspath(dataset)
    tag = hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    name = f"{os.path.basename(root) or 'dataset'}-{tag}-{int(width)}x{int(height)}-{resize}.hdf5"
    return os.path.join(folder or DEFAULT_FOLDER, name)


@dataclass(frozen=True)
class CacheOptions:
    """Where a cache lives and how it is built (see open_cache): `folder`
    holds the cache files (default output/cache), `workers` decoding
    threads build it (default one per CPU core), and `build` False makes
    this process wait for another one's build first."""
    folder: str = None
    workers: int = None
    build: bool = True


def open_cache(dataset, paths, labels, width, height, resize="simple", **options):
    """Return an ImageCache of the listed images decoded at width x height.

    `paths` and `labels` are what datasets.folder.find_dataset returned for
    `dataset` (any order); `resize` is a key of preprocessing.RESIZERS;
    `options` are CacheOptions' fields (folder, workers, build). A complete
    cache of the same dataset, size and resize mode is reused when its
    fingerprint still matches the files (see the module's docstring for
    what is and is not detected); otherwise it is
    (re)built, naming each unreadable file once, as the loader does. Prints
    one line saying which, and why.

    `build=False` (the workers of a multi-worker run other than the chief)
    first waits while another running process writes the cache, so that one
    worker decodes the dataset, not all; it builds its own only when no
    build shows up within WAIT_FOR_BUILDER_SECONDS (a folder the chief does
    not share).
    """
    options = CacheOptions(**options)
    if resize not in RESIZERS:
        raise ValueError(f"resize must be one of {', '.join(RESIZERS)}, got {resize!r}")
    paths, labels = list(paths), list(labels)
    if len(paths) != len(labels):
        raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
    root = os.path.abspath(dataset)
    path = cache_path(root, width, height, resize, options.folder)
    # Stat every file before decoding any: a file changed during the build
    # then no longer matches the stored fingerprint, and the next run rebuilds.
    listing = _listing(root, paths, labels)
    attrs = {"format": FORMAT, "dataset": root, "width": int(width), "height": int(height),
             "resize": resize, "fingerprint": _fingerprint(listing)}
    why = _stale_reason(path, attrs, listing)
    if why is not None and not options.build:
        why = _wait_for_builder(path, attrs, listing)
    if why is None:
        cache = ImageCache(path)
        print(f"[INFO] image cache: reusing {path} ({cache.num_images} images, built {cache.built})")
        if cache.skipped:
            print(f"[NOTE] {len(cache.skipped)} unreadable files were left out when the cache was built "
                  f"(see the skipped attribute of {path})", file=sys.stderr)
        return cache
    print(f"[INFO] image cache: building {path}: {why}")
    _build(path, listing, attrs, options.workers)
    return ImageCache(path)


def _wait_for_builder(path, attrs, listing):
    """Wait while another process builds the cache at `path`; return why it
    is still stale (None once it is complete and current)."""
    print(f"[INFO] image cache: waiting for the chief worker to build {path}", flush=True)
    started = time.monotonic()
    while (why := _stale_reason(path, attrs, listing)) is not None:
        if not being_written(path) and time.monotonic() - started > WAIT_FOR_BUILDER_SECONDS:
            print(f"[NOTE] image cache: no other process built {path} in {WAIT_FOR_BUILDER_SECONDS} s "
                  "(is the folder shared with the chief?); building it here", file=sys.stderr)
            return why
        time.sleep(0.5)
    return None


class ImageCache:
    """A cache file opened for reading (see the module's docstring).

    Attributes: `path`, `dataset` (absolute), `width`, `height`, `resize`,
    `built`, `fingerprint`, `paths` (each row's file relative to `dataset`,
    "/" separators, sorted), `labels` (each row's label, a numpy str array)
    and `skipped` ([(relative path, reason)] of the unreadable files left
    out). `read`, `read_all` and `labels_for` may be called from several
    threads at once. After a fork (a multiprocessing worker), open a new
    ImageCache(path) in the child.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._db = h5py.File(self.path, "r")
        self._fd = None
        try:
            attrs = self._db.attrs
            if attrs.get("format") != FORMAT:
                raise UserError(f"{self.path}: not an image cache of this version "
                                f"({attrs.get('format')!r}); delete it and run again")
            self._images = self._db["images"]
            self.dataset = str(attrs["dataset"])
            self.width, self.height = int(attrs["width"]), int(attrs["height"])
            self.resize = str(attrs["resize"])
            self.fingerprint = str(attrs["fingerprint"])
            self.built = str(attrs["built"])
            self.skipped = [tuple(entry) for entry in json.loads(attrs["skipped"])]
            self.paths = [str(p) for p in self._db["paths"].asstr()[:]]
            self.labels = np.array([str(label) for label in self._db["labels"].asstr()[:]])
            self._offsets = self._row_offsets()
        except BaseException:
            self.close()
            raise
        self._row_of = {rel: row for row, rel in enumerate(self.paths)}
        self._skipped_set = {rel for rel, _ in self.skipped}

    def _row_offsets(self):
        """Each row's byte offset in the file, to read rows with os.preadv;
        None where that is not possible (no preadv, as on Windows).

        Written by hand because h5py lacks a fast way to read scattered rows:
        its list indexing, and read_direct row by row, read many times fewer
        images per second than preadv at these offsets with the GIL released
        (BENCHMARKS.md, "Data larger than memory"). A chunk
        holds whole rows, uncompressed and unfiltered (see _write), so row r
        lies at its chunk's offset plus (r mod rows per chunk) rows. The file
        is never written again once built (a rebuild replaces it, and the
        descriptor duplicated here keeps reading this one)."""
        images = self._images
        shape = images.shape
        if (not hasattr(os, "preadv") or images.chunks is None or images.chunks[1:] != shape[1:]
                or images.compression or images.shuffle or images.fletcher32):
            return None
        per_chunk = images.chunks[0]
        chunk_bytes = per_chunk * estimate_bytes(1, self.width, self.height)
        starts = np.full(-(-shape[0] // per_chunk), -1, dtype=np.int64)

        def store(info):
            if info.size == chunk_bytes and not info.filter_mask and info.chunk_offset[0] < shape[0]:
                starts[info.chunk_offset[0] // per_chunk] = info.byte_offset

        if hasattr(images.id, "chunk_iter"):  # HDF5 >= 1.12.3: one pass over the index
            images.id.chunk_iter(store)
        else:
            for i in range(images.id.get_num_chunks()):
                store(images.id.get_chunk_info(i))
        if starts.size and starts.min() < 0:  # a chunk never written: read through h5py
            return None
        rows = np.arange(shape[0], dtype=np.int64)
        offsets = starts[rows // per_chunk] + (rows % per_chunk) * (chunk_bytes // per_chunk)
        self._fd = os.dup(self._db.id.get_vfd_handle())
        return offsets

    @property
    def num_images(self):
        return int(self._images.shape[0])

    @property
    def image_shape(self):
        """(height, width, 3)."""
        return tuple(int(n) for n in self._images.shape[1:])

    @property
    def nbytes(self):
        """Bytes of all the decoded images, as read_all() would hold them."""
        return estimate_bytes(self.num_images, self.width, self.height)

    def rows_for(self, paths):
        """(rows, kept_paths) for listed `paths` in any order: the cache row
        of each readable one, in the given order (int64), and those paths.
        `kept_paths` equals SimpleDatasetLoader's `.paths` after
        `load(paths)`: unreadable files are left out the same way."""
        rows, kept = [], []
        for path in paths:
            rel = _relative(path, self.dataset)
            row = self._row_of.get(rel)
            if row is not None:
                rows.append(row)
                kept.append(path)
            elif rel not in self._skipped_set:
                raise ValueError(f"{path}: not in the image cache {self.path} (the cache was opened "
                                 "for another listing; pass the paths given to open_cache)")
        return np.array(rows, dtype=np.int64), kept

    def labels_for(self, rows):
        """The label strings of `rows`, as a numpy array like the loader's."""
        return self.labels[np.asarray(rows, dtype=np.int64)]

    def read(self, rows):
        """The images of `rows` (any order, repeats allowed) as uint8
        (len(rows), H, W, 3), in the given order: a batch at a time."""
        rows = self._checked_rows(rows)
        out = np.empty((rows.size,) + self.image_shape, dtype=np.uint8)
        self._read_into(out, rows)
        return out

    def read_all(self, rows=None):
        """The images of `rows` (default: every row, in order) in one array
        allocated once; each row is read straight into its place, with no
        intermediate copy."""
        if rows is None and self._offsets is None:  # through h5py: in slices, not row by row
            out = np.empty((self.num_images,) + self.image_shape, dtype=np.uint8)
            block = max(1, BLOCK_BYTES // estimate_bytes(1, self.width, self.height))
            for start in range(0, self.num_images, block):
                rows = np.s_[start:min(start + block, self.num_images)]
                self._images.read_direct(out, rows, rows)
            return out
        rows = np.arange(self.num_images) if rows is None else self._checked_rows(rows)
        out = np.empty((rows.size,) + self.image_shape, dtype=np.uint8)
        self._read_into(out, rows)
        return out

    def _read_into(self, out, rows):
        if self._offsets is not None:
            row_bytes = estimate_bytes(1, self.width, self.height)
            flat = out.reshape(len(out), row_bytes)
            for k, row in enumerate(rows.tolist()):
                if os.preadv(self._fd, [flat[k]], int(self._offsets[row])) != row_bytes:
                    raise OSError(f"{self.path}: the file is shorter than its rows; delete it "
                                  "and run again")
            return
        # Through h5py (one call at a time, under its own lock): row by row is
        # 40-100x faster than its list indexing (see _row_offsets).
        for k, row in enumerate(rows.tolist()):
            self._images.read_direct(out, np.s_[row:row + 1], np.s_[k:k + 1])

    def _checked_rows(self, rows):
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_images):
            raise IndexError(f"rows must lie in 0..{self.num_images - 1} for {self.path}")
        return rows

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __repr__(self):
        return (f"ImageCache({self.path!r}, {self.num_images} images of "
                f"{self.width}x{self.height}, resize={self.resize!r})")


def _relative(path, root):
    """`path` relative to the absolute folder `root`, with "/" separators."""
    path = os.path.abspath(path)
    prefix = root.rstrip(os.sep) + os.sep
    rel = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, root)
    return rel.replace(os.sep, "/")


def _listing(root, paths, labels):
    """[(relative path, label, size, mtime_ns, path as given)] sorted by
    relative path. A file that cannot be stat'ed (a broken symlink) gets
    size and mtime -1; decoding it will say why it is unusable."""
    listing = []
    for path, label in zip(paths, labels):
        try:
            st = os.stat(path)
            size, mtime = int(st.st_size), int(st.st_mtime_ns)
        except OSError:
            size = mtime = -1
        listing.append((_relative(path, root), str(label), size, mtime, path))
    listing.sort(key=lambda entry: entry[0])
    return listing


def _fingerprint(listing):
    digest = hashlib.sha256()
    for rel, label, size, mtime, _ in listing:
        digest.update(f"{rel}\0{label}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _stale_reason(path, wanted, listing):
    """None when the cache at `path` matches the `wanted` attributes and can
    be reused, else why not."""
    if not os.path.exists(path):
        return "new"
    try:
        with h5py.File(path, "r") as db:
            attrs = db.attrs
            if attrs.get("format") != FORMAT:
                return f"made by another version ({attrs.get('format')!r})"
            if any(type(value)(attrs[key]) != value for key, value in wanted.items()
                   if key != "fingerprint"):
                return "it was built for another dataset or size"
            if attrs["fingerprint"] == wanted["fingerprint"] and len(db["images"]) == len(db["paths"]):
                return None
            before = dict(zip(db["paths"].asstr()[:], zip(db["labels"].asstr()[:],
                                                           db["file_sizes"][:].tolist(),
                                                           db["file_mtimes_ns"][:].tolist())))
            for rel, label, size, mtime in json.loads(attrs["skipped_files"]):
                before[rel] = (label, size, mtime)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        return f"the file is unreadable ({first_line(exc)})"
    now = {rel: (label, size, mtime) for rel, label, size, mtime, _ in listing}
    changed = sum(1 for rel, stats in now.items() if rel in before and tuple(before[rel]) != stats)
    added = sum(1 for rel in now if rel not in before)
    removed = sum(1 for rel in before if rel not in now)
    return f"{changed} files changed, {added} added, {removed} removed"


def _check_free_space(folder, n_images, width, height):
    needed = estimate_bytes(n_images, width, height) + SPACE_MARGIN
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise UserError(f"{folder}: not enough free disk space for the image cache: it needs "
                        f"{_size_text(needed)}, {_size_text(free)} are free; free some space or "
                        "choose another cache folder", 1)


def _size_text(n):
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _build(path, listing, attrs, workers):
    """Write the cache file `path` of the `listing` with the file attributes
    `attrs` (see open_cache), atomically, or raise UserError."""
    folder = os.path.dirname(os.path.abspath(path))
    ensure_writable_folder(folder, "cache folder")
    # Temporary files of builds killed outright (no clean-up ran); those of
    # a build still running are spared: it may be writing this cache now.
    for leftover in remove_leftover_temporaries(path, keep_running=True):
        print(f"[NOTE] removed {leftover}, left by a cache build that was killed", file=sys.stderr)
    width, height = attrs["width"], attrs["height"]
    _check_free_space(folder, len(listing), width, height)
    loader = SimpleDatasetLoader([RESIZERS[attrs["resize"]](width, height)], workers=workers)
    attrs = {**attrs, "built": datetime.datetime.now().isoformat(sep=" ", timespec="seconds")}
    try:
        # Ctrl-C and `kill` stop the build between two images, never inside
        # h5py or the thread pool's bookkeeping; atomic_path then deletes the
        # temporary file.
        with atomic_path(path) as tmp, deferred_interrupts() as interrupts:
            skipped = _write(tmp, listing, loader, attrs, interrupts)
    except (OSError, RuntimeError) as exc:
        # A full disk, a quota, a file size limit: h5py raises OSError or,
        # when the failed write surfaces while it releases an object,
        # RuntimeError ("Can't decrement id ref count (file write failed...").
        raise UserError(f"{folder}: could not write the image cache ({_write_error(exc)}); "
                        "nothing was kept: free some disk space or choose another cache folder",
                        1) from None
    report_skipped([(entry[4], reason) for entry, reason in skipped], len(listing))


def _write_error(exc):
    """The operating system's reason in an h5py write error ("No space left
    on device"), else the error's first line."""
    found = re.search(r"errno = (\d+), error message = '([^']*)'", str(exc))
    return f"{found.group(2)}, errno {found.group(1)}" if found else first_line(exc)


def _write(tmp, listing, loader, attrs, interrupts):
    """Decode the listed files in order into a new HDF5 file `tmp`, a block
    of rows at a time; return [(listing entry, reason)] of the skipped ones."""
    row_shape = (attrs["height"], attrs["width"], 3)
    # About 1 MiB chunks of whole rows (as build_hdf5.py's files): HDF5 then
    # writes a block in a few large pieces (one row per chunk took 6% of a
    # 64 px build), and ImageCache still reads any row in one system call.
    chunk = chunk_rows(row_shape)
    block = chunk * max(1, BLOCK_BYTES // (chunk * estimate_bytes(1, attrs["width"], attrs["height"])))
    kept, skipped = [], []
    # No chunk cache: whole chunks are written, so caching them would only
    # delay a write error to close(), far from the write that failed.
    with h5py.File(tmp, "w", libver="v110", rdcc_nbytes=0) as db:
        images = db.create_dataset("images", shape=(len(listing),) + row_shape,
                                   maxshape=(None,) + row_shape, dtype=np.uint8,
                                   chunks=(chunk,) + row_shape, track_times=False)
        buffer = np.empty((block,) + row_shape, dtype=np.uint8)
        filled = written = 0
        # Chunks of 8 images per task, as SimpleDatasetLoader.load does.
        results = imap_ordered(loader.load_one, [entry[4] for entry in listing],
                               workers=loader.workers, chunksize=8)
        # Closing the results on an error or Ctrl-C waits for the few images
        # being decoded, so no thread outlives the build.
        with contextlib.closing(results), tqdm(results, total=len(listing), unit="img",
                                                desc="caching", leave=False) as bar:
            for entry, (image, reason) in zip(listing, bar):
                interrupts.check()
                if image is None:
                    skipped.append((entry, reason))
                    continue
                buffer[filled] = image
                kept.append(entry)
                filled += 1
                if filled == block:
                    images[written:written + filled] = buffer
                    written += filled
                    filled = 0
        if filled:
            images[written:written + filled] = buffer[:filled]
            written += filled
        images.resize(written, axis=0)
        strings = h5py.string_dtype()
        for key, column in (("paths", 0), ("labels", 1)):
            db.create_dataset(key, data=np.array([e[column] for e in kept], dtype=object),
                              dtype=strings, track_times=False)
        db.create_dataset("file_sizes", data=np.array([e[2] for e in kept], dtype=np.int64),
                          track_times=False)
        db.create_dataset("file_mtimes_ns", data=np.array([e[3] for e in kept], dtype=np.int64),
                          track_times=False)
        for key, value in attrs.items():
            db.attrs[key] = value
        db.attrs["skipped"] = json.dumps([[e[0], reason] for e, reason in skipped], ensure_ascii=False)
        db.attrs["skipped_files"] = json.dumps([list(e[:4]) for e, _ in skipped], ensure_ascii=False)
    return skipped
