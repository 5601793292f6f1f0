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


def hash_distance(a, a_mirror, b):
    """Bits apart of pHashes `a` and `b` (rows), the mirror image of `a`
    counted too: the smaller of the two."""
    return np.minimum(np.count_nonzero(a != b, axis=-1), np.count_nonzero(a_mirror != b, axis=-1))


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


def near_pairs(scan, thresholds, query=None):
    """(i, j) pairs of near copies: query image i (default: the scan
    itself) and indexed image j of `scan`.

    With features, both signals must agree: pHashes at most
    `hash_distance` apart and features at cosine `feature_agree` or more,
    or features at `feature_similarity` or more with pHashes at most
    `hash_limit` apart (a crop moves the hash; unrelated images, or noise
    frames, sit about 32 bits apart). Either signal alone made false pairs
    on Animals: mirrored hashes of a white dog and a panda 10 bits apart,
    look-alike pandas at cosine 0.93 (BENCHMARKS.md). Without features
    (--fast) the hashes alone, at `fast_hash_distance`. Images with almost
    no information (flat frames, whose hash is noise) pair only exactly."""
    t = thresholds
    query = scan if query is None else query
    if not len(scan.paths) or not len(query.paths):
        return np.empty((0, 2), dtype=np.int64)
    if scan.features is None or query.features is None:
        pairs = hash_pairs(scan.hashes, scan.mirror_hashes, t.fast_hash_distance,
                           query.hashes, query.mirror_hashes)
    else:
        k = min(FEATURE_NEIGHBOURS + 1, len(scan.features))
        with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
            distances, found = NearestNeighbors(n_neighbors=k).fit(scan.features).kneighbors(query.features)
        similarity = 1 - distances ** 2 / 2  # for unit vectors |a - b|^2 = 2 - 2 cos(a, b)
        rows = np.repeat(np.arange(len(query.features))[:, None], k, axis=1)
        keep = similarity >= min(t.feature_agree, t.feature_similarity)
        rows, found, similarity = rows[keep], found[keep], similarity[keep]
        bits = hash_distance(query.hashes[rows], query.mirror_hashes[rows], scan.hashes[found])
        agree = ((bits <= t.hash_distance) & (similarity >= t.feature_agree)) \
            | ((similarity >= t.feature_similarity) & (bits <= t.hash_limit))
        pairs = np.column_stack([rows[agree], found[agree]]).astype(np.int64)
    informative = lambda s: s.stats["entropy"] >= t.entropy
    return pairs[informative(query)[pairs[:, 0]] & informative(scan)[pairs[:, 1]]] if len(pairs) else pairs


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
    pairs = [exact_pairs(scan.digests), near_pairs(scan, thresholds)]
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
            mirrored = int(hash_distance(scan.hashes[keep], scan.mirror_hashes[keep], scan.hashes[i]))
            findings.append(Finding(
                scan.paths[i], "exact_duplicate" if exact else "near_duplicate",
                1.0 if exact else 1 - mirrored / 64, related=scan.paths[keep],
                label=scan.labels[i],
                detail=f"group of {len(group)}" + ("" if exact else f"; pHash distance {mirrored}"
                                                   + (" (mirrored)" if mirrored < distance else ""))))
        labels = {scan.labels[i] for i in group}
        if len(labels) > 1:
            for i in group:
                other = next(j for j in group if scan.labels[j] != scan.labels[i])
                findings.append(Finding(scan.paths[i], "conflict", float(len(labels)),
                                        related=scan.paths[other], label=scan.labels[i],
                                        detail="group labels: " + ", ".join(sorted(labels))))
    return findings
