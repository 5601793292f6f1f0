"""Train the tutorial's simple neural network (an MLP) on a folder of images.

Each image is resized to 32x32 and flattened into 3,072 pixel values, fed to
a 3072-1024-512-C network with sigmoid activations, trained with plain SGD
and EarlyStopping, and evaluated on a held-out split. It writes the same
outputs as train_vgg.py: model (.keras), JSON sidecar, class names, plot,
history and confusion matrix. --resume continues an interrupted run;
--distribute trains on several GPUs or machines (see the README).

    python train_simple_nn.py --dataset animals --model output/simple_nn.keras
"""
import sys

from pyimagesearch import cli
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = cli.add_dataset_arguments(parser)
    cli.add_storage_arguments(data)
    data.add_argument("--size", type=int, default=32, help="input width and height (default: %(default)s)")
    train = cli.add_training_arguments(parser, lr=0.01)
    cli.add_resume_argument(train)
    cli.add_distribute_arguments(parser)
    cli.add_output_arguments(parser, "simple_nn")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.check_positive(args, "size", "epochs", "batch-size", "lr")
    cli.check_split_sizes(args)
    cli.check_distribute_arguments(args)
    paths, labels = cli.find_training_data(args)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    import keras

    from pyimagesearch.nn import MLP
    from pyimagesearch.training import distribute, run
    from pyimagesearch.training.data import input_spec_for

    # The strategy comes first: TensorFlow must not have started its devices.
    dist = distribute.setup(args.distribute, args.cpu_devices, args.scale_lr)
    keras.utils.set_random_seed(args.seed)  # the initial weights too, not only the training
    outputs, split = cli.load_training_data(args, paths, labels, chief=dist.chief)
    with dist.scope():
        model = MLP.build(input_dim=args.size * args.size * 3, classes=len(split.class_names))
        optimizer = keras.optimizers.SGD(learning_rate=dist.lr(args.lr))
    result = run.fit_and_evaluate(
        model, split, optimizer,
        input_spec_for(args.size, args.size, flatten=True, resize=args.resize), outputs,
        cli.run_config(args, "mlp"), dist=dist)
    return 130 if result["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
