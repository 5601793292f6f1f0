"""How one training run goes, as one object built from the parsed flags.

Every trainer passes a RunConfig down to the engine instead of threading
each option through every function on the way: a new option is one field
here (with the default that leaves today's runs unchanged) and one flag in
the script, and `from_flags` picks it up by name.

    config = cli.run_config(args, architecture="smallvggnet")   # RunConfig.from_flags(vars(args), ...)
    training.fit_and_evaluate(model, split, optimizer, input_spec, outputs, config)
"""

from dataclasses import dataclass, field, fields

from ..datasets.split import DEFAULT_SEED
from .precision import check_precision


@dataclass
class RunConfig:
    architecture: str = None
    epochs: int = 75
    batch_size: int = 32  # per replica
    patience: int = 15  # EarlyStopping; 0 turns it off
    seed: int = DEFAULT_SEED
    resume: bool = False  # continue from <model>_backup/
    # Average each test image's prediction with its mirror image's.
    mirror_test: bool = False
    # Targets of 1 - s for the true class and s / classes for every class.
    label_smoothing: float = 0.0
    mixup: float = 0.0  # MixUp's alpha, 0 for off
    cutmix: float = 0.0  # CutMix's alpha, 0 for off
    # "balanced" weighs each class by n_images / (n_classes x n_class).
    class_weight: str = "none"
    # Keras dtype policy to train under, or "auto" (see precision.py); saved models are float32.
    precision: str = "auto"
    # "end": the model is saved when the run ends (the best epoch's weights,
    # kept by EarlyStopping); "best": also after every epoch that lowers
    # val_loss, so a long run that crashes still leaves its best model.
    checkpoint: str = "end"
    # Images in <model>_top_losses.png and the HTML report's gallery; 0 for none.
    top_losses: int = 16
    # The script's arguments, recorded in the sidecar as they were given.
    arguments: dict = field(default_factory=dict)
    # A Keras layer applied to each training batch (preprocessing.augmentation), or None.
    augment: object = None

    @classmethod
    def default(cls, name):
        """A field's default: the command line's too (cli.add_training_arguments reads it)."""
        return next(f.default for f in fields(cls) if f.name == name)

    def __post_init__(self):
        check_precision(self.precision)

    @classmethod
    def from_flags(cls, flags, architecture, **overrides):
        """The run's options from a script's parsed flags (a dict, such as
        vars() of argparse's Namespace): every field whose name is a flag
        (`--batch-size` is `batch_size`) takes its value; `overrides` win
        over both."""
        given = dict(flags)
        values = {f.name: given[f.name] for f in fields(cls) if f.name in given}
        values.update(architecture=architecture, arguments=dict(given), **overrides)
        return cls(**values)

    @property
    def one_hot(self):
        """Keras' sparse cross-entropy has no label smoothing, and mixed
        labels are not class numbers: all three train on one-hot rows."""
        return bool(self.label_smoothing or self.mixup or self.cutmix)
