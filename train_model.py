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
import time

from pyimagesearch import cli
from pyimagesearch.utils.errors import UserError, run_cli


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("-d", "--db", default="output/features.hdf5",
                      help="features file from extract_features.py (default: %(default)s)")
    data.add_argument("--train-fraction", type=float, default=0.75,
                      help="leading fraction of the rows used for training (default: %(default)s)")
    cli.add_exclude_argument(data)
    model = parser.add_argument_group("classifier")
    model.add_argument("--c-grid", type=float, nargs="+", default=[0.0001, 0.001, 0.01, 0.1, 1.0],
                       help="values of C to try (default: %(default)s)")
    model.add_argument("-j", "--jobs", type=int, default=-1,
                       help="parallel jobs for the grid search; -1 uses every core (default: %(default)s)")
    cli.add_class_weight_argument(model)
    model.add_argument("--seed", type=int, default=42, help="default: %(default)s")
    out = parser.add_argument_group("output")
    out.add_argument("-m", "--model", default="output/animals_lr.skops",
                     help="classifier to write (.skops); its sidecar goes beside it (default: %(default)s)")
    cli.add_top_losses_argument(out)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not 0 < args.train_fraction < 1:
        raise UserError(f"--train-fraction must be between 0 and 1, got {args.train_fraction}")
    if any(c <= 0 for c in args.c_grid):
        raise UserError("--c-grid values must be positive")
    if not args.model.endswith(".skops"):
        raise UserError(f"{args.model}: the classifier is saved with skops; give --model a .skops name")
    from pyimagesearch.modelfiles.sidecar import image_counts, run_stamp, save_model_info, sidecar_path
    from pyimagesearch.utils.atomic import check_output_file, report_replaced

    check_output_file(args.model, "--model")
    replaced = [p for p in (args.model, sidecar_path(args.model)) if os.path.exists(p)]
    import sklearn
    import skops

    from pyimagesearch.datasets.classweights import weights_for_run
    from pyimagesearch.evaluation.reports import report_predictions
    from pyimagesearch.transfer.classifier import save_classifier, split_rows, tune_classifier
    from pyimagesearch.transfer.featurefile import read_feature_file, spec_from_attrs

    features, labels, class_names, paths, attrs = read_feature_file(args.db)
    if args.exclude is not None:
        keep = [j for j, kept in enumerate(args.exclude.keep_mask(paths, attrs.get("source"))) if kept]
        features, labels, paths = features[keep], labels[keep], [paths[j] for j in keep]
    i = split_rows(len(features), args.train_fraction)
    if min(i, len(features) - i) < 3:
        raise UserError(f"{args.db}: {len(features)} rows are too few to split {args.train_fraction:g} "
                        "train / rest test with 3-fold tuning; extract features from more images")
    missing = [class_names[c] for c in range(len(class_names)) if c not in set(labels[:i].tolist())]
    if missing:
        raise UserError(f"{args.db}: no training rows for class {', '.join(missing)}; add images of "
                        "it or raise --train-fraction")
    _, weight_record = weights_for_run(args.class_weight, labels[:i], class_names)
    print(f"[INFO] tuning C over {args.c_grid} on {i} rows of {features.shape[1]} features")
    start = time.perf_counter()
    try:
        search = tune_classifier(features[:i], labels[:i], args.c_grid, jobs=args.jobs, seed=args.seed,
                                 class_weight=None if args.class_weight == "none" else args.class_weight)
    except ValueError as exc:
        raise UserError(f"{args.db}: cannot tune on these rows ({exc})") from None
    seconds = time.perf_counter() - start
    best = {key.split("__")[-1]: value for key, value in search.best_params_.items()}
    print(f"[INFO] best hyperparameters: {best} (cross-validated accuracy {search.best_score_:.4f})")

    print(f"[INFO] evaluating on the last {len(features) - i} rows...")
    y_pred = search.predict(features[i:])
    fields, _ = report_predictions(labels[i:], y_pred, class_names)

    spec = spec_from_attrs(attrs)
    run = {"arguments": vars(args), "features_file": os.path.abspath(args.db),
           "source": attrs.get("source"), **image_counts(train=i, test=len(features) - i),
           "best_params": best, "cv_accuracy": float(search.best_score_),
           "class_weight": weight_record, **fields,
           "test_errors": [{"path": paths[i + j], "label": class_names[labels[i + j]],
                            "predicted": class_names[p]}
                           for j, p in enumerate(y_pred) if p != labels[i + j]],
           "tune_seconds": round(seconds, 1),
           **run_stamp(**{"scikit-learn": sklearn.__version__, "skops": skops.__version__})}
    run["architecture"] = f"{spec['backbone']} + logistic regression"
    from pyimagesearch.explain.evaluation import explain_transfer_run
    written = explain_transfer_run(search.predict_proba(features[i:]), labels[i:], paths[i:], class_names,
                                   run, args.model, args.top_losses)
    save_classifier(args.model, search.best_estimator_)
    save_model_info(args.model, class_names, spec, run)
    print("[INFO] wrote:")
    for label, path in [("classifier", args.model), ("sidecar", sidecar_path(args.model)), *written]:
        print(f"  {label:17s}{path}")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
