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


def make_optimizer(name, lr, schedule="decay", epochs=1, steps_per_epoch=1, warmup_epochs=0,
                   momentum=0.9, weight_decay=0.0):
    """`name` is "sgd" (with `momentum`), "adam" or "adamw" (Adam with
    decoupled `weight_decay`, Loshchilov and Hutter 2019)."""
    import keras
    rate = learning_rate_schedule(schedule, lr, epochs, steps_per_epoch, warmup_epochs)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=momentum)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
