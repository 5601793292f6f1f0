"""The optimizers and learning-rate schedules the trainers offer, by name.

    optimizer = make_optimizer("adamw", lr=0.002, schedule="cosine", epochs=60,
                               steps_per_epoch=64, warmup_epochs=3, weight_decay=0.05)

Schedules (the learning rate as training goes, per step):
- "decay": the tutorial's `lr / (1 + decay * step)` with decay = lr / epochs;
  Keras 3 dropped SGD's `decay` argument, and InverseTimeDecay with
  decay_steps=1 is the same rule. It only halves the rate by the end.
- "cosine": a linear warm-up over `warmup_epochs`, then a half cosine down
  to 0 at the last epoch. Ending near 0 lets the weights settle, which is
  where most of the last points of accuracy come from; the run then has a
  fixed length, so EarlyStopping is best given a long patience.
- "constant": `lr` throughout.
"""

from dataclasses import dataclass

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("decay", "cosine", "constant")
DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.002}

# Keras is imported inside the functions: scripts read the names above to
# build their --help before paying the seconds TensorFlow takes to import.


def learning_rate_schedule(schedule, lr, epochs, steps_per_epoch, warmup_epochs=0):
    import keras
    if schedule == "constant":
        return lr
    if schedule == "decay":
        return keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=lr / epochs)
    if schedule == "cosine":
        warmup = min(warmup_epochs, epochs - 1) * steps_per_epoch
        return keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else lr, decay_steps=max(1, epochs * steps_per_epoch - warmup),
            warmup_target=lr if warmup else None, warmup_steps=warmup)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")


@dataclass
class OptimizerSettings:
    """An optimizer and its learning-rate schedule as the flags give them
    (--optimizer, --lr, --schedule, --warmup, --momentum, --weight-decay);
    its defaults are the flags' defaults. `lr` None is DEFAULT_LR of the
    optimizer. `build` makes the Keras optimizer for a run's length."""
    name: str = "sgd"
    lr: float = None
    schedule: str = "decay"
    warmup_epochs: int = 3
    momentum: float = 0.9  # sgd's; the tutorial used 0
    weight_decay: float = 0.05  # adamw's decoupled weight decay

    @property
    def learning_rate(self):
        return DEFAULT_LR[self.name] if self.lr is None else self.lr

    def build(self, epochs=1, steps_per_epoch=1, lr=None):
        """The Keras optimizer over `epochs` of `steps_per_epoch` steps, at
        `lr` when given (a learning rate scaled for the replicas) instead
        of the settings' own."""
        import keras
        rate = learning_rate_schedule(self.schedule, self.learning_rate if lr is None else lr, epochs,
                                      steps_per_epoch, self.warmup_epochs)
        if self.name == "sgd":
            return keras.optimizers.SGD(learning_rate=rate, momentum=self.momentum)
        if self.name == "adam":
            return keras.optimizers.Adam(learning_rate=rate)
        if self.name == "adamw":
            return keras.optimizers.AdamW(learning_rate=rate, weight_decay=self.weight_decay)
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.name!r}")


def make_optimizer(name, lr, schedule="decay", epochs=1, steps_per_epoch=1, **settings):
    """`name` is "sgd" (with `momentum`), "adam" or "adamw" (Adam with
    decoupled `weight_decay`, Loshchilov and Hutter 2019). `settings` are
    OptimizerSettings' other fields (warmup_epochs, momentum, weight_decay),
    the keywords this function always took; left out, warmup_epochs is 0
    and weight_decay 0.0, as they always were here."""
    settings = {"warmup_epochs": 0, "weight_decay": 0.0, **settings}
    return OptimizerSettings(name, lr, schedule, **settings).build(epochs, steps_per_epoch)
