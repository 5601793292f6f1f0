import keras
import numpy as np

from .hdf5datasetgenerator import HDF5DatasetGenerator


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
    """

    def __init__(self, db_path, batch_size, preprocessors=None, aug=None, binarize=False,
                 classes=None, shuffle=False, seed=None, workers=1, max_queue_size=10,
                 data_key="images"):
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max_queue_size)
        self.source = HDF5DatasetGenerator(db_path, batch_size, preprocessors=preprocessors, aug=aug,
                                           binarize=binarize, classes=classes, data_key=data_key)
        self.class_names = self.source.class_names
        self.num_images = self.source.num_images
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.source))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        return self.source.batch(int(self.order[index]))

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)

    def close(self):
        self.source.close()
