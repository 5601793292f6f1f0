from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, classification_report

from ..utils.atomic import atomic_path


def evaluate_predictions(y_true, y_pred, class_names):
    """Return (printable report, report dict, accuracy) from integer labels."""
    labels = list(range(len(class_names)))
    text = classification_report(y_true, y_pred, labels=labels, target_names=class_names,
                                 digits=4, zero_division=0)
    as_dict = classification_report(y_true, y_pred, labels=labels, target_names=class_names,
                                    output_dict=True, zero_division=0)
    return text, as_dict, float(accuracy_score(y_true, y_pred))


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
