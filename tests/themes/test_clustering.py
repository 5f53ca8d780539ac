"""numpy grouping: average linkage down to a threshold, and the adjusted Rand index."""

from __future__ import annotations

import numpy as np
import pytest

from bot.themes.clustering import adjusted_rand_index, average_linkage


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


def planted(sizes: list[int], noise: float = 0.05, seed: int = 3) -> tuple[np.ndarray, list[int]]:
    """Unit rows around len(sizes) orthogonal directions, `sizes[g]` rows for group g."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for group, size in enumerate(sizes):
        direction = np.zeros(16)
        direction[group] = 1.0
        for _ in range(size):
            row = direction + rng.normal(0, noise, 16)
            rows.append(row / np.linalg.norm(row))
            truth.append(group)
    return np.array(rows, dtype=np.float32), truth


@pytest.mark.parametrize(
    "sizes",
    [
        [5, 5, 5],  # three planted groups: three, not the old cap of eight
        [12, 3, 2],  # uneven sizes
        [4, 4, 4, 4, 4, 4, 4, 4, 4, 4],  # ten groups: no cap on how many there are
    ],
)
def test_planted_groups_are_found_whatever_their_number(sizes: list[int]) -> None:
    x, truth = planted(sizes)
    groups = average_linkage(x, 0.5)
    assert len(set(groups.tolist())) == len(sizes)
    assert adjusted_rand_index(truth, groups.tolist()) == 1.0


def test_a_row_like_no_other_stays_alone() -> None:
    x, _ = planted([5, 5])
    loner = np.zeros((1, 16), dtype=np.float32)
    loner[0, 9] = 1.0
    groups = average_linkage(np.vstack([x, loner]), 0.5)
    assert np.count_nonzero(groups == groups[-1]) == 1


def test_groups_are_numbered_by_their_first_row() -> None:
    x, _ = planted([3, 3])
    groups = average_linkage(x[[3, 0, 4, 1, 5, 2]], 0.5)
    assert groups.tolist() == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("n", [0, 1])
def test_nothing_to_group(n: int) -> None:
    assert average_linkage(np.ones((n, 4), dtype=np.float32) / 2, 0.5).tolist() == list(range(n))


def test_identical_rows_are_one_group() -> None:
    x = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (4, 1))
    assert average_linkage(x, 0.99).tolist() == [0, 0, 0, 0]
