import math

import keras

from ..utils.atomic import atomic_path


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model (as `saved_form` gives it) to `path` whenever `monitor` improves
    (lower is better, as for val_loss), atomically: an interrupted save never leaves a
    broken file where the last good model was. `on_save(path, epoch, logs)`
    runs after each save (e.g. to rewrite the sidecar). `best` resumes the
    comparison from an earlier run. `saved_form(model)` is the model that is
    written, for example a float32 copy of one trained in mixed precision."""

    def __init__(self, path, monitor="val_loss", best=math.inf, on_save=None, verbose=1,
                 saved_form=None):
        super().__init__()
        self.path = path
        self.saved_form = saved_form or (lambda model: model)
        self.monitor = monitor
        self.best = best
        self.best_epoch = None
        self.on_save = on_save
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value < self.best:
            return
        self.best, self.best_epoch = float(value), epoch + 1
        with atomic_path(self.path) as tmp:
            self.saved_form(self.model).save(tmp)
        if self.on_save:
            self.on_save(self.path, epoch + 1, logs)
        if self.verbose:
            print(f"\n[INFO] epoch {epoch + 1}: {self.monitor} improved to {value:.4f}; "
                  f"saved {self.path}")
