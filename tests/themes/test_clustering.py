"""numpy clustering: the adjusted Rand index, the k range, and k-means on obvious groups."""

from __future__ import annotations

import numpy as np
import pytest

from bot.themes.clustering import (
    adjusted_rand_index,
    cluster_vectors,
    k_candidates,
    silhouette_cosine,
    spherical_kmeans,
)


@pytest.mark.parametrize(
    ("truth", "predicted", "expected"),
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),  # the same partition
        ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),  # the same partition, other names
        (["a", "a", "b", "b"], [5, 5, 7, 7], 1.0),  # labels of any type
        ([0, 0, 1, 1], [0, 0, 1, 2], 4 / 7),  # one group split (0.5714…, as scikit-learn gives)
        ([0, 0, 0, 0], [0, 1, 2, 3], 0.0),  # all-in-one against all-apart
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),  # worse than chance
    ],
)
def test_adjusted_rand_index(truth: list[object], predicted: list[object], expected: float) -> None:
    assert adjusted_rand_index(truth, predicted) == pytest.approx(expected)


def test_adjusted_rand_index_needs_the_same_items() -> None:
    with pytest.raises(ValueError, match="same items"):
        adjusted_rand_index([0, 1], [0, 1, 1])


@pytest.mark.parametrize(
    ("n", "ks"),
    [
        (4, [2]),  # few answers: still two clusters to try
        (6, [2]),  # n // 3 = 2
        (12, [2, 3, 4]),  # n // 3 = 4
        (30, [2, 3, 4, 5, 6, 7, 8]),  # capped at 8
        (500, [2, 3, 4, 5, 6, 7, 8]),  # capped at 8
    ],
)
def test_k_candidates(n: int, ks: list[int]) -> None:
    assert list(k_candidates(n)) == ks


def blobs(sizes: list[int], seed: int = 3) -> tuple[np.ndarray, list[int]]:
    """Unit vectors scattered tightly around len(sizes) random directions in 32 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), 32))
    rows, labels = [], []
    for label, size in enumerate(sizes):
        rows.append(centres[label] + 0.15 * rng.normal(size=(size, 32)))
        labels += [label] * size
    x = np.vstack(rows)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


@pytest.mark.parametrize(
    "sizes",
    [
        [5, 5, 5],  # three equal groups
        [10, 4, 6, 5],  # four unequal groups
        [3, 3],  # two small groups
    ],
)
def test_obvious_groups_are_found_with_k_chosen(sizes: list[int]) -> None:
    x, labels = blobs(sizes)
    clustering = cluster_vectors(x)
    assert clustering.k == len(sizes)
    assert adjusted_rand_index(labels, clustering.assignment.tolist()) == pytest.approx(1.0)


def test_kmeans_is_deterministic_and_fills_every_cluster() -> None:
    x, _ = blobs([6, 6, 6])
    first, _ = spherical_kmeans(x, 5)
    second, _ = spherical_kmeans(x, 5)
    assert first.tolist() == second.tolist()
    assert sorted(set(first.tolist())) == [0, 1, 2, 3, 4]


def test_kmeans_copes_with_identical_rows() -> None:
    x = np.tile(np.array([[1.0, 0.0, 0.0]], dtype=np.float32), (6, 1))
    assignment, _ = spherical_kmeans(x, 3)
    assert sorted(set(assignment.tolist())) == [0, 1, 2]
    assert silhouette_cosine(x, assignment) == pytest.approx(0.0)


def test_silhouette_prefers_the_true_grouping() -> None:
    x, labels = blobs([5, 5, 5])
    true = np.array(labels, dtype=np.int64)
    shuffled = np.array([0, 1, 2] * 5, dtype=np.int64)
    assert silhouette_cosine(x, true) > 0.5 > silhouette_cosine(x, shuffled)
