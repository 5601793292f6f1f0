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

from pyimagesearch import cli
from pyimagesearch.export.options import FORMAT_NAMES, ExportOptions
from pyimagesearch.utils.errors import run_cli

DEFAULTS = ExportOptions()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_verbose_argument(parser)
    parser.add_argument("-m", "--model", default=DEFAULTS.model,
                        help="trained .keras model or .skops classifier, with its sidecar (default: "
                             "%(default)s)")
    parser.add_argument("--format", dest="formats", nargs="+", choices=FORMAT_NAMES,
                        default=DEFAULTS.formats, help="one or more formats to write (default: onnx)")
    # -f is --flatten in predict.py; export.py's old -f (--format) still works.
    cli.add_hidden_alias(parser, "-f", dest="formats", nargs="+", choices=FORMAT_NAMES)
    check = parser.add_argument_group("verification")
    check.add_argument("--images", nargs="+", default=DEFAULTS.images,
                       help="images to compare the original and the export on (default: a sample of "
                            "the run's dataset)")
    check.add_argument("--verify-images", type=int, default=DEFAULTS.verify_images,
                       help="how many images to compare on (default: %(default)s)")
    quant = parser.add_argument_group("int8 quantization")
    quant.add_argument("--int8", action="store_true",
                       help="also write int8 ONNX (static quantization) / LiteRT (full integer) files")
    quant.add_argument("--calibrate", default=DEFAULTS.calibrate,
                       help="folder of calibration images (default: the run's training split)")
    quant.add_argument("--calibration-images", type=int, default=DEFAULTS.calibration_images,
                       help="how many images calibrate the int8 ranges (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    flags = vars(parse_args(argv))
    del flags["verbose"]  # run_cli has read it: TensorFlow's start-up lines
    options = ExportOptions(**flags)
    options.check()
    from pyimagesearch.export.exportmodel import check_packages, export_model, planned_outputs
    from pyimagesearch.modelfiles.sidecar import sidecar_path
    from pyimagesearch.utils.atomic import check_output_file, report_replaced

    check_packages(options.formats)
    planned = [path for _, _, path in planned_outputs(options.model, options.formats, options.int8)]
    for path in planned:
        check_output_file(path, "--model's folder")
    replaced = [p for path in planned for p in (path, sidecar_path(path)) if os.path.exists(p)]
    # TensorFlow takes seconds to import: only after the cheap checks.
    from pyimagesearch.export.source import load_source

    written = export_model(load_source(options.model), options)
    print("[INFO] wrote " + ", ".join(f"{path} and {sidecar_path(path)}" for path, _ in written))
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
