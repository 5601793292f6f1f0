"""95% bootstrap confidence intervals of an accuracy and of a paired
difference: on a few hundred test images a point of accuracy is a handful
of images, and the interval says how much of a number is the luck of the
test set."""

import numpy as np
import scipy.stats

RESAMPLED_VALUES = 2**22


def mean_interval(values, seed=0, confidence=0.95):
    """The percentile bootstrap interval [low, high] of the mean of
    `values` (e.g. 1 for a right prediction, 0 for a wrong one), or None
    under 2 values. The same values and seed always give the same interval."""
    values = np.asarray(values, np.float64)
    if len(values) < 2:
        return None
    if np.all(values == values[0]):  # no spread: the bootstrap has nothing to resample
        return [float(values[0]), float(values[0])]
    # Resamples in batches of about RESAMPLED_VALUES values: scipy's default
    # draws all 9,999 at once, 1 GB for 6,000 test images.
    batch = max(1, RESAMPLED_VALUES // len(values))
    interval = scipy.stats.bootstrap((values,), np.mean, confidence_level=confidence, batch=batch,
                                     method="percentile", rng=np.random.default_rng(seed)
                                     ).confidence_interval
    return [float(interval.low), float(interval.high)]


def accuracy_interval(y_true, y_pred, seed=0):
    """(accuracy, its 95% bootstrap interval or None) of integer predictions."""
    correct = np.asarray(y_true) == np.asarray(y_pred)
    return (float(correct.mean()) if len(correct) else 0.0), mean_interval(correct, seed)
