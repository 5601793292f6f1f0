"""Compare an export's probabilities with the original model's."""

import numpy as np

from ..inference.inputs import predict_paths


def kept_results(results):
    """(paths, probabilities (N, C) float32) of the readable images among
    predict_paths-style (path, probabilities or None, reason) results."""
    kept = [(path, p) for path, p, _ in results if p is not None]
    return [path for path, _ in kept], np.array([p for _, p in kept], dtype=np.float32)


def predict_kept(model, spec, paths, batch_size=64):
    """Probabilities (N, C) of the readable images among `paths`, in order."""
    return kept_results(predict_paths(model, spec, paths, batch_size))[1]


def compare(reference, probs):
    """{"images", "max_abs_diff", "top1_agreement", "top1_disagreements"} of two
    (N, C) probability arrays for the same images."""
    same = np.argmax(reference, axis=1) == np.argmax(probs, axis=1)
    return {"images": len(reference),
            "max_abs_diff": float(np.max(np.abs(reference - probs))) if len(reference) else 0.0,
            "top1_agreement": float(np.mean(same)) if len(reference) else 1.0,
            "top1_disagreements": int(np.sum(~same))}


def accuracy(probs, labels):
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))
