"""Train SmallVGGNet on a folder of images and evaluate it on a held-out split.

Reads <dataset>/<class>/<images>, resizes every image to --size (64x64 by
default), holds out --test-size for the final report and --val-size of the
rest for EarlyStopping, trains with the tutorial's augmentation and SGD with
per-step decay, then writes the model (.keras), its JSON sidecar
(everything predict.py needs, plus this run's arguments and results), the
class names, the loss/accuracy plot, a per-epoch CSV/JSON history and a
confusion matrix.
--resume continues an interrupted run; --distribute trains on several GPUs or
machines (see the README).

    python train_vgg.py --dataset animals --model output/smallvggnet.keras

A recipe that scored higher on Animals than the tutorial's (the figures:
BENCHMARKS.md, "Accuracy"):

    python train_vgg.py --dataset animals --optimizer adamw --schedule cosine \
        --epochs 150 --val-size 0 --mirror-test
"""
import sys

from pyimagesearch import cli
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = cli.add_dataset_arguments(parser)
    cli.add_storage_arguments(data)
    data.add_argument("--size", type=int, default=64, help="input width and height (default: %(default)s)")
    train = cli.add_training_arguments(parser, lr=None)
    cli.add_optimizer_arguments(train, optimizer="sgd", schedule="decay")
    cli.add_augmentation_arguments(train)
    cli.add_resume_argument(train)
    cli.add_distribute_arguments(parser)
    cli.add_output_arguments(parser, "smallvggnet")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.resolve_lr(args)
    cli.check_positive(args, "size", "epochs", "batch-size", "lr")
    cli.check_split_sizes(args)
    cli.check_augmentation_arguments(args)
    cli.check_distribute_arguments(args)
    paths, labels = cli.find_training_data(args)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    import keras

    from pyimagesearch.nn.conv import SmallVGGNet
    from pyimagesearch.preprocessing.augmentation import named_augmentation
    from pyimagesearch.training import distribute, run
    from pyimagesearch.training.data import input_spec_for

    # The strategy comes first: TensorFlow must not have started its devices.
    dist = distribute.setup(args.distribute, args.cpu_devices, args.scale_lr)
    keras.utils.set_random_seed(args.seed)  # the initial weights too, not only the training
    outputs, split = cli.load_training_data(args, paths, labels, chief=dist.chief)
    with dist.scope():
        model = SmallVGGNet.build(width=args.size, height=args.size, depth=3,
                                  classes=len(split.class_names))
        optimizer = cli.optimizer_settings(args).build(
            args.epochs, dist.steps_per_epoch(args.batch_size, len(split.train)), lr=dist.lr(args.lr))
    result = run.fit_and_evaluate(
        model, split, optimizer, input_spec_for(args.size, args.size, resize=args.resize), outputs,
        cli.run_config(args, "smallvggnet", augment=named_augmentation(args.augmentation, args.flip, args.seed)),
        dist=dist)
    return 130 if result["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
