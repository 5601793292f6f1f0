"""Fit the classifier on backbone features, and save/load it with skops
(a zip of JSON and arrays; loading runs no code from the file, unlike pickle)."""

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from ..datasets.split import DEFAULT_SEED
from ..utils.atomic import atomic_path
from ..utils.errors import UserError

C_GRID = (0.0001, 0.001, 0.01, 0.1, 1.0)


def split_rows(n, train_fraction=0.75):
    """The tutorial's split of an already-shuffled file: first 75% train."""
    return int(n * train_fraction)


@dataclass(frozen=True)
class GridSearch:
    """How C is tuned: the values tried, the cross-validation folds and the
    parallel jobs (-1: every core)."""
    c_grid: tuple = C_GRID
    folds: int = 3
    jobs: int | None = None


def tune_classifier(x, y, search=GridSearch(), scale=False, seed=DEFAULT_SEED, class_weight=None):
    """GridSearchCV (`search`) over C for a logistic regression, optionally
    after a StandardScaler (fitted inside each fold; on the Animals benchmark
    it did not help (BENCHMARKS.md), so train_model.py does not offer it).
    `class_weight="balanced"` weighs the classes as --class-weight balanced
    does (scikit-learn computes them from each fold's rows). Returns the
    fitted search."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [("scale", StandardScaler())] if scale else []
    steps.append(("logreg", LogisticRegression(max_iter=1000, random_state=seed,
                                                class_weight=class_weight)))
    grid = GridSearchCV(Pipeline(steps), {"logreg__C": list(search.c_grid)}, cv=search.folds,
                        n_jobs=search.jobs)
    return grid.fit(x, y)


def save_classifier(path, classifier):
    import skops.io as sio

    with atomic_path(path) as tmp:
        sio.dump(classifier, tmp)


def load_classifier(path):
    """Load a .skops classifier, refusing any file that holds types outside
    skops' trusted defaults (scikit-learn estimators, numpy arrays, ...)."""
    import skops.io as sio

    if not os.path.isfile(path):
        raise UserError(f"{path}: classifier not found; train one with train_model.py")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a skops file; train one with train_model.py")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a damaged archive raises many types
        raise UserError(f"{path}: could not read the skops file ({exc}); train it again", 1) from None
    if untrusted:
        raise UserError(f"{path}: refused: the file holds types that are not trusted "
                        f"({', '.join(untrusted)}); loading them could run code. Only a "
                        "classifier written by train_model.py is accepted", 1)
    classifier = sio.load(path)
    if not hasattr(classifier, "predict_proba"):
        raise UserError(f"{path}: holds a {type(classifier).__name__}, not a classifier with "
                        "predict_proba", 1)
    return classifier


def linear_form(classifier, where):
    """(weights (classes, features), biases (classes,)) whose softmax over
    `features @ weights.T + biases` equals `classifier.predict_proba`, for a
    LogisticRegression, alone or after a StandardScaler in a Pipeline (its
    affine map folded into the weights). Exporting folds it into a Dense
    layer; the class activation map weighs feature maps with it.

    A multinomial logistic regression's probabilities are the softmax of its
    decision function. A binary one gives sigmoid(d) for the second class,
    which is the softmax of (-d/2, d/2): each class's score is the evidence
    against the other. A one-vs-rest model normalises sigmoids instead,
    which no softmax reproduces: it is refused."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    *transforms, (_, model) = list(getattr(classifier, "steps", [("classifier", classifier)]))
    if not isinstance(model, LogisticRegression):
        raise UserError(f"{where}: holds a {type(model).__name__}; only a logistic regression (as "
                        "train_model.py writes) has weights to fold into a network or a heatmap", 1)
    weights, biases = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    if len(model.classes_) == 2:
        weights, biases = np.vstack([-weights / 2, weights / 2]), np.concatenate([-biases / 2, biases / 2])
    elif getattr(model, "multi_class", "auto") == "ovr" or model.solver == "liblinear":
        raise UserError(f"{where}: a one-vs-rest logistic regression normalises sigmoids, which "
                        "a softmax cannot reproduce; retrain it with train_model.py (multinomial)", 1)
    for name, step in reversed(transforms):
        if not isinstance(step, StandardScaler):
            raise UserError(f"{where}: pipeline step {name!r} is a {type(step).__name__}; only a "
                            "StandardScaler before the logistic regression can be folded in", 1)
        mean = step.mean_ if step.with_mean else 0.0
        scale = step.scale_ if step.with_std else 1.0
        # w . ((f - mean) / scale) + b == (w / scale) . f + (b - w . (mean / scale))
        biases = biases - weights @ (np.zeros(weights.shape[1]) + mean / scale)
        weights = weights / scale
    return weights, biases
