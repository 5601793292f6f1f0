"""The test images a model gets most wrong, and the classes it mixes up."""

import numpy as np
from sklearn.metrics import confusion_matrix


def per_image_loss(probs, labels, eps=1e-7):
    """Each image's cross-entropy, -log p(true class), from (N, classes)
    probabilities and (N,) integer labels; probabilities are clipped to
    `eps` as Keras clips them, so a confident mistake costs about 16, not inf."""
    probs = np.asarray(probs, np.float64)
    labels = np.asarray(labels, int)
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], eps, 1.0))


def top_losses(probs, labels, n=16):
    """(indices, losses) of the `n` images with the highest loss, highest
    first (ties in index order)."""
    losses = per_image_loss(probs, labels)
    order = np.argsort(-losses, kind="stable")[:max(0, n)]
    return order, losses[order]


def most_confused(y_true, y_pred, class_names, min_count=1):
    """Off-diagonal cells of the confusion matrix, largest first, as
    [{"true", "predicted", "count"}] (fastai's most_confused)."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
    pairs = [{"true": class_names[t], "predicted": class_names[p], "count": int(matrix[t, p])}
             for t in range(len(class_names)) for p in range(len(class_names))
             if t != p and matrix[t, p] >= min_count]
    return sorted(pairs, key=lambda pair: -pair["count"])


def format_confused(pairs, limit=10):
    """Printable lines, e.g. `  cats -> dogs: 41`."""
    if not pairs:
        return "[INFO] most-confused pairs: none (no test image is misclassified)"
    width = max(len(pair["true"]) for pair in pairs[:limit])
    lines = [f"  {pair['true']:>{width}s} -> {pair['predicted']}: {pair['count']}" for pair in pairs[:limit]]
    more = f"\n  ... and {len(pairs) - limit} more" if len(pairs) > limit else ""
    return "[INFO] most-confused pairs (true -> predicted: images):\n" + "\n".join(lines) + more
