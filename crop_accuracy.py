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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pyimagesearch import cli
from pyimagesearch.utils.errors import UserError, run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("--hdf5", default="output/hdf5",
                      help="folder with test.hdf5 (default: %(default)s)")
    data.add_argument("--split", default="test", choices=["test", "val", "train"],
                      help="which file of --hdf5 to evaluate (default: %(default)s)")
    data.add_argument("--batch-size", type=int, default=32,
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
    from pyimagesearch.utils.atomic import check_output_file, report_replaced, write_json
    output = args.output or os.path.splitext(args.model)[0] + "_crop_accuracy.json"
    if args.output:  # the default lies beside the model: checked once the model has loaded
        check_output_file(output, "--output")
    replaced = [output] if os.path.exists(output) else []
    from pyimagesearch.io import open_hdf5, read_label_names
    from pyimagesearch.io.hdf5file import hdf5_file
    db_path = hdf5_file(args.hdf5, args.split)
    with open_hdf5(db_path) as db:
        file_classes = read_label_names(db)
    # TensorFlow takes seconds to import, so it comes after the cheap checks.
    from pyimagesearch.evaluation.cropaccuracy import compare_views, predict_views
    from pyimagesearch.evaluation.reports import evaluate_predictions, headline_metrics
    from pyimagesearch.inference.runtimes import load_classifier
    from pyimagesearch.utils.ranked import rank5_accuracy

    model, class_names, spec = load_classifier(args.model)
    if not args.output:
        check_output_file(output, "--output")
    if file_classes is not None and file_classes != class_names:
        raise UserError(f"{db_path}: its classes {file_classes} differ from the model's "
                        f"{class_names}; evaluate with the HDF5 files the model was trained on")
    try:
        labels, single, crops = predict_views(model, db_path, spec, batch_size=args.batch_size)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    results = {"model": args.model, "hdf5": db_path, "images": len(labels),
               "class_names": class_names}
    for name, probs in (("single_view", single), ("ten_crop", crops)):
        rank1, rank5 = rank5_accuracy(probs, labels)
        report_text, report, _ = evaluate_predictions(labels, probs.argmax(axis=1), class_names)
        headline, _ = headline_metrics(labels, probs.argmax(axis=1), len(class_names), split="view")
        results[name] = {"rank1": rank1, "balanced_accuracy": headline["view_balanced_accuracy"],
                         "macro_f1": headline["view_macro_f1"], "classification_report": report}
        if len(class_names) > 5:
            results[name]["rank5"] = rank5
        print(f"[INFO] {name.replace('_', ' ')}: per-class report\n{report_text}")
    comparison = compare_views(labels, single, crops)
    results["rank1_gain"] = comparison["gain"]
    results["rank1_gain_ci95"] = comparison["ci95"]
    results["fixed_by_ten_crop"], results["broken_by_ten_crop"] = comparison["fixed"], comparison["broken"]
    for name in ("single_view", "ten_crop"):
        line = f"[INFO] {name.replace('_', ' '):12s} rank-1: {results[name]['rank1'] * 100:.2f}%"
        if "rank5" in results[name]:
            line += f"  rank-5: {results[name]['rank5'] * 100:.2f}%"
        line += (f"  balanced accuracy: {results[name]['balanced_accuracy'] * 100:.2f}%"
                 f"  macro F1: {results[name]['macro_f1'] * 100:.2f}%")
        print(line)
    interval = ""
    if comparison["ci95"] is not None:
        low, high = (100 * x for x in comparison["ci95"])
        interval = f"; 95% confidence interval {low:+.2f} to {high:+.2f}"
    print(f"[INFO] 10-crop minus single view: {results['rank1_gain'] * 100:+.2f} points "
          f"(rank-1, {len(labels)} images{interval})")
    print(f"[INFO] 10-crop put {comparison['fixed']} images right that the single view got wrong, "
          f"and {comparison['broken']} wrong that it got right")
    from pyimagesearch.explain.summary import explain_crop_accuracy
    written = explain_crop_accuracy(model, db_path, spec, results, labels, single, crops,
                                    os.path.splitext(output)[0], args.top_losses, vars(args))
    write_json(output, results)
    print("[INFO] wrote:")
    for label, path in [("results", output), *written]:
        print(f"  {label:17s}{path}")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
