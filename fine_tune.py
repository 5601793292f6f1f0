"""Fine-tune an ImageNet backbone on a folder of images and evaluate it on a
held-out split.

Reads <dataset>/<class>/<images> with the same loader and split as
train_vgg.py (the tutorial's 75/25 test split by default), puts a new head
on a pretrained keras.applications backbone and trains in two phases: the
head alone for --warmup-epochs with the backbone frozen, then the backbone
unfrozen (--unfreeze) at the lower --fine-tune-lr, its BatchNormalization
layers kept in inference mode. The backbone's own preprocess_input is part
of the saved model, so predict.py needs only --model and --image. Writes
the model (.keras), its JSON sidecar, the class names, the loss/accuracy
plot (the phase switch marked), the per-epoch history, a confusion matrix
and the classification report (in the sidecar).
--resume continues an interrupted run, across the phase switch too;
--distribute trains on several GPUs or machines (see the README).

    python fine_tune.py --dataset animals --model output/finetuned.keras --backbone mobilenet \\
        --alpha 0.25 --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5

Unlike the other trainers, it trains in float32 by default: on a CPU with
AVX512_BF16, --precision mixed_bfloat16 ran MobileNet slower (BENCHMARKS.md,
"Precision").

The defaults are the best recipe measured on Animals, against frozen
features + logistic regression on the same images (the figures:
BENCHMARKS.md, "Fine-tuning").
"""
import os
import sys

from pyimagesearch import cli
from pyimagesearch.transfer.backbones import BACKBONES, check_backbone_args, parse_weights
from pyimagesearch.transfer.finetune import (
    DEFAULT_WARMUP_EPOCHS,
    HEADS,
    describe_unfreeze,
    parse_unfreeze,
    warmup_epochs_for,
)
from pyimagesearch.utils.errors import UserError, run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    cli.add_storage_arguments(cli.add_dataset_arguments(parser))
    model = parser.add_argument_group("model")
    model.add_argument("--backbone", choices=list(BACKBONES), default="mobilenet",
                       help="keras.applications model to fine-tune (default: %(default)s)")
    model.add_argument("--alpha", type=float, default=None,
                       help="width multiplier of the MobileNet backbones (default: 1.0)")
    model.add_argument("--weights", default="imagenet",
                       help="the backbone's .h5 weights file without its top; 'imagenet' asks "
                            "Keras to download them (needs network); 'none' gives random "
                            "weights, for tests (default: %(default)s)")
    model.add_argument("--size", type=int, default=224,
                       help="input width and height (default: %(default)s)")
    model.add_argument("--head", choices=HEADS, default="gap",
                       help="gap: global average pooling, dropout, softmax; fc: the book's "
                            "FCHeadNet (flatten, 256 ReLU units, dropout, softmax) "
                            "(default: %(default)s)")
    model.add_argument("--dropout", type=float, default=None,
                       help="dropout rate of the head (default: 0.2 for gap, 0.5 for fc)")
    # float32, not auto: bfloat16 trained MobileNet (depthwise convolutions)
    # slower than float32 on an AVX512_BF16 CPU (BENCHMARKS.md, "Precision").
    train = cli.add_training_arguments(parser, epochs=25, lr=5e-3, patience=5, precision="float32")
    train.add_argument("--warmup-epochs", type=int, default=None,
                       help="phase 1: epochs that train the head alone, the backbone frozen; "
                            f"counted in --epochs; 0 skips it (default: {DEFAULT_WARMUP_EPOCHS}, "
                            "at most half of --epochs)")
    train.add_argument("--unfreeze", default="all",
                       help="phase 2 trains the head and 'all' of the backbone, its top N layers, "
                            "or 'none' of it (default: %(default)s)")
    train.add_argument("--fine-tune-lr", type=float, default=1e-4,
                       help="phase 2's peak learning rate; --lr is phase 1's, constant "
                            "(default: %(default)s)")
    cli.add_optimizer_arguments(train, optimizer="adamw", schedule="cosine")
    train.set_defaults(warmup=1)  # --lr-warmup: phase 2 is short
    cli.add_augmentation_arguments(train, mirror_test=True, label_smoothing=0.1)
    cli.add_resume_argument(train)
    cli.add_distribute_arguments(parser)
    cli.add_output_arguments(parser, "finetuned")
    return parser.parse_args(argv)


def check_args(args):
    """Every flag checked before TensorFlow is imported; fills in the
    backbone's defaults and the parsed --weights and --unfreeze."""
    cli.check_positive(args, "size", "epochs", "batch-size", "lr", "fine-tune-lr")
    cli.check_split_sizes(args)
    args.warmup_epochs = warmup_epochs_for(args.warmup_epochs, args.epochs)
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise UserError(f"--dropout must be at least 0 and below 1, got {args.dropout}")
    cli.check_augmentation_arguments(args)
    args.unfreeze = parse_unfreeze(args.unfreeze)
    weights = parse_weights(args.weights)
    args.size, args.alpha = check_backbone_args(args.backbone, weights, args.size, args.alpha)
    cli.check_distribute_arguments(args)
    return weights if weights in (None, "imagenet") else os.path.abspath(weights)


def main(argv=None):
    args = parse_args(argv)
    weights = check_args(args)
    paths, labels = cli.find_training_data(args)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    import keras

    from pyimagesearch.preprocessing.augmentation import named_augmentation
    from pyimagesearch.training import distribute, run
    from pyimagesearch.transfer.finetune import build_model, fine_tuning_phases, input_spec

    # The strategy comes first: TensorFlow must not have started its devices.
    dist = distribute.setup(args.distribute, args.cpu_devices, args.scale_lr)
    keras.utils.set_random_seed(args.seed)  # the head's initial weights too
    outputs, split = cli.load_training_data(args, paths, labels, chief=dist.chief)
    with dist.scope():
        model = build_model(args.backbone, weights, args.size, args.alpha, len(split.class_names),
                            args.head, args.dropout)
        steps_per_epoch = dist.steps_per_epoch(args.batch_size, len(split.train))
        head_optimizer = cli.optimizer_settings(args, schedule="constant").build(lr=dist.lr(args.lr))
        fine_tune_optimizer = cli.optimizer_settings(args).build(
            args.epochs - args.warmup_epochs, steps_per_epoch, lr=dist.lr(args.fine_tune_lr))
    phases = fine_tuning_phases(head_optimizer, fine_tune_optimizer, args.warmup_epochs, args.epochs,
                                args.unfreeze)
    print(f"[INFO] {model.name}: {args.warmup_epochs} epochs of the head alone, then "
          f"{args.epochs - args.warmup_epochs} of {describe_unfreeze(args.unfreeze)} and head")
    result = run.fit_and_evaluate(
        model, split, phases, input_spec(args.size, args.backbone, args.resize), outputs,
        cli.run_config(args, f"{args.backbone}-finetuned",
                       augment=named_augmentation(args.augmentation, args.flip, args.seed)),
        dist=dist)
    return 130 if result["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
