"""The test images a model gets most wrong (the classes it mixes up:
evaluation.confusion)."""

import numpy as np


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
