"""Exact and near duplicates, in groups, and the groups filed under more
than one label (conflicts).

No N x N matrix: exact copies are grouped by their pixel digest (a dict),
near copies come from scikit-learn's NearestNeighbors (radius queries on
the 64-bit pHashes, k-nearest on the features), whose brute-force search
computes distances a block of rows at a time; the pairs found are joined
into groups with scipy's connected components."""

import numpy as np
import sklearn
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors

from .findings import Finding

FEATURE_NEIGHBOURS = 10
# Distance blocks of at most this many MB (scikit-learn's default is 1 GB,
# which would dominate the peak memory of a large check).
WORKING_MEMORY_MB = 64


def hash_pairs(hashes, mirror_hashes, max_distance, queries=None, query_mirrors=None):
    """(i, j) pairs: query i's pHash, or its mirror image's, within
    `max_distance` bits of indexed image j. Without queries, the images
    against themselves."""
    queries = hashes if queries is None else queries
    query_mirrors = mirror_hashes if query_mirrors is None else query_mirrors
    if not len(hashes) or not len(queries):
        return np.empty((0, 2), dtype=np.int64)
    index = NearestNeighbors(radius=(max_distance + 0.5) / 64, metric="hamming").fit(hashes)
    pairs = []
    for q in (queries, query_mirrors):
        with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
            found = index.radius_neighbors(q, return_distance=False)
        rows = np.repeat(np.arange(len(q)), [len(f) for f in found])
        pairs.append(np.column_stack([rows, np.concatenate(found) if len(found) else []]))
    return np.concatenate(pairs).astype(np.int64)


def feature_pairs(features, min_similarity, queries=None, neighbours=FEATURE_NEIGHBOURS):
    """(i, j) pairs whose L2-normalised features have cosine similarity at
    least `min_similarity`, among each query's nearest `neighbours`."""
    if features is None or not len(features):
        return np.empty((0, 2), dtype=np.int64)
    queries = features if queries is None else queries
    k = min(neighbours + 1, len(features))
    with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
        distances, found = NearestNeighbors(n_neighbors=k).fit(features).kneighbors(queries)
    # For unit vectors, |a - b|^2 = 2 - 2 cos(a, b).
    close = 1 - distances ** 2 / 2 >= min_similarity
    rows = np.repeat(np.arange(len(queries))[:, None], k, axis=1)
    return np.column_stack([rows[close], found[close]]).astype(np.int64)


def group_pairs(n, pairs):
    """Connected components of the pairs: a list of index lists (ascending),
    groups of two or more only, ordered by their first member."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]] if len(pairs) else pairs
    if not len(pairs):
        return []
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    members = {}
    for i, c in enumerate(component):
        members.setdefault(c, []).append(i)
    return sorted((m for m in members.values() if len(m) > 1), key=lambda m: m[0])


def exact_pairs(digests):
    first = {}
    pairs = []
    for i, digest in enumerate(digests):
        if digest in first:
            pairs.append((first[digest], i))
        else:
            first[digest] = i
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def find_groups(scan, thresholds):
    """Duplicate groups of the scanned images (exact and near together)."""
    pairs = [exact_pairs(scan.digests),
             hash_pairs(scan.hashes, scan.mirror_hashes, thresholds.hash_distance)]
    if scan.features is not None:
        pairs.append(feature_pairs(scan.features, thresholds.feature_similarity))
    return group_pairs(len(scan.paths), np.concatenate(pairs))


def duplicate_findings(scan, groups):
    """Rows for the copies beyond the first of each group (the first in
    sorted path order is the one to keep), and for every member of a group
    with more than one label."""
    findings = []
    for group in groups:
        group = sorted(group, key=lambda i: scan.paths[i])
        keep = group[0]
        for i in group[1:]:
            exact = scan.digests[i] == scan.digests[keep]
            distance = int(np.count_nonzero(scan.hashes[i] != scan.hashes[keep]))
            mirrored = int(np.count_nonzero(scan.mirror_hashes[i] != scan.hashes[keep]))
            findings.append(Finding(
                scan.paths[i], "exact_duplicate" if exact else "near_duplicate",
                1.0 if exact else 1 - min(distance, mirrored) / 64, related=scan.paths[keep],
                label=scan.labels[i],
                detail=f"group of {len(group)}" + ("" if exact else f"; pHash distance {min(distance, mirrored)}"
                                                   + (" (mirrored)" if mirrored < distance else ""))))
        labels = {scan.labels[i] for i in group}
        if len(labels) > 1:
            for i in group:
                other = next(j for j in group if scan.labels[j] != scan.labels[i])
                findings.append(Finding(scan.paths[i], "conflict", float(len(labels)),
                                        related=scan.paths[other], label=scan.labels[i],
                                        detail="group labels: " + ", ".join(sorted(labels))))
    return findings
