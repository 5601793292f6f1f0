"""Leakage: duplicate groups that straddle the split a trainer would make,
and overlap with another folder (--against)."""

import numpy as np

from ..datasets.folder import encode_labels
from ..datasets.split import tutorial_split
from .duplicates import near_pairs
from .findings import Finding


def trainer_split(scan, test_size, val_size, seed):
    """"train", "val" or "test" for each scanned image: the trainers' split
    (training.data.load_split), which runs over the readable images in the
    order find_dataset listed them with the same seed, as the scan did."""
    y, _ = encode_labels(scan.labels)
    train, val, test = tutorial_split(len(y), y, test_size, val_size, seed)
    parts = np.empty(len(y), dtype=object)
    parts[train], parts[val], parts[test] = "train", "val", "test"
    return parts


def leakage_findings(scan, groups, parts):
    """A row for each validation or test image with a copy in training;
    returns (findings, number of test images with a copy in training)."""
    findings, test_leaks = [], 0
    for group in groups:
        in_train = sorted((i for i in group if parts[i] == "train"), key=lambda i: scan.paths[i])
        if not in_train:
            continue
        for i in group:
            if parts[i] != "train":
                test_leaks += parts[i] == "test"
                findings.append(Finding(scan.paths[i], "leakage", 1.0 if parts[i] == "test" else 0.5,
                                        related=scan.paths[in_train[0]], label=scan.labels[i],
                                        detail=f"{parts[i]} image with {len(in_train)} cop"
                                               f"{'y' if len(in_train) == 1 else 'ies'} in train"))
    return findings, test_leaks


def overlap_findings(scan, other, thresholds):
    """A row for each image of `scan` with a duplicate among `other`'s
    (another Scan, of the --against folder)."""
    if not other.paths or not scan.paths:
        return []
    where = {d: j for j, d in enumerate(other.digests)}
    matches = {i: (where[d], "identical pixels") for i, d in enumerate(scan.digests) if d in where}
    for i, j in near_pairs(other, thresholds, query=scan):
        matches.setdefault(int(i), (int(j), "near copy"))
    return [Finding(scan.paths[i], "overlap", 1.0, related=other.paths[j], label=scan.labels[i],
                    detail=f"same photo ({how})") for i, (j, how) in sorted(matches.items())]
