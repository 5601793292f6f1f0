import numpy as np

from ..utils.booknames import accepts_book_names


class MeanPreprocessor:
    """Subtract the training set's per-channel mean (mean.json from
    build_hdf5.py). Arguments are in R, G, B order as in the book; images are
    in the stored BGR order. Returns float32."""

    @accepts_book_names(rMean="r_mean", gMean="g_mean", bMean="b_mean")
    def __init__(self, r_mean, g_mean, b_mean):
        self.r_mean = r_mean
        self.g_mean = g_mean
        self.b_mean = b_mean
        self.bgr = np.array([b_mean, g_mean, r_mean], dtype=np.float32)

    def preprocess(self, image):
        return image.astype(np.float32) - self.bgr
