"""Command-line flags shared by the scripts, so the same thing has the same
name everywhere (--dataset, --model, --seed, ...)."""

import argparse

from ..datacheck.findings import KINDS
from ..datasets.exclude import DEFAULT_KINDS, read_exclude
from ..datasets.split import DEFAULT_SEED, DEFAULT_TEST_SIZE, DEFAULT_VAL_SIZE, split_size
from ..preprocessing.augmentation import AUGMENTATIONS
from ..training.config import RunConfig
from ..training.optimizers import DEFAULT_LR, OPTIMIZERS, SCHEDULES, OptimizerSettings
from ..training.precision import PRECISIONS, check_precision
from ..utils.errors import UserError


def make_parser(doc):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_verbose_argument(parser)
    return parser


def add_verbose_argument(parser):
    # Read by utils.errors.run_cli before parsing, since TensorFlow's lines
    # are written while it is first imported.
    parser.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's start-up and log lines (hidden by default)")


def add_hidden_alias(group, *flags, dest, **kwargs):
    """Old spellings of a flag (`flags`) that keep working but are not shown
    by --help: they set the same `dest` as the flag that replaced them, with
    the same `kwargs` (type, action, choices). argparse has aliases only as
    extra option strings, which --help lists."""
    group.add_argument(*flags, dest=dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)


def add_dataset_arguments(parser, split=True):
    data = parser.add_argument_group("data")
    data.add_argument("-d", "--dataset", default="animals",
                      help="folder laid out as <dataset>/<class>/<images> (default: %(default)s)")
    data.add_argument("--labels", choices=["folder", "filename"], default="folder",
                      help="take each label from the parent folder's name, or from the file name "
                           "up to its first '.' as in Kaggle's cat.0.jpg (default: %(default)s)")
    data.add_argument("--resize", choices=["simple", "aspect"], default="simple",
                      help="'simple' stretches to the input size like the tutorial; 'aspect' "
                           "resizes the shorter side and center-crops (default: %(default)s)")
    data.add_argument("--seed", type=int, default=DEFAULT_SEED,
                      help="seed for the shuffle, the split and Keras (default: %(default)s, the "
                           "tutorial's split)")
    if split:
        data.add_argument("--test-size", type=float, default=DEFAULT_TEST_SIZE,
                          help="test split: a fraction, or a number of images (default: %(default)s)")
        data.add_argument("--val-size", type=float, default=DEFAULT_VAL_SIZE,
                          help="validation split taken from the training part, for EarlyStopping; "
                               "0 turns it off (default: %(default)s)")
    data.add_argument("--workers", type=int, default=None,
                      help="decoding threads (default: one per CPU core)")
    add_exclude_argument(data)
    return data


def add_storage_arguments(data):
    """--data, --cache-dir and --hdf5 of the folder trainers (see training.sources)."""
    data.add_argument("--data", choices=["auto", "memory", "stream"], default="auto",
                      help="hold the decoded images in memory, or stream them in batches from a "
                           "cache on disk (the folder decoded once at the input size, reused by "
                           "later runs until a file changes); auto streams once the decoded "
                           "images pass 256 MiB or a quarter of the free memory "
                           "(default: %(default)s)")
    data.add_argument("--cache-dir", default=None,
                      help="folder of the disk cache (default: cache/ beside --model)")
    data.add_argument("--hdf5", default=None, metavar="DIR",
                      help="train on build_hdf5.py's train/val/test.hdf5 in DIR instead of "
                           "--dataset, each image resized to --size; its split is the files' "
                           "(--test-size, --val-size and --resize do not apply)")


def find_training_data(args):
    """The listed (paths, labels) of --dataset, or (None, None) with --hdf5,
    whose files are checked when they are opened."""
    if getattr(args, "hdf5", None):
        from ..io.hdf5file import hdf5_file

        hdf5_file(args.hdf5, "train")
        return None, None
    from ..datasets.split import list_split_images

    return list_split_images(args.dataset, split_options(args))


def add_exclude_argument(group):
    group.add_argument("--exclude", type=lambda value: read_exclude(value, KINDS), default=None,
                       metavar="FILE[:KIND,...]",
                       help="leave out the files FILE lists (one path a line, or check_dataset.py's "
                            "CSV: by default its rows of kinds " + ", ".join(DEFAULT_KINDS) +
                            "; or the KINDs given after a colon) without moving them; the sidecar "
                            "records the file and how many were left out")


def add_backbone_arguments(parser, backbone, size_help):
    """--backbone, --weights, --alpha, --size: the transfer stage's backbone."""
    from ..transfer.backbones import BACKBONES

    model = parser.add_argument_group("backbone")
    model.add_argument("--backbone", choices=list(BACKBONES), default=backbone,
                       help="keras.applications model, without its top (default: %(default)s)")
    model.add_argument("--weights", default="imagenet",
                       help="an .h5 weights file for the backbone without its top; 'imagenet' asks "
                            "Keras to download them (needs network); 'none' gives random weights, "
                            "for tests (random MobileNets give near-constant features; a random "
                            "resnet50 does not) (default: %(default)s)")
    model.add_argument("--alpha", type=float, default=None,
                       help="width multiplier of the MobileNet backbones (default: 1.0)")
    model.add_argument("--size", type=int, default=None, help=size_help)
    return model


def add_training_arguments(parser, epochs=None, batch_size=None, lr=0.01, patience=None, precision=None):
    """--epochs, --batch-size, --lr, --patience, --class-weight, --precision.
    Their defaults are training.config.RunConfig's; a script passes its own
    recipe's values to change them (fine_tune.py's patience 5, float32).
    `lr` None leaves --lr to add_optimizer_arguments' per-optimizer default."""
    epochs = RunConfig.default("epochs") if epochs is None else epochs
    batch_size = RunConfig.default("batch_size") if batch_size is None else batch_size
    patience = RunConfig.default("patience") if patience is None else patience
    precision = RunConfig.default("precision") if precision is None else precision
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=epochs, help="maximum epochs (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=batch_size,
                       help="images per step on each replica; the global batch is this times the "
                            "number of replicas (default: %(default)s)")
    train.add_argument("--lr", type=float, default=lr,
                       help="initial learning rate" + (" (default: %(default)s)" if lr else ""))
    train.add_argument("--patience", type=int, default=patience,
                       help="EarlyStopping: stop after this many epochs without a lower validation "
                            "loss and keep the best weights; 0 turns it off (default: %(default)s)")
    add_class_weight_argument(train)
    # A UserError from `type` is one line, where `choices` prints the usage too.
    train.add_argument("--precision", default=precision, type=check_precision, metavar="{" + ",".join(PRECISIONS) + "}",
                       help="compute in 16 bits through a Keras mixed-precision policy (weights, "
                            "softmax and loss stay float32; the saved model is float32): "
                            "mixed_bfloat16 for CPUs with AVX512_BF16 or AMX, mixed_float16 for "
                            "GPUs of compute capability 7.0+ (with loss scaling); auto picks one of "
                            "them by the hardware, float32 where neither fits; their speed and "
                            "accuracy: BENCHMARKS.md, \"Precision\" (default: %(default)s)")
    return train


def add_optimizer_arguments(train, optimizer="sgd", schedule="decay"):
    """--optimizer, --schedule, --lr-warmup (old spelling --warmup),
    --weight-decay, --momentum, their defaults OptimizerSettings'; --lr
    (from add_training_arguments with lr=None) then defaults per optimizer:
    call resolve_lr after parsing."""
    defaults = OptimizerSettings()
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=optimizer,
                       help="sgd with --momentum, adam, or adamw: Adam with decoupled "
                            "--weight-decay (default: %(default)s); --lr defaults to "
                            + ", ".join(f"{lr} for {name}" for name, lr in DEFAULT_LR.items()))
    train.add_argument("--schedule", choices=SCHEDULES, default=schedule,
                       help="learning rate per step: 'decay' is the tutorial's lr / (1 + lr / "
                            "epochs * step); 'cosine' warms up over --lr-warmup epochs, then falls "
                            "to 0 at the last epoch; 'constant' (default: %(default)s)")
    train.add_argument("--lr-warmup", dest="warmup", type=int, default=defaults.warmup_epochs, metavar="EPOCHS",
                       help="epochs over which the cosine schedule warms the learning rate up "
                            "(default: %(default)s)")
    add_hidden_alias(train, "--warmup", dest="warmup", type=int)
    train.add_argument("--weight-decay", type=float, default=defaults.weight_decay,
                       help="adamw's decoupled weight decay (default: %(default)s)")
    train.add_argument("--momentum", type=float, default=defaults.momentum,
                       help="sgd's momentum; the tutorial used 0 (default: %(default)s)")


def resolve_lr(args):
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]


def add_class_weight_argument(group):
    group.add_argument("--class-weight", choices=["none", "balanced"], default="none",
                       help="balanced: weigh each class's images by n_images / (n_classes x "
                            "n_class), so a class with few images counts as much as a large one "
                            "(default: %(default)s)")


def add_resume_argument(group):
    group.add_argument("--resume", action="store_true",
                       help="continue an interrupted run (Ctrl-C, kill, crash) from its last "
                            "completed epoch, kept in <model>_backup/ until a run ends")


def add_distribute_arguments(parser):
    dist = parser.add_argument_group(
        "distribution", "several GPUs or machines; see the README section 'Training on several "
        "GPUs or machines'")
    dist.add_argument("--distribute", choices=["auto", "none", "mirrored", "multiworker"],
                      default="auto",
                      help="auto: MirroredStrategy when more than one GPU is visible, else one "
                           "device; none: one device; mirrored: MirroredStrategy over all GPUs "
                           "(or the --cpu-devices); multiworker: MultiWorkerMirroredStrategy, "
                           "the cluster read from the TF_CONFIG environment variable "
                           "(default: %(default)s)")
    dist.add_argument("--scale-lr", action="store_true",
                      help="linear scaling rule: multiply --lr by the number of replicas, as the "
                           "global batch (--batch-size per replica x replicas) grows with them")
    dist.add_argument("--cpu-devices", type=int, default=None,
                      help="split the CPU into this many logical devices, to try --distribute "
                           "mirrored without GPUs (tests, benchmarks); no speed-up is expected")
    return dist


def add_output_arguments(parser, name):
    out = parser.add_argument_group("output")
    out.add_argument("-m", "--model", default=f"output/{name}.keras",
                     help="where to save the model; its sidecar <model>.json, history and "
                          "confusion matrix go beside it (default: %(default)s)")
    out.add_argument("-l", "--label-bin", default=None,
                     help="class names as JSON (default: <model>_labels.json)")
    out.add_argument("-p", "--plot", default=None,
                     help="loss/accuracy plot PNG, rewritten every epoch (default: <model>_plot.png)")
    add_top_losses_argument(out)
    return out


def add_top_losses_argument(group):
    """--top-losses: the gallery of <model>_top_losses.png and of the HTML report."""
    group.add_argument("--top-losses", type=_count, default=16, metavar="N",
                       help="draw the N test images with the highest loss, with Grad-CAM heatmaps for "
                            "ConvNets, in <model>_top_losses.png and <model>_report.html; 0 for none "
                            "(default: %(default)s)")


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of images, 0 or more; got {text!r}")
    return value


def check_positive(args, *names):
    for name in names:
        value = getattr(args, name.replace("-", "_"))
        if value is None or value <= 0:
            raise UserError(f"--{name} must be a positive number, got {value}")


def check_distribute_arguments(args):
    if args.cpu_devices is not None:
        check_positive(args, "cpu-devices")
    if args.distribute == "multiworker":
        from ..training.distribute import read_tf_config
        read_tf_config()


def check_split_sizes(args):
    if not split_size(args.test_size, "test-size"):
        raise UserError(f"--test-size must be above 0, got {args.test_size}")
    split_size(args.val_size, "val-size")


def add_augmentation_arguments(train, mirror_test=False, label_smoothing=0.0):
    """--augmentation, --flip, --mirror-test, --label-smoothing, --mixup,
    --cutmix of the folder trainers; check them with check_augmentation_arguments."""
    train.add_argument("--augmentation", choices=list(AUGMENTATIONS), default="tutorial",
                       help="random geometric changes of each training image: 'tutorial' rotates up "
                            "to 30 degrees, shifts 10%%, zooms 20%% and shears 0.2 degrees (the "
                            "tutorial's ImageDataGenerator); 'light' rotates up to 10 degrees, shifts "
                            "5%% and zooms 10%%; 'none' (default: %(default)s)")
    train.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                       help="random horizontal flips; --no-flip for digits, text and other "
                            "data whose mirror image is another class (default: on)")
    train.add_argument("--mirror-test", action=argparse.BooleanOptionalAction, default=mirror_test,
                       help="evaluate on each test image and its mirror image, averaged "
                            f"(only sensible with --flip; default: {'on' if mirror_test else 'off'})")
    train.add_argument("--label-smoothing", type=float, default=label_smoothing,
                       help="train towards 1 - s for the true class and s / classes for every "
                            "class instead of 0/1 targets (default: %(default)s"
                            + (", off)" if not label_smoothing else ")"))
    train.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                       help="MixUp: train on blends of two images and of their labels, the "
                            "weights drawn from Beta(ALPHA, ALPHA); 0.2 is usual (default: 0, off)")
    train.add_argument("--cutmix", type=float, default=0.0, metavar="ALPHA",
                       help="CutMix: paste a random rectangle of another image into each image, "
                            "the labels weighted by area, drawn from Beta(ALPHA, ALPHA); at most 1, "
                            "1 is usual; not with --mixup (default: 0, off)")


def check_augmentation_arguments(args):
    if not 0 <= args.label_smoothing < 1:
        raise UserError(f"--label-smoothing must be at least 0 and below 1, got {args.label_smoothing}")
    if args.mixup < 0:
        raise UserError(f"--mixup must be 0 (off) or a positive alpha, got {args.mixup}")
    if not 0 <= args.cutmix <= 1:
        raise UserError(f"--cutmix must be 0 (off) or an alpha up to 1, got {args.cutmix}")
    if args.mixup and args.cutmix:
        raise UserError("--mixup and --cutmix each mix every batch: choose one of them")


# The parsed flags as the package's typed options: the package never takes
# the Namespace itself.

def split_options(args):
    """datasets.split.SplitOptions from --test-size, --val-size, --seed,
    --labels and --exclude."""
    from ..datasets.split import SplitOptions

    return SplitOptions(args.test_size, args.val_size, args.seed, args.labels, getattr(args, "exclude", None))


def decode_options(args, resize=None):
    """datasets.DecodeOptions from --size (a number or a (width, height)
    pair), --resize (or `resize`) and --workers."""
    from ..datasets.imagefiles import DecodeOptions

    width, height = args.size if isinstance(args.size, tuple) else (args.size, args.size)
    return DecodeOptions(width, height, resize or args.resize, args.workers)


def optimizer_settings(args, **overrides):
    """training.optimizers.OptimizerSettings from --optimizer, --lr,
    --schedule, --warmup, --momentum and --weight-decay; `overrides` win."""
    from ..training.optimizers import OptimizerSettings

    return OptimizerSettings(**{"name": args.optimizer, "lr": args.lr, "schedule": args.schedule,
                                "warmup_epochs": args.warmup, "momentum": args.momentum,
                                "weight_decay": args.weight_decay, **overrides})


def run_config(args, architecture, **overrides):
    """training.config.RunConfig from the parsed flags; `overrides` win."""
    from ..training.config import RunConfig

    return RunConfig.from_flags(vars(args), architecture, **overrides)


def training_outputs(args, chief=True):
    """The run's output paths from --model, --label-bin and --plot, checked
    writable by the chief (the other workers of a multi-worker run never
    touch them)."""
    from ..modelfiles.paths import OutputPaths

    outputs = OutputPaths.from_args(args.model, args.label_bin, args.plot)
    if chief:
        outputs.check_writable()
    return outputs


def load_training_data(args, paths, labels, chief=True):
    """The common start of the folder trainers: (output paths, split). The
    output paths are checked by the chief (the other workers of a
    multi-worker run never touch them); the split is held in memory or
    streamed as --data says: --dataset's images as listed (`paths`,
    `labels`), their disk cache in --cache-dir (default `cache/` beside the
    model), or build_hdf5.py's files with --hdf5."""
    from ..training.sources import Storage, load_folder_split, load_hdf5_split

    outputs = training_outputs(args, chief)
    storage = Storage.beside(outputs.model, args.data, args.cache_dir, builds_cache=chief)
    if args.hdf5:
        return outputs, load_hdf5_split(args.hdf5, args.size, args.size, storage)
    return outputs, load_folder_split(args.dataset, paths, labels, decode_options(args),
                                      split_options(args), storage)
