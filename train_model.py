"""Train a logistic regression on features written by extract_features.py and
evaluate it, as in the transfer-learning tutorial.

Reads --db; the first 75% of its rows (already shuffled) train, the rest
test. C is tuned over --c-grid with a 3-fold GridSearchCV; the best model is
refitted on the training rows, its classification report and accuracy on the
test rows are printed, and it is saved with skops (a safe format: loading runs
no code from the file) beside a JSON sidecar <model>.json naming the
backbone, weights file, alpha, input size and class names (what predict.py
needs), plus this run's arguments and results.

    python train_model.py --db output/features.hdf5 --model output/animals_lr.skops
"""
import os
import sys

from pyimagesearch import cli
from pyimagesearch.transfer.classifier import C_GRID, GridSearch
from pyimagesearch.transfer.trainclassifier import FeatureRows, Tuning, check_classifier_args
from pyimagesearch.utils.errors import run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = parser.add_argument_group("data")
    # -d is the book's spelling of --db (elsewhere -d is --dataset).
    data.add_argument("-d", "--db", default="output/features.hdf5",
                      help="features file from extract_features.py (default: %(default)s)")
    data.add_argument("--train-fraction", type=float, default=FeatureRows.train_fraction,
                      help="leading fraction of the rows used for training (default: %(default)s)")
    cli.add_exclude_argument(data)
    model = parser.add_argument_group("classifier")
    model.add_argument("--c-grid", type=float, nargs="+", default=list(C_GRID),
                       help="values of C to try (default: %(default)s)")
    model.add_argument("-j", "--jobs", type=int, default=-1,
                       help="parallel jobs for the grid search; -1 uses every core (default: %(default)s)")
    cli.add_class_weight_argument(model)
    model.add_argument("--seed", type=int, default=Tuning.seed, help="default: %(default)s")
    out = parser.add_argument_group("output")
    out.add_argument("-m", "--model", default="output/animals_lr.skops",
                     help="classifier to write (.skops); its sidecar goes beside it (default: %(default)s)")
    cli.add_top_losses_argument(out)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rows = FeatureRows(args.db, args.train_fraction, args.exclude)
    tuning = Tuning(GridSearch(args.c_grid, jobs=args.jobs), args.class_weight, args.seed)
    check_classifier_args(rows, tuning, args.model)
    from pyimagesearch.modelfiles.sidecar import sidecar_path
    from pyimagesearch.utils.atomic import check_output_file, report_replaced

    check_output_file(args.model, "--model")
    replaced = [p for p in (args.model, sidecar_path(args.model)) if os.path.exists(p)]
    from pyimagesearch.transfer.trainclassifier import train_classifier

    written = train_classifier(rows, tuning, args.model, args.top_losses, arguments=vars(args))
    print("[INFO] wrote:")
    for label, path in written:
        print(f"  {label:17s}{path}")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
