"""Likely label errors, by confident learning (Northcutt, Jiang and Chuang
2021), on out-of-sample probabilities from cross-validation.

Written here rather than taken from cleanlab: cleanlab is AGPL-3.0, and
users copy this package into their own (often closed) work, which that
licence would bind. The part used here is a few lines: scikit-learn's
cross_val_predict gives each image probabilities from a model that never
saw it, and the per-class thresholds are class means of those."""

import numpy as np

from .findings import Finding


def out_of_sample_probabilities(features, y, folds, seed):
    """(n, classes) probabilities, each row from a logistic regression
    trained on the other folds (stratified). Fewer folds when the smallest
    class has fewer images than `folds`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = min(folds, int(np.bincount(y).min()))
    if folds < 2:
        return None
    # newton-cg: the same probabilities as the default lbfgs on Animals'
    # features, in much less time (the figures: BENCHMARKS.md).
    model = LogisticRegression(C=1.0, solver="newton-cg", max_iter=1000)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, features, y, cv=cv, method="predict_proba")


def confident_learning(probabilities, y):
    """(flagged indices, suggested class per flagged index, thresholds).
    Class j's threshold t_j is the mean probability of j over the images
    labelled j (its mean self-confidence). An image is flagged when its
    given label's probability is under that label's threshold while another
    class's is at or above its own; the suggestion is the likeliest such class."""
    classes = probabilities.shape[1]
    thresholds = np.array([probabilities[y == j, j].mean() if np.any(y == j) else 1.0
                           for j in range(classes)])
    given = probabilities[np.arange(len(y)), y]
    above = probabilities >= thresholds
    above[np.arange(len(y)), y] = False
    flagged = np.flatnonzero((given < thresholds[y]) & above.any(axis=1))
    candidates = np.where(above[flagged], probabilities[flagged], -1)
    return flagged, candidates.argmax(axis=1), thresholds


def label_findings(scan, folds, seed):
    """label_issue rows, ranked by 1 - p(given label); and the
    probabilities (for the report), or ([], None) without features or
    with too few images per class."""
    from ..datasets.folder import encode_labels

    if scan.features is None or len(scan.paths) < 4:
        return [], None, None
    y, names = encode_labels(scan.labels)
    # One row per distinct (pixels, label): an exact copy in another fold
    # would hand the classifier its twin's answer, and replicas would
    # multiply the work for nothing.
    first, representative = {}, []
    row_of = np.empty(len(y), dtype=np.int64)
    for i, key in enumerate(zip(scan.digests, y.tolist())):
        if key not in first:
            first[key] = len(representative)
            representative.append(i)
        row_of[i] = first[key]
    probabilities = out_of_sample_probabilities(scan.features[representative], y[representative], folds,
                                                seed)
    if probabilities is None:
        return [], None, None
    probabilities = probabilities[row_of]
    flagged, suggested, thresholds = confident_learning(probabilities, y)
    findings = []
    for i, s in zip(flagged, suggested):
        p = probabilities[i]
        findings.append(Finding(scan.paths[i], "label_issue", float(1 - p[y[i]]), label=scan.labels[i],
                                suggested=names[s],
                                detail=", ".join(f"{n} {q:.2f}" for n, q in zip(names, p))))
    return findings, probabilities, dict(zip(names, thresholds.round(4).tolist()))
