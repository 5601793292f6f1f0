import threading

import keras
import numpy as np

# Beyond this many runs of consecutive rows, a line gives the count alone.
MAX_RANGES_SHOWN = 64


class RowLog(keras.callbacks.Callback):
    """Print which rows of a part this worker read in each epoch: the
    evidence that the workers of a multi-worker run share the data out,
    each row once. The input pipeline calls `add(rows)` for every batch it
    reads (from its own threads)."""

    def __init__(self, name, worker, workers):
        super().__init__()
        self.name, self.worker, self.workers = name, worker, workers
        self.epoch = None  # None outside training (Keras may read a batch to build the model)
        self.rows = []
        self._lock = threading.Lock()

    def add(self, rows):
        if self.epoch is not None:
            with self._lock:
                self.rows.append(np.asarray(rows))

    def on_epoch_begin(self, epoch, logs=None):
        with self._lock:
            self.epoch, self.rows = epoch, []

    def on_epoch_end(self, epoch, logs=None):
        with self._lock:
            rows = np.sort(np.concatenate(self.rows)) if self.rows else np.array([], np.int64)
            self.epoch = None
        unique = np.unique(rows)
        breaks = np.flatnonzero(np.diff(unique) != 1)
        starts, stops = np.r_[unique[:1], unique[breaks + 1]], np.r_[unique[breaks], unique[-1:]]
        runs = (", ".join(f"{a}-{b}" for a, b in zip(starts, stops)) if len(starts) <= MAX_RANGES_SHOWN
                else f"{len(starts)} runs of rows")
        print(f"[INFO] worker {self.worker} of {self.workers}, epoch {epoch + 1}: read {len(rows)} rows "
              f"of {self.name} ({'each once' if len(unique) == len(rows) else 'some more than once'}): "
              + runs, flush=True)
