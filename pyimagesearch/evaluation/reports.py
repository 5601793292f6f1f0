from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    classification_report,
    f1_score,
    recall_score,
)

from ..utils.atomic import atomic_path


def evaluate_predictions(y_true, y_pred, class_names):
    """Return (printable report, report dict, accuracy) from integer labels."""
    labels = list(range(len(class_names)))
    text = classification_report(y_true, y_pred, labels=labels, target_names=class_names,
                                 digits=4, zero_division=0)
    as_dict = classification_report(y_true, y_pred, labels=labels, target_names=class_names,
                                    output_dict=True, zero_division=0)
    return text, as_dict, float(accuracy_score(y_true, y_pred))


def headline_metrics(y_true, y_pred, n_classes, split="test"):
    """Accuracy, balanced accuracy (the mean of the per-class recalls) and
    macro F1, as sidecar fields (`test_accuracy`, ...) and as one terminal
    line. On an imbalanced test set accuracy alone hides a small class the
    model gets wrong; the other two weigh every class the same."""
    labels = list(range(n_classes))
    # Classes absent from y_true have no recall: leave them out of its mean, as
    # balanced_accuracy_score does, without its warning.
    present = sorted({int(c) for c in y_true})
    values = {"accuracy": float(accuracy_score(y_true, y_pred)),
              "balanced_accuracy": float(recall_score(y_true, y_pred, labels=present, average="macro",
                                                      zero_division=0)),
              "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))}
    text = (f"[INFO] {split} accuracy: {values['accuracy']:.4f}, balanced accuracy: "
            f"{values['balanced_accuracy']:.4f}, macro F1: {values['macro_f1']:.4f}")
    return {f"{split}_{key}": value for key, value in values.items()}, text


def report_predictions(y_true, y_pred, class_names, split="test"):
    """Print the classification report and the headline line, as every
    evaluation does; return (sidecar fields: the headline metrics and the
    report as a dict, accuracy)."""
    text, report, accuracy = evaluate_predictions(y_true, y_pred, class_names)
    print(text)
    headline, line = headline_metrics(y_true, y_pred, len(class_names), split=split)
    print(line)
    return {**headline, "classification_report": report}, accuracy


def save_confusion_matrix(path, y_true, y_pred, class_names, title=None):
    size = max(5, 0.6 * len(class_names) + 3)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(class_names))), display_labels=class_names,
        ax=ax, colorbar=False, xticks_rotation="vertical" if len(class_names) > 6 else "horizontal")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
