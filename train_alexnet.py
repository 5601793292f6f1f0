"""Train AlexNet from the HDF5 files written by build_hdf5.py.

Reads --hdf5/train.hdf5, val.hdf5 and mean.json. Every training image gives
a random --size x --size patch (227 by default, from the stored 256x256),
minus the training set's channel means, then random rotation, zoom, shift,
shear and flips; validation images are resized to --size minus the means.
Batches are read from disk as training goes (the same engine as the
folder trainers' --data stream), so the dataset never has to fit in memory. Sparse categorical cross-entropy, Adam
at a constant 1e-3 as in the book (--optimizer and --schedule offer AdamW
and cosine decay, as in train_vgg.py), EarlyStopping on validation loss
(best weights kept).

Writes the best model so far (atomically, after every improving epoch) with
its JSON sidecar, so predict.py and crop_accuracy.py work on it, plus the
class names, a loss/accuracy plot and the history as CSV and JSON. A run
stopped by Ctrl-C or a crash continues from its last completed epoch with
--resume (state kept in <model>_backup/ until the run ends). --distribute
trains on several GPUs or machines; with multiworker each worker reads only
its own share of train.hdf5 (see the README).

    python train_alexnet.py --hdf5 output/hdf5 --model output/alexnet.keras
"""
import argparse
import sys

from pyimagesearch import cli
from pyimagesearch.datasets.split import DEFAULT_SEED
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("--hdf5", default="output/hdf5",
                      help="folder with train.hdf5, val.hdf5 and mean.json (default: %(default)s)")
    data.add_argument("--size", type=int, default=227,
                      help="crop size: the network's input width and height (default: %(default)s)")
    data.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for patches, augmentation "
                      "and Keras (default: %(default)s)")
    data.add_argument("--workers", type=int, default=2,
                      help="kept for the book's commands: tf.data now chooses how many threads "
                           "read and prepare batches (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--reg", type=float, default=0.0002, help="L2 weight decay (default: %(default)s)")
    model.add_argument("--fc-units", type=int, default=4096,
                       help="width of the two fully connected layers; smaller for quick "
                            "experiments (default: %(default)s)")
    train = cli.add_training_arguments(parser, batch_size=64, lr=None, patience=10)
    cli.add_optimizer_arguments(train, optimizer="adam", schedule="constant")
    train.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                       help="random horizontal flips (default: on)")
    cli.add_resume_argument(train)
    cli.add_distribute_arguments(parser)
    cli.add_output_arguments(parser, "alexnet")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.resolve_lr(args)
    cli.check_positive(args, "size", "epochs", "batch-size", "lr", "workers", "fc-units")
    cli.check_distribute_arguments(args)
    from pyimagesearch.io.hdf5file import check_training_files
    means = check_training_files(args.hdf5)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    import keras

    from pyimagesearch.nn.conv import AlexNet
    from pyimagesearch.preprocessing.augmentation import image_augmentation
    from pyimagesearch.training import distribute, run
    from pyimagesearch.training.data import mean_input_spec
    from pyimagesearch.training.sources import load_patch_split

    # The strategy comes first: TensorFlow must not have started its devices.
    dist = distribute.setup(args.distribute, args.cpu_devices, args.scale_lr)
    keras.utils.set_random_seed(args.seed)  # the initial weights too, not only the training
    outputs = cli.training_outputs(args, chief=dist.chief)
    # Training images are random --size patches of the stored ones, validation
    # and test images resized to --size; all streamed from the files.
    split = load_patch_split(args.hdf5, args.size, seed=args.seed)
    aug = image_augmentation(rotation=20, zoom=0.15, shift=0.2, shear=0.15, flip=args.flip,
                             seed=args.seed)
    # A larger --batch-size than the training set reads it as one batch.
    batch_size = dist.batch_for(args.batch_size, len(split.train))
    with dist.scope():
        model = AlexNet.build(args.size, args.size, 3, len(split.class_names), reg=args.reg,
                              fc_units=args.fc_units)
        optimizer = cli.optimizer_settings(args).build(
            args.epochs, dist.steps_per_epoch(batch_size, len(split.train)), lr=dist.lr(args.lr))
    result = run.fit_and_evaluate(
        model, split, optimizer, mean_input_spec(args.size, means), outputs,
        cli.run_config(args, "alexnet", batch_size=batch_size, checkpoint="best", augment=aug),
        dist=dist)
    return 130 if result["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
