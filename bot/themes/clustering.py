"""Grouping of unit-length answer vectors with numpy only: average-linkage agglomerative
clustering on cosine similarity, stopped at a similarity threshold, so the number of groups
follows the answers (answers like no other stay alone) instead of a fixed or capped k. Also the
adjusted Rand index the bench uses to compare a grouping with human labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]
Labels = NDArray[np.int64]


def average_linkage(x: Vectors, threshold: float) -> Labels:
    """Group rows by repeatedly merging the two groups whose mean pairwise cosine similarity is
    highest, while it is at least `threshold`. Returns each row's group, numbered by the group's
    first row. Ties go to the lowest row numbers, so the same rows in the same order always give
    the same groups (callers put rows in a canonical order first). The similarity of a merged
    group to another is the size-weighted mean of its parts' (Lance-Williams for average
    linkage), so each merge costs one pass over the matrix: ~50 ms for 500 rows."""
    n = x.shape[0]
    group = np.arange(n, dtype=np.int64)
    if n < 2:
        return group
    similarity = (x @ x.T).astype(np.float64)
    np.fill_diagonal(similarity, -np.inf)
    sizes = np.ones(n, dtype=np.float64)
    while True:
        flat = int(np.argmax(similarity))
        first, second = divmod(flat, n)
        if similarity[first, second] < threshold:
            break
        keep, gone = min(first, second), max(first, second)
        merged = (sizes[keep] * similarity[keep] + sizes[gone] * similarity[gone]) / (
            sizes[keep] + sizes[gone]
        )
        similarity[keep, :] = merged
        similarity[:, keep] = merged
        similarity[gone, :] = -np.inf
        similarity[:, gone] = -np.inf
        similarity[keep, keep] = -np.inf
        sizes[keep] += sizes[gone]
        group[group == gone] = keep
    return group


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
