"""Turn every image of a folder dataset into a feature vector with an
ImageNet backbone (no classifier head, global average pooling) and store the
vectors in HDF5, ready for train_model.py.

Reads <dataset>/<class>/<images> (unreadable files are skipped and named),
shuffles the list with --seed, resizes each image to the backbone's input
size and applies that backbone's own preprocess_input. Writes --output with
`features` (N, D) float32, `labels`, `label_names` and `paths` (the file of
every row), and the backbone, weights, alpha and input size as attributes.
Images are decoded in worker threads while the backbone runs.

    python extract_features.py --dataset animals --output output/features.hdf5 \\
        --backbone mobilenet --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5 --alpha 0.25
"""
import argparse
import os
import sys

from pyimagesearch import cli
from pyimagesearch.datasets.folder import encode_labels, find_dataset, report_skipped
from pyimagesearch.transfer.backbones import check_backbone_args, feature_input_size, parse_weights
from pyimagesearch.utils.atomic import check_output_file, report_replaced
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    cli.add_dataset_arguments(parser, split=False)
    model = cli.add_backbone_arguments(
        parser, "resnet50",
        size_help="input width and height (default: 320 for the backbones trained at "
                  "224, such as resnet50 and mobilenet, the backbone's own 299 for "
                  "inceptionv3 and xception): whole photos give better features at the "
                  "larger input, for a longer extraction (see BENCHMARKS.md)")
    model.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                       help="average each image's features with its mirror image's; twice the "
                            "backbone work, fewer test errors (default: on)")
    run = parser.add_argument_group("extraction")
    run.add_argument("-b", "--batch-size", type=int, default=32,
                     help="images per backbone call (default: %(default)s)")
    run.add_argument("-s", "--buffer-size", type=int, default=1000,
                     help="feature rows held in memory before each write (default: %(default)s)")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", default="output/features.hdf5",
                     help="HDF5 file to write, replaced atomically (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.check_positive(args, "batch-size", "buffer-size")
    weights = parse_weights(args.weights)
    size = feature_input_size(args.backbone) if args.size is None else args.size
    size, alpha = check_backbone_args(args.backbone, weights, size, args.alpha)
    weights = os.path.abspath(weights) if weights not in (None, "imagenet") else weights
    check_output_file(args.output, "--output")
    replaced = [args.output] if os.path.exists(args.output) else []
    paths, labels = find_dataset(args.dataset, label_from=args.labels, seed=args.seed,
                                  exclude=args.exclude)
    y, class_names = encode_labels(labels)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    import keras

    from pyimagesearch.transfer.backbones import build_backbone, describe
    from pyimagesearch.transfer.featurefile import (
        LabelledImages,
        feature_spec,
        spec_to_attrs,
        write_feature_file,
    )
    from pyimagesearch.transfer.features import FeatureExtractor

    keras.utils.set_random_seed(args.seed)
    extractor = FeatureExtractor(build_backbone(args.backbone, weights, size, alpha), args.backbone, size,
                                 resize=args.resize, batch_size=args.batch_size, workers=args.workers,
                                 flip=args.flip)
    attrs = spec_to_attrs(feature_spec(extractor, weights, alpha, args.seed),
                          source=os.path.abspath(args.dataset),
                          excluded_files=args.exclude["excluded"] if args.exclude else 0)
    print(f"[INFO] extracting {extractor.dim} features per image from {len(paths)} images of "
          f"{len(class_names)} classes with {describe(args.backbone, size, alpha)}"
          + (" (+ mirror images)" if args.flip else ""), file=sys.stderr)
    count, skipped, seconds = write_feature_file(args.output, extractor, LabelledImages(paths, y, class_names),
                                                 attrs, buffer_size=args.buffer_size)
    report_skipped(skipped, len(paths))
    print(f"[INFO] wrote {count} rows x {extractor.dim} features to {args.output} in {seconds:.1f}s "
          f"({(count + len(skipped)) / seconds:.0f} images/s)")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
