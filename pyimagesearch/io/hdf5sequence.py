from dataclasses import dataclass

import keras
import numpy as np

from .hdf5datasetgenerator import HDF5DatasetGenerator


@dataclass(frozen=True)
class BatchOrder:
    """Which of a file's batches a sequence serves, in which order: all of
    them, or worker i of n's share (`shard=(i, n)`), each epoch in a new
    order drawn with `seed` when `shuffle`."""
    shuffle: bool = False
    seed: int = None
    shard: tuple = None


class HDF5Sequence(keras.utils.PyDataset):
    """Feed `model.fit` from an HDF5 dataset file, never loading all of it.

        train = HDF5Sequence("output/hdf5/train.hdf5", 64, preprocessors=[pp, mp],
                             aug=image_augmentation(), shuffle=True, workers=2)
        model.fit(train, validation_data=val, epochs=75)

    Every batch is a contiguous slice read by HDF5DatasetGenerator.batch (the
    same preprocessors/aug/binarize arguments); Keras prepares the next
    `max_queue_size` batches in `workers` threads while the model trains
    (h5py, OpenCV and TensorFlow release the GIL). `shuffle` permutes the order
    of the batches each epoch: reads stay contiguous, and images meet
    different neighbours because build_hdf5.py shuffled them once when it
    wrote the file. Labels are integers unless `binarize=True`.

    `shard=(i, n)` serves only worker i of n's share, for multi-worker
    training: the file's whole batches are split into n equal, contiguous
    runs (worker 0 the first), so every worker runs the same number of steps.
    The rows after the last whole share (fewer than n batches' worth) are
    left out, the same ones every epoch; `num_images` counts the rows served.

    `class_weights` (one weight per class, see datasets.classweights) makes
    every batch (x, y, sample weights).
    """

    def __init__(self, db_path, batch_size, preprocessors=None, aug=None, binarize=False,
                 classes=None, **options):
        """The first six parameters are HDF5DatasetGenerator's; `options`
        are BatchOrder's fields (shuffle, seed, shard), PyDataset's
        `workers` (default 1) and `max_queue_size`, and the generator's
        `data_key`."""
        order = BatchOrder(**{k: options.pop(k) for k in ("shuffle", "seed", "shard") if k in options})
        data_key = options.pop("data_key", "images")
        options.setdefault("workers", 1)
        super().__init__(use_multiprocessing=False, **options)
        self.source = HDF5DatasetGenerator(db_path, batch_size, preprocessors=preprocessors, aug=aug,
                                           binarize=binarize, classes=classes, data_key=data_key)
        self.class_names = self.source.class_names
        shuffle, seed, shard = order.shuffle, order.seed, order.shard
        self.shard = shard
        if shard is None:
            self.batches = np.arange(len(self.source))
            self.num_images = self.source.num_images
        else:
            index, count = shard
            per_worker = self.source.num_images // batch_size // count
            self.batches = np.arange(index * per_worker, (index + 1) * per_worker)
            self.num_images = per_worker * batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.batches.copy()
        if shuffle:
            self.rng.shuffle(self.order)
        self.class_weights = None

    def __len__(self):
        return len(self.order)

    def __getitem__(self, index):
        return self.read(self.order[index])

    def read(self, number):
        """The file's batch `number` (an entry of `order`), with sample weights
        once `class_weights` is set. Not Keras' class_weight: it cannot weight
        the distributed input, which reads its batches through here too."""
        x, y = self.source.batch(int(number))
        if self.class_weights is None:
            return x, y
        labels = y.argmax(axis=1) if y.ndim == 2 else y
        return x, y, np.asarray(self.class_weights, dtype=np.float32)[labels]

    def batch_rows(self, number):
        """The file rows [start, stop) of the file's batch `number` (an entry of `order`)."""
        start = int(number) * self.source.batch_size
        return start, min(start + self.source.batch_size, self.source.num_images)

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)

    def close(self):
        self.source.close()
