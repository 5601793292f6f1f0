"""HDF5 dataset files: write them a buffer at a time, read them a batch at a
time. The file layout is documented in `pyimagesearch.io.hdf5file`.
HDF5Sequence needs Keras and is imported from `pyimagesearch.io.hdf5sequence`
so that building a file does not load TensorFlow."""

from .hdf5datasetgenerator import HDF5DatasetGenerator
from .hdf5datasetwriter import HDF5DatasetWriter
from .hdf5file import open_hdf5, read_label_names, read_paths
from .imagecache import ImageCache, estimate_bytes, open_cache

__all__ = ["HDF5DatasetGenerator", "HDF5DatasetWriter", "ImageCache", "estimate_bytes", "open_cache",
           "open_hdf5", "read_label_names", "read_paths"]
