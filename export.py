"""Export a trained model to ONNX, LiteRT (.tflite) or a TensorFlow SavedModel,
so predict.py (or any ONNX Runtime / LiteRT program) can classify with it on a
machine without TensorFlow.

Each export is written beside the model with its own JSON sidecar (the same
class names and input preparation, plus the format and the versions that made
it). Every export is first checked against the original on sample images:
the largest probability difference and the top-1 agreement are printed, and
a float export that disagrees on any image's top-1 class is not written
(exit 1). Works for the .keras models of train_simple_nn.py, train_vgg.py and
train_alexnet.py, and for the .skops classifiers of train_model.py (backbone
and logistic regression folded into one graph). --int8 also writes
quantized <model>_int8.onnx / _int8.tflite, calibrated on --calibrate DIR or
the run's own training images, and prints the test accuracy before and after.

    python export.py --model output/smallvggnet.keras --format onnx litert
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pyimagesearch.utils.errors import UserError, run_cli

FORMAT_NAMES = ("onnx", "litert", "saved_model")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", default="output/smallvggnet.keras",
                        help="trained .keras model or .skops classifier, with its sidecar (default: "
                             "%(default)s)")
    parser.add_argument("-f", "--format", dest="formats", nargs="+", choices=FORMAT_NAMES, default=["onnx"],
                        help="one or more formats to write (default: onnx)")
    check = parser.add_argument_group("verification")
    check.add_argument("--images", nargs="+", default=None,
                       help="images to compare the original and the export on (default: a sample of "
                            "the run's dataset)")
    check.add_argument("--verify-images", type=int, default=64,
                       help="how many images to compare on (default: %(default)s)")
    quant = parser.add_argument_group("int8 quantization")
    quant.add_argument("--int8", action="store_true",
                       help="also write int8 ONNX (static quantization) / LiteRT (full integer) files")
    quant.add_argument("--calibrate", default=None,
                       help="folder of calibration images (default: the run's training split)")
    quant.add_argument("--calibration-images", type=int, default=200,
                       help="how many images calibrate the int8 ranges (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.formats = list(dict.fromkeys(args.formats))
    if args.verify_images < 1 or args.calibration_images < 1:
        raise UserError("--verify-images and --calibration-images must be at least 1")
    if args.int8 and not {"onnx", "litert"} & set(args.formats):
        raise UserError("--int8 applies to --format onnx and litert only")
    if not os.path.isfile(args.model):
        raise UserError(f"{args.model}: model file not found; train one first (e.g. python train_vgg.py)")
    if args.calibrate and not os.path.isdir(args.calibrate):
        raise UserError(f"{args.calibrate}: calibration folder not found; pass a folder of images to "
                        "--calibrate")
    from pyimagesearch.export.run import check_packages, export_model, planned_outputs
    from pyimagesearch.modelfiles.sidecar import sidecar_path
    from pyimagesearch.utils.atomic import check_output_file, report_replaced

    check_packages(args.formats)
    if args.int8 and not args.calibrate:
        from pyimagesearch.export.splits import has_training_images, no_calibration_images
        from pyimagesearch.modelfiles.sidecar import load_model_info

        if not has_training_images(load_model_info(args.model)):
            raise no_calibration_images()
    planned = [path for _, _, path in planned_outputs(args.model, args.formats, args.int8)]
    for path in planned:
        check_output_file(path, "--model's folder")
    replaced = [p for path in planned for p in (path, sidecar_path(path)) if os.path.exists(p)]
    # TensorFlow takes seconds to import: only after the cheap checks.
    from pyimagesearch.export.source import load_source

    source = load_source(args.model)
    written = export_model(source, args)
    print("[INFO] wrote " + ", ".join(f"{path} and {sidecar_path(path)}" for path, _ in written))
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
