import numpy as np

from ..utils.booknames import accepts_book_names


class ImageToArrayPreprocessor:
    """Return the image as an (H, W, C) numpy array, channels last.

    The book's version went through Keras' img_to_array and returned float32;
    this one keeps the dtype (uint8 stays uint8, a quarter of the memory) and
    leaves scaling to the moment a batch reaches the model. A 2-D grayscale
    image gains a channel axis. `data_format="channels_first"` moves it first.
    """

    @accepts_book_names(dataFormat="data_format")
    def __init__(self, data_format=None):
        self.data_format = data_format

    def preprocess(self, image):
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, np.newaxis]
        if self.data_format == "channels_first":
            array = np.transpose(array, (2, 0, 1))
        return array
