"""Measure what 10-crop oversampling adds to a model's test accuracy.

Reads --hdf5/test.hdf5 (from build_hdf5.py) and a model trained by
train_alexnet.py (or any model with a sidecar). Evaluates every test image
twice: a single view (resized to the model's input, minus the training
means) and 10 crops (four corners, center and their mirrors, predictions
averaged). Prints rank-1 accuracy for both (rank-5 too with more than 5
classes), the difference with its 95% bootstrap confidence interval, and
the per-class report of each; writes all of it as JSON to --output
(default: <model>_crop_accuracy.json).

    python crop_accuracy.py --hdf5 output/hdf5 --model output/alexnet.keras
"""
import os
import sys

from pyimagesearch import cli
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("--hdf5", default="output/hdf5",
                      help="folder with test.hdf5 (default: %(default)s)")
    data.add_argument("--split", default="test", choices=["test", "val", "train"],
                      help="which file of --hdf5 to evaluate (default: %(default)s)")
    data.add_argument("-b", "--batch-size", type=int, default=32,
                      help="images per predict call; their 10 crops go in one call "
                           "(default: %(default)s)")
    parser.add_argument("-m", "--model", default="output/alexnet.keras",
                        help="trained .keras model with its sidecar (default: %(default)s)")
    parser.add_argument("-o", "--output", default=None,
                        help="results JSON (default: <model>_crop_accuracy.json); its confusion "
                             "matrix, top losses and HTML report go beside it, named after it")
    cli.add_top_losses_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cli.check_positive(args, "batch-size")
    from pyimagesearch.evaluation.cropaccuracy import (
        crop_accuracy_results,
        evaluate_views,
        split_file,
        summary_lines,
    )
    from pyimagesearch.utils.atomic import check_output_file, report_replaced, write_json
    output = args.output or os.path.splitext(args.model)[0] + "_crop_accuracy.json"
    if args.output:  # the default lies beside the model: checked once the model has loaded
        check_output_file(output, "--output")
    replaced = [output] if os.path.exists(output) else []
    db_path, file_classes = split_file(args.hdf5, args.split)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    from pyimagesearch.explain.summary import ReportFiles, explain_crop_accuracy
    from pyimagesearch.inference.runtimes import load_predictor

    predictor = load_predictor(args.model)
    if not args.output:
        check_output_file(output, "--output")
    views = evaluate_views(predictor, db_path, file_classes, args.batch_size)
    results = crop_accuracy_results(args.model, db_path, predictor.class_names, views)
    print("\n".join(summary_lines(results)))
    files = ReportFiles.beside(os.path.splitext(output)[0], args.model)
    written = explain_crop_accuracy(predictor, db_path, views, results, files, args.top_losses, vars(args))
    write_json(output, results)
    print("[INFO] wrote:")
    for label, path in [("results", output), *written]:
        print(f"  {label:17s}{path}")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
