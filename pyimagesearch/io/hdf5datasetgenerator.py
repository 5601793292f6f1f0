import math

import numpy as np

from ..utils.booknames import accepts_book_names
from .hdf5file import open_hdf5, read_label_names


class HDF5DatasetGenerator:
    """Read an HDF5 dataset file in batches, as the book's generator did:

        gen = HDF5DatasetGenerator("output/hdf5/train.hdf5", 32, preprocessors=[mp])
        for images, labels in gen.generator(passes=1): ...
        gen.close()

    Each batch is a contiguous slice `images[i:i + batch_size]`, so only one
    batch is ever in memory. `preprocessors` run on every image, `aug` on the
    whole batch: a callable such as `image_augmentation()` (called with
    `training=True`) or anything with the book's ImageDataGenerator `flow()`.
    `binarize` one-hot encodes the labels over `classes` (default: the
    number of `label_names` in the file). For `model.fit`, prefer
    `pyimagesearch.io.HDF5Sequence`, which reads and prepares batches off the
    training thread.
    """

    @accepts_book_names(dbPath="db_path", batchSize="batch_size", dataKey="data_key")
    def __init__(self, db_path, batch_size, preprocessors=None, aug=None, binarize=True,
                 classes=None, data_key="images"):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.preprocessors = preprocessors
        self.aug = aug
        self.binarize = binarize
        self.db = open_hdf5(db_path, data_key=data_key)
        self.images = self.db[data_key]
        self.labels = self.db["labels"]
        self.class_names = read_label_names(self.db)
        if classes is None:
            classes = len(self.class_names) if self.class_names else int(self.labels[:].max()) + 1
        self.classes = int(classes)
        self.num_images = self.images.shape[0]
        self.numImages = self.num_images  # the book's spelling

    def __len__(self):
        """Batches per pass; the last one may be smaller."""
        return math.ceil(self.num_images / self.batch_size)

    def batch(self, index):
        """Read and prepare batch number `index`: (images, labels)."""
        start = index * self.batch_size
        images = self.images[start:start + self.batch_size]
        labels = self.labels[start:start + self.batch_size]
        if self.binarize:
            labels = np.eye(self.classes, dtype="float32")[labels]
        if self.preprocessors:
            prepared = []
            for image in images:
                for p in self.preprocessors:
                    image = p.preprocess(image)
                prepared.append(image)
            images = np.stack(prepared)
        if self.aug is not None:
            if hasattr(self.aug, "flow"):
                images, labels = next(self.aug.flow(images, labels, batch_size=len(images)))
            else:
                images = np.asarray(self.aug(images.astype("float32", copy=False), training=True))
        return images, labels

    def generator(self, passes=np.inf):
        """Yield (images, labels) batches in file order, `passes` times over."""
        done = 0
        while done < passes:
            for index in range(len(self)):
                yield self.batch(index)
            done += 1

    def close(self):
        self.db.close()
