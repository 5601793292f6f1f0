import os

import numpy as np
from tqdm import tqdm

from ..utils.booknames import accepts_book_names
from ..utils.parallel import imap_ordered
from .imagefiles import MAX_PIXELS, UnreadableImage, filename_label, read_image


class SimpleDatasetLoader:
    """Decode a list of image paths into one uint8 array plus their labels.

    `load(paths)` returns `(data, labels)`: data is (N, H, W, 3) uint8 in BGR
    order after the preprocessors; labels are the kept images' parent-folder
    names as in the book (file-name prefixes with label_from="filename"), or
    the given `labels` of the kept images. Unusable files are skipped, not
    fatal: after a load, `skipped` lists `(path, reason)` for each and `paths`
    the kept ones, in the order of `data`.
    """

    def __init__(self, preprocessors=None, label_from="folder", workers=None,
                 decode_size=None, max_pixels=MAX_PIXELS):
        self.preprocessors = list(preprocessors or [])
        self.label_from = label_from
        self.workers = workers
        self.max_pixels = max_pixels
        # JPEGs may be decoded at 1/2, 1/4 or 1/8 scale as long as their
        # shorter side stays >= decode_size. By default it is taken from the
        # first resizing preprocessor, so book code gets the speed-up for free.
        if decode_size is None:
            sized = [p for p in self.preprocessors if hasattr(p, "width") and hasattr(p, "height")]
            decode_size = max(sized[0].width, sized[0].height) if sized else None
        self.decode_size = decode_size
        self.skipped = []
        self.paths = []

    def load_one(self, path):
        """Decode and preprocess one file: (image, None), or (None, the
        reason it was skipped). `load` and the image cache share it, so both
        give the same pixels."""
        try:
            image = read_image(path, min_size=self.decode_size, max_pixels=self.max_pixels)
        except UnreadableImage as exc:
            return None, str(exc)
        for preprocessor in self.preprocessors:
            image = preprocessor.preprocess(image)
        return image, None

    _load_one = load_one  # its earlier, private name

    @accepts_book_names(imagePaths="image_paths")
    def load(self, image_paths, verbose=-1, labels=None):
        """`verbose` > 0 shows a progress bar with images/s (the book printed
        a line every `verbose` images); -1, the default, is silent."""
        image_paths = list(image_paths)
        if labels is None:
            labels = [filename_label(p) if self.label_from == "filename"
                      else os.path.basename(os.path.dirname(p)) for p in image_paths]
        kept_labels = []
        self.skipped, self.paths = [], []
        data = None
        count = 0
        # Chunks of 8: a small JPEG decodes in under a millisecond, so one
        # thread-pool task per image would spend a few percent on bookkeeping.
        results = imap_ordered(self.load_one, image_paths, workers=self.workers, chunksize=8)
        bar = tqdm(results, total=len(image_paths), unit="img", desc="loading",
                   disable=verbose is None or verbose <= 0, leave=False)
        for path, label, (image, reason) in zip(image_paths, labels, bar):
            if image is None:
                self.skipped.append((path, reason))
                continue
            if data is None:
                # Allocate once, at the final uint8 size: no Python list of
                # arrays and no float copy of the dataset.
                data = np.empty((len(image_paths),) + image.shape, dtype=image.dtype)
            elif image.shape != data.shape[1:]:
                raise ValueError(
                    f"{path}: preprocessed shape {image.shape} differs from {data.shape[1:]}; "
                    "add a resizing preprocessor (SimplePreprocessor or AspectAwarePreprocessor)")
            data[count] = image
            self.paths.append(path)
            kept_labels.append(label)
            count += 1
        bar.close()
        if data is None:
            return np.empty((0,), dtype=np.uint8), np.array(kept_labels)
        return data[:count], np.array(kept_labels)
