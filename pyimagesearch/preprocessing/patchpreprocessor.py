import threading

import numpy as np


class PatchPreprocessor:
    """Cut one random width x height patch out of the image (training-time
    augmentation: a 256x256 image gives 30^2 different 227x227 patches).

    Pass `seed` or a numpy `rng` for repeatable patches; safe to share
    between threads."""

    def __init__(self, width, height, seed=None, rng=None):
        self.width = width
        self.height = height
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self._lock = threading.Lock()

    def preprocess(self, image):
        h, w = image.shape[:2]
        if h < self.height or w < self.width:
            raise ValueError(f"image is {w}x{h}, smaller than the {self.width}x{self.height} patch")
        with self._lock:
            y = int(self.rng.integers(0, h - self.height + 1))
            x = int(self.rng.integers(0, w - self.width + 1))
        return image[y:y + self.height, x:x + self.width]
