"""Clustering of unit-length answer vectors with numpy only: the vectors are centred and projected
on their top principal components, then spherical k-means (k-means++ seeding, fixed seed) runs
for each candidate k and the silhouette on cosine distance picks k. Also the adjusted Rand index
the bench uses to compare a clustering with human labels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SEED = 20240611
RESTARTS = 10
MAX_ITERATIONS = 100
MAX_K = 8
# Sentence embeddings of short answers have almost no cluster structure in all 384 dimensions
# (silhouette ~0.05 for every k, so it cannot choose k); on the top 10 principal components
# k-means agrees with human topics better (bench ARI ~0.25 vs ~0.15) and the silhouette has a
# usable slope. 8 to 12 components do about as well on the bench.
PROJECTED_DIMENSIONS = 10
# A larger k must beat a smaller one by more than this share of the best silhouette.
SILHOUETTE_TOLERANCE = 0.01

Vectors = NDArray[np.float32]
Labels = NDArray[np.int64]


@dataclass(frozen=True)
class Clustering:
    assignment: Labels  # cluster number of each row, 0..k-1
    k: int
    silhouette: float  # in the projected space, where k-means ran


def _normalised(x: NDArray[np.floating]) -> Vectors:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _one_hot(assignment: Labels, k: int) -> NDArray[np.float32]:
    membership = np.zeros((assignment.shape[0], k), dtype=np.float32)
    membership[np.arange(assignment.shape[0]), assignment] = 1.0
    return membership


def _seed_centroids(x: Vectors, k: int, rng: np.random.Generator) -> Vectors:
    """k-means++: each next seed drawn with probability proportional to its squared euclidean
    distance from the nearest seed so far (for unit vectors, 2 - 2·cosine)."""
    n = x.shape[0]
    chosen = [int(rng.integers(n))]
    nearest = np.maximum(2.0 - 2.0 * (x @ x[chosen[0]]), 0.0).astype(np.float64)
    for _ in range(1, k):
        total = float(nearest.sum())
        if total <= 0.0:
            # Every row already sits on a seed (duplicates): take the first unused rows.
            unused = [row for row in range(n) if row not in chosen]
            chosen.append(unused[0])
        else:
            chosen.append(int(rng.choice(n, p=nearest / total)))
        distance = np.maximum(2.0 - 2.0 * (x @ x[chosen[-1]]), 0.0)
        nearest = np.minimum(nearest, distance)
    return x[chosen].copy()


def spherical_kmeans(
    x: Vectors, k: int, *, seed: int = SEED, restarts: int = RESTARTS
) -> tuple[Labels, Vectors]:
    """The best of `restarts` runs (highest total cosine to the assigned centroid). Empty
    clusters are refilled with the row farthest from its centroid, so every cluster has rows."""
    rng = np.random.default_rng(seed)
    best: tuple[float, Labels, Vectors] | None = None
    for _ in range(restarts):
        centroids = _seed_centroids(x, k, rng)
        assignment = np.full(x.shape[0], -1, dtype=np.int64)
        for _ in range(MAX_ITERATIONS):
            similarity = x @ centroids.T
            updated = np.argmax(similarity, axis=1).astype(np.int64)
            for cluster in np.flatnonzero(np.bincount(updated, minlength=k) == 0):
                fit = similarity[np.arange(x.shape[0]), updated]
                donors = np.bincount(updated, minlength=k)[updated] > 1
                updated[int(np.argmin(np.where(donors, fit, np.inf)))] = cluster
            if np.array_equal(updated, assignment):
                break
            assignment = updated
            centroids = _normalised(_one_hot(assignment, k).T @ x)
        fit_total = float(np.sum((x @ centroids.T)[np.arange(x.shape[0]), assignment]))
        if best is None or fit_total > best[0] + 1e-9:
            best = (fit_total, assignment, centroids)
    assert best is not None
    return best[1], best[2]


def silhouette_cosine(x: Vectors, assignment: Labels) -> float:
    """Mean silhouette with cosine distance; rows alone in their cluster count 0."""
    k = int(assignment.max()) + 1
    if k < 2:
        return 0.0
    distance = np.maximum(1.0 - (x @ x.T).astype(np.float64), 0.0)
    membership = np.zeros((x.shape[0], k), dtype=np.float64)
    membership[np.arange(x.shape[0]), assignment] = 1.0
    sizes = membership.sum(axis=0)
    totals = distance @ membership
    own_size = sizes[assignment]
    rows = np.arange(x.shape[0])
    within = totals[rows, assignment] / np.maximum(own_size - 1, 1)
    mean_to = totals / np.maximum(sizes, 1)
    mean_to[rows, assignment] = np.inf
    mean_to[:, sizes == 0] = np.inf
    nearest_other = mean_to.min(axis=1)
    denominator = np.maximum(within, nearest_other)
    score = np.where(
        denominator > 0, (nearest_other - within) / np.where(denominator > 0, denominator, 1), 0.0
    )
    score = np.where(own_size > 1, score, 0.0)
    return float(score.mean())


def project(x: Vectors, dimensions: int = PROJECTED_DIMENSIONS, *, seed: int = SEED) -> Vectors:
    """Rows centred on their mean, expressed on their top principal components and scaled back
    to unit length. The components come from a seeded randomized SVD (a few power iterations of
    a random subspace), which is exact for small sets and far cheaper than a full SVD of a wide
    TF-IDF matrix. A component's arbitrary sign changes no cosine, so no clustering."""
    centred = x.astype(np.float64) - x.mean(axis=0, keepdims=True)
    n, d = centred.shape
    keep = max(1, min(dimensions, n - 1, d))
    width = min(keep + 10, n, d)
    rng = np.random.default_rng(seed)
    basis = centred @ rng.standard_normal((d, width))
    for _ in range(4):
        basis, _ = np.linalg.qr(basis)
        basis = centred @ (centred.T @ basis)
    basis, _ = np.linalg.qr(basis)
    left, singular, _ = np.linalg.svd(basis.T @ centred, full_matrices=False)
    return _normalised((basis @ left[:, :keep]) * singular[:keep])


def k_candidates(n: int) -> range:
    """k from 2 to min(8, n // 3), and at least k = 2 (never more clusters than rows - 1)."""
    return range(2, max(2, min(MAX_K, n // 3, n - 1)) + 1)


def cluster_vectors(x: Vectors, *, k: int | None = None, seed: int = SEED) -> Clustering:
    """Cluster unit rows (after `project`). With `k` None, try every k of `k_candidates` and keep
    the smallest whose silhouette is within SILHOUETTE_TOLERANCE (1 %) of the best: more clusters
    must be clearly better, not better by noise (tiny answer sets otherwise split in two)."""
    projected = project(x)
    candidates: Iterable[int] = k_candidates(x.shape[0]) if k is None else (k,)
    tried = []
    for candidate in candidates:
        assignment, _ = spherical_kmeans(projected, candidate, seed=seed)
        tried.append(Clustering(assignment, candidate, silhouette_cosine(projected, assignment)))
    best = max(clustering.silhouette for clustering in tried)
    good_enough = best - SILHOUETTE_TOLERANCE * abs(best)
    return next(c for c in tried if c.silhouette >= good_enough)


def adjusted_rand_index(truth: Sequence[object], predicted: Sequence[object]) -> float:
    """Hubert and Arabie's adjusted Rand index of two labellings of the same items: 1 for the
    same partition, about 0 for chance agreement."""
    if len(truth) != len(predicted):
        raise ValueError("both labellings must cover the same items")
    _, truth_codes = np.unique(np.asarray(truth, dtype=object).astype(str), return_inverse=True)
    _, predicted_codes = np.unique(
        np.asarray(predicted, dtype=object).astype(str), return_inverse=True
    )
    table = np.zeros((truth_codes.max() + 1, predicted_codes.max() + 1), dtype=np.float64)
    np.add.at(table, (truth_codes, predicted_codes), 1.0)

    def pairs(counts: NDArray[np.float64]) -> float:
        return float(np.sum(counts * (counts - 1.0) / 2.0))

    index = pairs(table)
    truth_pairs = pairs(table.sum(axis=1))
    predicted_pairs = pairs(table.sum(axis=0))
    total = len(truth) * (len(truth) - 1) / 2.0
    expected = truth_pairs * predicted_pairs / total if total else 0.0
    maximum = (truth_pairs + predicted_pairs) / 2.0
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
