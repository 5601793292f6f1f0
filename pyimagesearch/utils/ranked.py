import numpy as np


def rank5_accuracy(preds, labels):
    """Return (rank1, rank5): the fraction of rows whose true label is the
    top prediction, and the fraction where it is among the top five.
    `preds` is (N, classes) scores, `labels` (N,) integer labels."""
    preds = np.asarray(preds)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return 0.0, 0.0
    top5 = np.argsort(-preds, axis=1, kind="stable")[:, :5]
    hits = top5 == labels[:, None]
    return float(hits[:, 0].mean()), float(hits.any(axis=1).mean())
