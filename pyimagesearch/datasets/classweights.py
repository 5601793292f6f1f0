"""Class weights for an imbalanced training set (--class-weight), and the
note that suggests them. TensorFlow-free: train_model.py uses it too."""

import numpy as np

CLASS_WEIGHT_MODES = ("none", "balanced")
# Largest class over smallest above which the trainers suggest --class-weight balanced.
IMBALANCE_RATIO = 3


def class_weights(labels, n_classes, mode="balanced"):
    """One weight per class (a list, index = class) for integer `labels`, or
    None for mode "none".

    "balanced" weighs class c by n_images / (n_classes x n_c), scikit-learn's
    compute_class_weight("balanced"): every class then carries the same total
    weight, and the weights average 1 over the images, so the loss keeps its
    scale and the learning rate needs no change. A class without images
    gets 0 (no image carries its weight)."""
    if mode not in CLASS_WEIGHT_MODES:
        raise ValueError(f"class weight mode must be one of {CLASS_WEIGHT_MODES}, got {mode!r}")
    if mode == "none":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.asarray(labels)
    present = np.unique(labels)
    weights = np.zeros(n_classes)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    return weights.tolist()


def weights_for_run(mode, labels, class_names):
    """A trainer's class weights for `mode` (None for "none") computed from
    its training labels, after printing describe_balance's line; and the
    record for the sidecar: {"mode", "weights" by class name or None}."""
    weights = class_weights(labels, len(class_names), mode)
    line = describe_balance(labels, class_names, weights)
    if line:
        print(line)
    by_name = None if weights is None else {n: round(w, 6) for n, w in zip(class_names, weights)}
    return weights, {"mode": mode, "weights": by_name}


def describe_balance(labels, class_names, weights):
    """One line for the terminal, or None: the weights in use, or, when none
    are and the largest class holds more than IMBALANCE_RATIO times the
    images of the smallest, the counts per class and the flag to try."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(class_names))
    per_class = ", ".join(f"{name} {n}" for name, n in zip(class_names, counts))
    if weights is not None:
        return ("[INFO] class weights (--class-weight balanced): "
                + ", ".join(f"{name} {w:.3g}" for name, w in zip(class_names, weights))
                + f"; training images per class: {per_class}")
    if counts.max() > IMBALANCE_RATIO * counts.min():
        return (f"[NOTE] the classes are imbalanced (training images per class: {per_class}): "
                f"the largest is more than {IMBALANCE_RATIO}x the smallest; --class-weight balanced makes every "
                "class count the same in the loss")
    return None
