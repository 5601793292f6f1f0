"""Outliers: images far from every other image in feature space."""

import numpy as np
import sklearn
from sklearn.neighbors import NearestNeighbors

from .duplicates import WORKING_MEMORY_MB
from .findings import Finding


def outlier_findings(scan, groups, thresholds):
    """Score each image by its mean cosine distance to its nearest
    `thresholds.neighbours` others, with each duplicate group counted once
    (eight copies of a logo would otherwise be each other's neighbours);
    flag scores above Q3 + iqr_factor x IQR, Tukey's "far out" fence."""
    if scan.features is None:
        return []
    n = len(scan.paths)
    representative = np.arange(n)
    for group in groups:
        representative[group] = group[0]
    unique = np.unique(representative)
    k = min(thresholds.neighbours, len(unique) - 1)
    if k < 2:
        return []
    with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
        distances, _ = NearestNeighbors(n_neighbors=k).fit(scan.features[unique]).kneighbors()
    # kneighbors() without queries leaves each point itself out.
    score_of = dict(zip(unique, (distances ** 2 / 2).mean(axis=1)))
    scores = np.array([score_of[r] for r in representative])
    q1, q3 = np.percentile(scores[unique], [25, 75])
    fence = q3 + thresholds.iqr_factor * (q3 - q1)
    return [Finding(scan.paths[i], "outlier", float(scores[i]), label=scan.labels[i],
                    detail=f"distance {scores[i]:.3f} > fence {fence:.3f}")
            for i in np.flatnonzero(scores > fence)]
