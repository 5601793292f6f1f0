import numpy as np

from ..datasets import SimpleDatasetLoader
from ..preprocessing import RESIZERS
from ..utils.parallel import imap_ordered
from .backbones import preprocess_function


class FeatureExtractor:
    """Turn image files into backbone feature vectors, one batch at a time.

    Worker threads decode and resize whole batches (uint8 BGR) while the
    backbone runs on an earlier one; only the batch reaching the model
    becomes float. With `flip=True` each image's features are averaged with
    those of its mirror image (twice the backbone work).
    """

    def __init__(self, model, backbone, size, resize="simple", batch_size=32, workers=None,
                 flip=False):
        self.model = model
        self.backbone, self.size, self.resize = backbone, size, resize
        self.preprocess_input = preprocess_function(backbone)
        self.resizer = RESIZERS[resize](size, size)
        self.batch_size = batch_size
        self.workers = workers
        self.flip = flip

    @property
    def dim(self):
        return int(self.model.output_shape[-1])

    def _load_batch(self, paths):
        loader = SimpleDatasetLoader([self.resizer], workers=1)
        images, _ = loader.load(paths)
        return paths, images, loader.paths, loader.skipped

    def features(self, images):
        """uint8 BGR batch (N, H, W, 3) -> float32 features (N, D)."""
        x = self.preprocess_input(images[..., ::-1].astype(np.float32))
        out = np.asarray(self.model.predict_on_batch(x))
        if self.flip:
            out = (out + np.asarray(self.model.predict_on_batch(x[:, :, ::-1]))) / 2
        return out.astype(np.float32)

    def extract(self, paths):
        """Yield (batch paths, kept paths, their features, [(skipped path,
        reason)]) per batch, in order. At most a few batches are in memory,
        however many paths there are."""
        paths = list(paths)
        chunks = (paths[i:i + self.batch_size] for i in range(0, len(paths), self.batch_size))
        for chunk, images, kept, skipped in imap_ordered(self._load_batch, chunks,
                                                         workers=self.workers):
            features = self.features(images) if kept else np.empty((0, self.dim), np.float32)
            yield chunk, kept, features, skipped
