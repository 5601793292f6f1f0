"""The mistakes of a classifier: the classes it mixes up most (the
confusion matrix's largest off-diagonal cells), and what the sidecar
records about them."""

from sklearn.metrics import confusion_matrix

from .bootstrap import accuracy_interval


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


def mistakes(y_true, y_pred, class_names, evaluated_on="test"):
    """The sidecar's facts about the mistakes, printed after the
    classification report: the most-confused pairs, and the accuracy's 95%
    bootstrap interval."""
    pairs = most_confused(y_true, y_pred, class_names)
    print(format_confused(pairs))
    accuracy, interval = accuracy_interval(y_true, y_pred)
    if interval:
        print(f"[INFO] {evaluated_on} accuracy {accuracy:.4f}, 95% bootstrap interval "
              f"{interval[0]:.4f} to {interval[1]:.4f} ({len(y_true)} images)")
    return {"most_confused": pairs, f"{evaluated_on}_accuracy_ci95": interval}
