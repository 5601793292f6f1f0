"""Where a trainer's images come from, and how they are held: decoded into
one uint8 array in memory, streamed from a cache on disk decoded once at the
model's input size (io.imagecache), or streamed from build_hdf5.py's files.

Whatever the source, a split is three `Part`s (train, val, test): rows of an
image store that reads any rows as one uint8 batch, with their labels and
files. The tf.data pipelines (training.data) read a batch of rows at a time,
so an in-memory run holds the decoded data once and a streamed run holds
only the batches in flight.

    split = load_folder_split("animals", paths, labels, DecodeOptions(64, 64),
                              storage=Storage("auto", "output/cache"))
    split.train.images.read(split.train.rows[:32])   # 32 uint8 images
"""

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..datasets import SimpleDatasetLoader
from ..datasets.folder import check_classes, encode_labels, report_skipped, warn_left_out
from ..datasets.imagefiles import DecodeOptions
from ..datasets.split import SplitOptions, list_split_images, split_rows
from ..io.imagecache import estimate_bytes, open_cache
from ..preprocessing import RESIZERS
from ..preprocessing.inputspec import InputSpec
from ..utils.errors import UserError

DATA_MODES = ("auto", "memory", "stream")
# --data auto holds the decoded images in memory up to this size, and streams
# them from the disk cache beyond: streaming runs within a few percent of
# memory's speed (BENCHMARKS.md, "Data larger than memory"), so a few hundred
# MB already buys flat memory for little. Also never more than this fraction
# of the memory available when the run starts.
MEMORY_LIMIT_BYTES = 256 * 2**20
MEMORY_LIMIT_FRACTION = 0.25


class ArrayImages:
    """Images decoded into one uint8 array (N, H, W, 3): the in-memory store."""

    def __init__(self, array):
        self.array = array

    @property
    def image_shape(self):
        return self.array.shape[1:]

    def read(self, rows):
        return self.array[np.asarray(rows, dtype=np.int64)]


class HDF5Images:
    """The images of one build_hdf5.py file, resized to the model's input
    (width x height) as they are read: the book's way of feeding a network
    smaller than the stored 256x256 (INTER_AREA, as crop_accuracy.py's
    single view). Reads any rows, a batch at a time."""

    def __init__(self, path, width, height, patch=None):
        import cv2

        from ..io.hdf5file import open_hdf5

        self.path = path
        # A PatchPreprocessor cuts a random width x height patch of each
        # image instead of resizing it (train_alexnet.py's training images).
        self.patch = patch
        self.db = open_hdf5(path)
        self.images = self.db["images"]
        self.size = (width, height)
        self.inter = cv2.INTER_AREA
        self.stored_shape = self.images.shape[1:]

    @property
    def image_shape(self):
        return (self.size[1], self.size[0], self.stored_shape[2])

    def read(self, rows):
        import cv2

        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows),) + self.image_shape, np.uint8)
        # One row at a time: with h5py's list indexing (images[[3, 17, ...]])
        # shuffled batches of Animals' train.hdf5 (256x256, random 227 patches)
        # read at 72 images/s, row by row at 8,089.
        for i, row in enumerate(rows):
            image = self.images[int(row)]
            if self.patch is not None:
                out[i] = self.patch.preprocess(image)
            elif image.shape[1::-1] == self.size:
                out[i] = image
            else:
                out[i] = cv2.resize(image, self.size, interpolation=self.inter)
        return out


@dataclass
class Part:
    """One part of a split: `rows` of the image store `images`, with their
    integer `labels` and their files (`paths`)."""
    images: object  # ArrayImages, io.imagecache.ImageCache or HDF5Images
    rows: np.ndarray
    labels: np.ndarray
    paths: list

    def __len__(self):
        return len(self.rows)

    def read(self, positions=None):
        """The uint8 images at `positions` of this part (all of them by default)."""
        rows = self.rows if positions is None else self.rows[np.asarray(positions, dtype=np.int64)]
        return self.images.read(rows)

    def lazy(self):
        """An array-like view whose indexing reads only the rows asked for
        (the top-losses gallery shows a few test images, never all)."""
        return LazyImages(self)


class LazyImages:
    def __init__(self, part):
        self.part = part

    def __len__(self):
        return len(self.part)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.part.read([index])[0]
        return self.part.read(np.arange(len(self.part))[index])


@dataclass
class Split:
    """A dataset split into train, val and test Parts; `data` says how the
    images are held (the sidecar's "data" record)."""
    train: Part
    val: Part
    test: Part
    class_names: list
    data: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, x_train, y_train, x_val, y_val, x_test, y_test, class_names,
                    train_paths=(), val_paths=(), test_paths=()):
        """A split of uint8 arrays held in memory (tests, experiments).

        Ten parameters, for a reason: they are the fields, in order, of the
        in-memory split this class replaced, which readers' code and the
        tests build positionally; new code builds three Parts instead."""
        parts = [Part(ArrayImages(x), np.arange(len(x)), np.asarray(y), list(p)) for x, y, p in
                 ((x_train, y_train, train_paths), (x_val, y_val, val_paths), (x_test, y_test, test_paths))]
        return cls(*parts, list(class_names), {"mode": "memory", "why": "arrays given"})

    # The names of the in-memory split this replaced (benchmarks and readers'
    # code use them). x_* decode the whole part: for small data only.
    x_train = property(lambda self: self.train.read())
    x_val = property(lambda self: self.val.read())
    x_test = property(lambda self: self.test.read())
    y_train = property(lambda self: self.train.labels)
    y_val = property(lambda self: self.val.labels)
    y_test = property(lambda self: self.test.labels)
    train_paths = property(lambda self: self.train.paths)
    val_paths = property(lambda self: self.val.paths)
    test_paths = property(lambda self: self.test.paths)


@dataclass
class Storage:
    """How a trainer holds its images: `mode` memory, stream or auto (memory
    while the decoded data is small: see choose_mode), and where the disk
    cache of streamed folder datasets lives."""
    mode: str = "memory"
    cache_dir: str = None
    # False on the workers of a multi-worker run other than the chief: they
    # wait for the chief's cache instead of each decoding the whole dataset.
    builds_cache: bool = True

    @classmethod
    def beside(cls, model_path, mode="memory", cache_dir=None, builds_cache=True):
        """A trainer's storage: its disk cache in `cache_dir`, by default
        `cache/` beside the model it writes."""
        cache_dir = cache_dir or os.path.join(os.path.dirname(os.path.abspath(model_path)), "cache")
        return cls(mode, cache_dir, builds_cache)


def available_memory():
    """Bytes of memory available to a new allocation (Linux's MemAvailable;
    elsewhere the physical memory), or None when the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def choose_mode(mode, decoded_bytes, available=None):
    """(memory or stream, why) for --data `mode` and the decoded size of the data."""
    size = f"{decoded_bytes / 2**20:.0f} MiB decoded"
    if mode != "auto":
        return mode, f"--data {mode} ({size})"
    available = available_memory() if available is None else available
    limit = MEMORY_LIMIT_BYTES if not available else min(MEMORY_LIMIT_BYTES,
                                                          int(available * MEMORY_LIMIT_FRACTION))
    if decoded_bytes <= limit:
        return "memory", f"{size}, within the {limit / 2**20:.0f} MiB held in memory"
    return "stream", f"{size}, more than the {limit / 2**20:.0f} MiB held in memory"


def load_split(dataset, paths, listed_labels, width, height, storage=None, **options):
    """load_folder_split with the keywords this function always took:
    `options` are DecodeOptions' resize and workers and SplitOptions'
    label_from, seed, test_size and val_size (each with its default)."""
    decode_keys = {"resize", "workers"}
    decode = DecodeOptions(width, height, **{k: v for k, v in options.items() if k in decode_keys})
    split = SplitOptions(**{k: v for k, v in options.items() if k not in decode_keys})
    return load_folder_split(dataset, paths, listed_labels, decode, split, storage)


def load_folder_split(dataset, paths, listed_labels, decode, split=None, storage=None):
    """The images `find_dataset(dataset)` listed (`paths`, `listed_labels`),
    decoded as `decode` (DecodeOptions) says, held as `storage` says
    (default: in memory), split into train/val/test as `split`
    (datasets.split.SplitOptions, default the tutorial's) says.

    The test split reproduces the tutorial exactly: paths sorted, shuffled
    with the seed, then `train_test_split(test_size, random_state=seed)` over
    the readable images (datasets.split.split_rows), so a streamed run
    tests on the same images as an in-memory one. Validation images, used
    for EarlyStopping, come out of the training part only."""
    split, storage = split or SplitOptions(), storage or Storage()
    mode, why = choose_mode(storage.mode, estimate_bytes(len(paths), decode.width, decode.height))
    print(f"[INFO] data: {'in memory' if mode == 'memory' else 'streamed from disk'} ({why})")
    start = time.perf_counter()
    hold = _hold_in_memory if mode == "memory" else _hold_streamed
    images, rows, labels, kept_paths, record = hold(dataset, paths, listed_labels, decode, split, storage)
    record = {"mode": mode, "why": why, **record}
    seconds = time.perf_counter() - start
    warn_left_out(listed_labels, labels)
    if len(rows) == 0:
        raise UserError(f"{dataset}: none of the {len(paths)} image files could be read", 1)
    class_names = check_classes(dataset, labels, split.label_from)
    nbytes = len(rows) * int(np.prod(images.image_shape))
    print(f"[INFO] {'loaded' if mode == 'memory' else 'ready:'} {len(rows)} images of "
          f"{len(class_names)} classes in {seconds:.1f}s ({len(rows) / max(seconds, 1e-9):.0f} "
          f"images/s); {tuple(images.image_shape)} uint8, {nbytes / 2**20:.1f} MiB decoded")
    record["decoded_bytes"] = nbytes
    y, class_names = encode_labels(labels, class_names)
    parts = split_rows(y, split)
    return Split(*(Part(images, rows[idx], y[idx], [kept_paths[i] for i in idx]) for idx in parts),
                 class_names, record)


def _hold_in_memory(dataset, paths, listed_labels, decode, split, storage):
    """(images, rows, labels, kept paths, data record) of the readable
    images, decoded into one array."""
    loader = SimpleDatasetLoader([RESIZERS[decode.resize](decode.width, decode.height)],
                                 label_from=split.label_from, workers=decode.workers)
    data, labels = loader.load(paths, verbose=1, labels=listed_labels)
    report_skipped(loader.skipped, len(paths))
    return ArrayImages(data), np.arange(len(data)), labels, loader.paths, {}


def _hold_streamed(dataset, paths, listed_labels, decode, split, storage):
    """The same as _hold_in_memory, the images in the disk cache."""
    images = open_cache(dataset, paths, listed_labels, decode.width, decode.height, decode.resize,
                        folder=storage.cache_dir, workers=decode.workers, build=storage.builds_cache)
    rows, kept_paths = images.rows_for(paths)
    return images, rows, images.labels_for(rows), kept_paths, {"cache": os.path.abspath(images.path)}


def load_run_split(info, dataset=None):
    """The split the run of sidecar `info` trained and tested on, decoded
    again from `dataset` (default: the run's own --dataset): the same seed,
    sizes and input spec pick the same images for each part, since the
    tutorial's split depends only on the sorted, shuffled paths."""
    args, spec = info["run"]["arguments"], InputSpec.from_dict(info["input"])
    dataset = dataset or args["dataset"]
    options = SplitOptions.from_arguments(args)
    paths, labels = list_split_images(dataset, options)
    # The run's disk cache, when it streamed, is reused if still valid.
    cache = (info["run"].get("data") or {}).get("cache")
    storage = Storage("auto", os.path.dirname(cache) if cache else None)
    decode = DecodeOptions(spec.width, spec.height, spec.resize)
    return load_folder_split(dataset, paths, labels, decode, options, storage)


def load_patch_split(folder, size, seed=None):
    """The book's AlexNet data (train_alexnet.py): build_hdf5.py's files in
    `folder`, all streamed from disk, each training image a new random
    `size` x `size` patch of the stored one at every read (seeded), the
    validation and test images resized to `size`."""
    from ..preprocessing import PatchPreprocessor

    return load_hdf5_split(folder, size, size, Storage("stream"),
                           train_patch=PatchPreprocessor(size, size, seed=seed))


def load_hdf5_split(folder, width, height, storage=None, train_patch=None):
    """build_hdf5.py's train, val and test files in `folder` (test.hdf5 may
    be absent: then the test part is empty), each image resized to
    width x height as it is read, or for training cut by `train_patch` (a
    PatchPreprocessor: a new random patch at every read, so always
    streamed); held in memory or streamed as `storage` says (the files
    themselves are the disk cache)."""
    from ..io.hdf5file import hdf5_file, read_label_names, read_paths

    storage = storage or Storage()
    names = ("train", "val", "test")
    files = {name: hdf5_file(folder, name) for name in names[:2]}
    test_path = os.path.join(folder, "test.hdf5")
    if os.path.exists(test_path):
        files["test"] = test_path
    else:
        print(f"[NOTE] no {test_path}: the run is evaluated on nothing but validation", file=sys.stderr)
    stores = {name: HDF5Images(path, width, height, train_patch if name == "train" else None)
              for name, path in files.items()}
    stored = stores["train"].stored_shape
    if train_patch is not None and min(stored[:2]) < min(width, height):
        raise UserError(f"{files['train']}: images are {stored[1]}x{stored[0]}, smaller than the "
                        f"--size {width} crops; rebuild with a larger build_hdf5.py --stored-size")
    class_names = read_label_names(stores["train"].db)
    for name, store in stores.items():
        if read_label_names(store.db) != class_names:
            raise UserError(f"{files[name]}: its label_names differ from {files['train']}'s; build "
                            "all the files with one build_hdf5.py run")
    decoded_bytes = estimate_bytes(sum(store.images.shape[0] for store in stores.values()), width, height)
    mode, why = choose_mode(storage.mode, decoded_bytes)
    print(f"[INFO] data: {'in memory' if mode == 'memory' else 'streamed from'} {folder} ({why})")
    parts = []
    for name in names:
        store = stores.get(name)
        if store is None:
            parts.append(Part(ArrayImages(np.empty((0, height, width, 3), np.uint8)),
                              np.arange(0), np.arange(0), []))
            continue
        n = store.images.shape[0]
        # Each row's file, relative to the dataset folder the file was built from.
        relative, source = read_paths(store.db), store.db.attrs.get("source")
        paths = ([os.path.join(source, p) for p in relative] if relative and source
                 else relative or [f"row {i}" for i in range(n)])
        in_memory = mode == "memory" and store.patch is None
        images = ArrayImages(store.read(np.arange(n))) if in_memory else store
        parts.append(Part(images, np.arange(n), store.db["labels"][:].astype(np.int64), paths))
    record = {"mode": mode, "why": why, "hdf5": os.path.abspath(folder), "decoded_bytes": decoded_bytes}
    return Split(*parts, class_names, record)
