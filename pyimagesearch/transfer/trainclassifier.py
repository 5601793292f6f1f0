"""train_model.py's work: tune and fit the logistic regression on the rows
of a features file, evaluate it on the rest, and write the classifier, its
sidecar and the run's report."""

import os
import time
from dataclasses import dataclass, field

from ..datasets.split import DEFAULT_SEED
from ..modelfiles.sidecar import image_counts, run_stamp, save_model_info, sidecar_path
from ..utils.errors import UserError
from .classifier import GridSearch, save_classifier, split_rows, tune_classifier
from .featurefile import read_feature_file, spec_from_attrs


@dataclass
class FeatureRows:
    """What to read: the features file, the leading fraction of its
    (already shuffled) rows that trains, and an --exclude list."""
    db: str
    train_fraction: float = 0.75
    exclude: object = None

    def read(self):
        """(features, labels, class names, paths, attributes, training rows)."""
        features, labels, class_names, paths, attrs = read_feature_file(self.db)
        if self.exclude is not None:
            keep = [j for j, kept in enumerate(self.exclude.keep_mask(paths, attrs.get("source"))) if kept]
            features, labels, paths = features[keep], labels[keep], [paths[j] for j in keep]
        i = split_rows(len(features), self.train_fraction)
        if min(i, len(features) - i) < 3:
            raise UserError(f"{self.db}: {len(features)} rows are too few to split {self.train_fraction:g} "
                            "train / rest test with 3-fold tuning; extract features from more images")
        missing = [class_names[c] for c in range(len(class_names)) if c not in set(labels[:i].tolist())]
        if missing:
            raise UserError(f"{self.db}: no training rows for class {', '.join(missing)}; add images of "
                            "it or raise --train-fraction")
        return features, labels, class_names, paths, attrs, i


@dataclass
class Tuning:
    """How the classifier is fitted: the grid search over C, --class-weight
    and the seed."""
    search: GridSearch = field(default_factory=lambda: GridSearch(jobs=-1))
    class_weight: str = "none"
    seed: int = DEFAULT_SEED


def check_classifier_args(rows, tuning, model_path):
    """UserError for options that cannot work, before anything is read."""
    if not 0 < rows.train_fraction < 1:
        raise UserError(f"--train-fraction must be between 0 and 1, got {rows.train_fraction}")
    if any(c <= 0 for c in tuning.search.c_grid):
        raise UserError("--c-grid values must be positive")
    if not model_path.endswith(".skops"):
        raise UserError(f"{model_path}: the classifier is saved with skops; give --model a .skops name")


def train_classifier(rows, tuning, model_path, top_losses=16, arguments=None):
    """Tune on the training rows, evaluate on the rest (classification report,
    most-confused pairs, top losses, HTML report) and write the classifier
    (.skops) and its sidecar, whose run section records `arguments`.
    Returns [(label, path written)]."""
    import sklearn
    import skops

    from ..datasets.classweights import weights_for_run
    from ..evaluation.reports import report_predictions
    from ..explain.summary import explain_transfer_run

    features, labels, class_names, paths, attrs, i = rows.read()
    _, weight_record = weights_for_run(tuning.class_weight, labels[:i], class_names)
    print(f"[INFO] tuning C over {list(tuning.search.c_grid)} on {i} rows of {features.shape[1]} features")
    start = time.perf_counter()
    try:
        search = tune_classifier(features[:i], labels[:i], tuning.search, seed=tuning.seed,
                                 class_weight=None if tuning.class_weight == "none" else tuning.class_weight)
    except ValueError as exc:
        raise UserError(f"{rows.db}: cannot tune on these rows ({exc})") from None
    seconds = time.perf_counter() - start
    best = {key.split("__")[-1]: value for key, value in search.best_params_.items()}
    print(f"[INFO] best hyperparameters: {best} (cross-validated accuracy {search.best_score_:.4f})")

    print(f"[INFO] evaluating on the last {len(features) - i} rows...")
    probs = search.predict_proba(features[i:])
    y_pred = search.classes_[probs.argmax(axis=1)]  # what search.predict returns, from the same pass
    fields, _ = report_predictions(labels[i:], y_pred, class_names)
    spec = spec_from_attrs(attrs, rows.db)
    run = {"arguments": arguments or {}, "features_file": os.path.abspath(rows.db),
           "source": attrs.get("source"), **image_counts(train=i, test=len(features) - i),
           "best_params": best, "cv_accuracy": float(search.best_score_),
           "class_weight": weight_record, **fields,
           "test_errors": [{"path": paths[i + j], "label": class_names[labels[i + j]],
                            "predicted": class_names[p]}
                           for j, p in enumerate(y_pred) if p != labels[i + j]],
           "tune_seconds": round(seconds, 1),
           **run_stamp(**{"scikit-learn": sklearn.__version__, "skops": skops.__version__}),
           "architecture": f"{spec.backbone} + logistic regression"}
    written = explain_transfer_run(probs, labels[i:], paths[i:], class_names, run, model_path, top_losses)
    save_classifier(model_path, search.best_estimator_)
    save_model_info(model_path, class_names, spec, run)
    return [("classifier", model_path), ("sidecar", sidecar_path(model_path)), *written]
