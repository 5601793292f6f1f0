"""Classify new images with a model trained by this project's scripts.

The model's JSON sidecar says how to prepare images (size, flattening,
scaling) and what the classes are, so --model and --image are all it needs.
--image takes files, folders and glob patterns; every image is printed as
`path<TAB>label<TAB>probability` (more pairs with --top-k), annotated copies
go to --output, and --csv also writes the table to a file, row by row as the
images are classified (under <csv>.partial until the last one is done).
--resume continues an interrupted run's CSV: the images it lists are skipped.

    python predict.py --model output/smallvggnet.keras --image images/cat.jpg
    python predict.py --model output/smallvggnet.keras --image images/ --top-k 2 --csv output/predictions.csv
    python predict.py --model output/smallvggnet.onnx --image images/
    python predict.py --model output/smallvggnet.onnx --image photos/ --csv out.csv --resume

Exported models (.onnx, .tflite from export.py) need only the packages in
requirements-predict.txt: TensorFlow is never imported for them.
"""
import argparse
import contextlib
import os
import sys
from functools import partial

from pyimagesearch.cli import add_verbose_argument
from pyimagesearch.utils.errors import UserError, run_cli


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_verbose_argument(parser)
    parser.add_argument("-i", "--image", nargs="+", required=True,
                        help="image files, folders or glob patterns")
    parser.add_argument("-m", "--model", default="output/smallvggnet.keras",
                        help="trained .keras or .skops model, or an export of one (.onnx, .tflite), with "
                             "its sidecar beside it (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=1, help="labels to print per image (default: 1)")
    parser.add_argument("-b", "--batch-size", type=int, default=64, help="images per predict call")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of an exported model's runtime (.onnx, .tflite; default: every "
                             "core); on a machine busy with other jobs try 1 (BENCHMARKS.md, Exports)")
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", default="output/predictions",
                     help="folder for annotated copies (default: %(default)s)")
    out.add_argument("--no-annotate", action="store_true", help="do not write annotated copies")
    out.add_argument("--csv", default=None,
                     help="also write the predictions to this CSV file: row by row to <csv>.partial, "
                          "renamed to <csv> when every image is done (an interrupted run leaves the "
                          ".partial file)")
    out.add_argument("--resume", action="store_true",
                     help="continue the CSV of an interrupted run (<csv>.partial, or <csv> itself): "
                          "keep its rows, skip the images it lists and append the others, so the "
                          "file ends as one uninterrupted run's; it must come from the same "
                          "--model and --top-k")
    out.add_argument("--show", action="store_true",
                     help="show each annotated image in a window (only when a display exists)")
    explain = parser.add_argument_group("explanations")
    explain.add_argument("--explain", action="store_true",
                         help="also write <output>/<image>_gradcam.jpg: the Grad-CAM heatmap of the "
                              "predicted class over each image (a .skops model: its class activation "
                              "map, <image>_cam.jpg); ConvNets only")
    explain.add_argument("--explain-class", default=None, metavar="NAME",
                         help="draw the heatmap of this class instead of the predicted one")
    explain.add_argument("--explain-layer", default=None, metavar="NAME",
                         help="the layer Grad-CAM explains (default: the last convolutional layer)")
    legacy = parser.add_argument_group("tutorial flags (override the sidecar)")
    legacy.add_argument("-l", "--label-bin", default=None, help="JSON list of class names")
    legacy.add_argument("-w", "--width", type=int, default=None)
    legacy.add_argument("-e", "--height", type=int, default=None)
    legacy.add_argument("-f", "--flatten", type=int, choices=[0, 1], default=None,
                        help="1 if the model takes flattened images (the MLP)")
    return parser.parse_args(argv)


def open_model(args):
    """(function from paths to predict_paths-style results, class names) for
    --model: a .keras model or an export (.onnx, .tflite) that runs without
    TensorFlow, a .skops transfer model, with --explain's heatmaps or not."""
    from pyimagesearch.inference.inputs import predict_paths
    if args.model.endswith(".skops"):  # backbone features + classifier from train_model.py
        from pyimagesearch.inference.runtimes import require_tensorflow
        from pyimagesearch.modelfiles.sidecar import load_model_info
        from pyimagesearch.transfer.skopsmodel import check_no_input_flags, load_transfer_model
        from pyimagesearch.transfer.skopsmodel import predict_paths as predict_transfer
        check_no_input_flags(args.label_bin, args.width, args.height, args.flatten)
        require_tensorflow(args.model)
        classifier, class_names, extractor = load_transfer_model(args.model, args.batch_size)
        predict = partial(predict_transfer, classifier, extractor)
        if args.explain:
            from pyimagesearch.preprocessing.inputspec import InputSpec
            from pyimagesearch.transfer.cam import cam_explainer
            explainer = cam_explainer(classifier, extractor, args.model, args.explain_layer)
            spec = InputSpec.from_dict(load_model_info(args.model)["input"], args.model)
    else:  # .keras, or an export (.onnx, .tflite) that runs without TensorFlow
        from pyimagesearch.inference.runtimes import load_predictor
        from pyimagesearch.modelfiles.paths import keras3_names
        # The tutorial's --model x.model --label-bin x_lb.pickle: the files its trainer wrote.
        args.model, args.label_bin = keras3_names(args.model, args.label_bin, reading=True,
                                                  stream=sys.stderr)
        flatten = None if args.flatten is None else bool(args.flatten)
        model, class_names, spec = load_predictor(args.model, args.label_bin, args.width,
                                                   args.height, flatten, threads=args.threads)
        predict = partial(predict_paths, model, spec, batch_size=args.batch_size)
        if args.explain:
            if not args.model.endswith(".keras"):
                raise UserError(f"{args.model}: --explain needs the trained .keras or .skops model; an "
                                "export keeps no gradients to draw heatmaps from")
            from pyimagesearch.explain.explainers import keras_explainer
            explainer = keras_explainer(model, spec, args.model, args.explain_layer)
    if args.explain:
        from pyimagesearch.explain.overlays import class_index_of, explain_paths
        return partial(explain_paths, explainer, spec, output=args.output, class_names=class_names,
                       class_index=class_index_of(args.explain_class, class_names),
                       batch_size=args.batch_size), class_names
    return predict, class_names


def check_args(args):
    """The flags' one-line errors, before anything slow is imported."""
    if args.top_k < 1 or args.batch_size < 1 or (args.threads is not None and args.threads < 1):
        raise UserError("--top-k, --batch-size and --threads must be at least 1")
    if args.threads and not args.model.lower().endswith((".onnx", ".tflite")):
        raise UserError(f"{args.model}: --threads applies to exported models (.onnx, .tflite) only")
    if (args.explain_class or args.explain_layer) and not args.explain:
        raise UserError("--explain-class and --explain-layer go with --explain")
    from pyimagesearch.utils.atomic import check_output_file, ensure_writable_folder
    if not args.no_annotate or args.explain:
        ensure_writable_folder(args.output, "--output")
    if args.csv:
        check_output_file(args.csv, "--csv")
    elif args.resume:
        raise UserError("--resume continues a --csv file; give the --csv of the interrupted run")


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    replaced = [args.csv] if args.csv and os.path.exists(args.csv) and not args.resume else []
    # TensorFlow takes seconds to import, so it comes after the cheap checks
    # (and only for .keras and .skops models: exports run without it).
    from pyimagesearch.inference.csvfile import PredictionCSV
    from pyimagesearch.inference.inputs import expand_image_args
    from pyimagesearch.inference.outputs import can_show, run_summary, write_predictions
    from pyimagesearch.utils.atomic import report_replaced
    paths = expand_image_args(args.image)
    show = args.show and can_show()
    predict, class_names = open_model(args)
    csv_file = (PredictionCSV(args.csv, paths, class_names, min(args.top_k, len(class_names)),
                              args.model, resume=args.resume) if args.csv else None)
    with csv_file or contextlib.nullcontext():
        todo = csv_file.remaining if csv_file else paths
        classified = write_predictions(predict(todo), class_names, top_k=args.top_k,
                                       output=None if args.no_annotate else args.output,
                                       csv_file=csv_file, show=show)
    earlier = len(csv_file.done) if csv_file else 0
    places = ([] if args.no_annotate else [f"annotated images in {args.output}/"]) + (
        [f"heatmaps in {args.output}/"] if args.explain else []) + ([f"CSV in {args.csv}"] if args.csv else [])
    print(run_summary(classified, len(paths), earlier, places), file=sys.stderr)
    report_replaced(replaced)
    if not classified + earlier:
        raise UserError("none of the images could be read", 1)


if __name__ == "__main__":
    sys.exit(run_cli(main))
