"""Command-line flags shared by the scripts, so the same thing has the same
name everywhere (--dataset, --model, --seed, ...)."""

import argparse

from ..datasets.split import split_size
from .errors import UserError


def make_parser(doc):
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


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
    data.add_argument("--seed", type=int, default=42,
                      help="seed for the shuffle, the split and Keras (default: %(default)s, the "
                           "tutorial's split)")
    if split:
        data.add_argument("--test-size", type=float, default=0.25,
                          help="test split: a fraction, or a number of images (default: %(default)s)")
        data.add_argument("--val-size", type=float, default=0.1,
                          help="validation split taken from the training part, for EarlyStopping; "
                               "0 turns it off (default: %(default)s)")
    data.add_argument("--workers", type=int, default=None,
                      help="decoding threads (default: one per CPU core)")
    return data


def add_training_arguments(parser, epochs=75, batch_size=32, lr=0.01, patience=15):
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=epochs, help="maximum epochs (default: %(default)s)")
    train.add_argument("--batch-size", type=int, default=batch_size, help="default: %(default)s")
    train.add_argument("--lr", type=float, default=lr, help="initial learning rate (default: %(default)s)")
    train.add_argument("--patience", type=int, default=patience,
                       help="EarlyStopping: stop after this many epochs without a lower validation "
                            "loss and keep the best weights; 0 turns it off (default: %(default)s)")
    return train


def add_output_arguments(parser, name):
    out = parser.add_argument_group("output")
    out.add_argument("-m", "--model", default=f"output/{name}.keras",
                     help="where to save the model; its sidecar <model>.json, history and "
                          "confusion matrix go beside it (default: %(default)s)")
    out.add_argument("-l", "--label-bin", default=None,
                     help="class names as JSON (default: <model>_labels.json)")
    out.add_argument("-p", "--plot", default=None,
                     help="loss/accuracy plot PNG, rewritten every epoch (default: <model>_plot.png)")
    return out


def check_positive(args, *names):
    for name in names:
        value = getattr(args, name.replace("-", "_"))
        if value is None or value <= 0:
            raise UserError(f"--{name} must be a positive number, got {value}")


def check_split_sizes(args):
    if not split_size(args.test_size, "test-size"):
        raise UserError(f"--test-size must be above 0, got {args.test_size}")
    split_size(args.val_size, "val-size")
