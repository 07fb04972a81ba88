import numpy as np
import pytest

from sklearn_hilander import _graph
from sklearn_hilander._graph import (
    distinct_rows,
    euclidean_scale,
    knn_graph,
    normalize_rows,
    prepare_features,
)
from sklearn_hilander._level import PAIR_FEATURES, first_level


def _brute(X, k, metric):
    if metric == "cosine":
        S = X @ X.T
    else:
        S = -((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("block_rows, tile_columns", [(1024, 4096), (64, 45), (7, 4)])
def test_exact_search_matches_brute_force(
    metric, block_rows, tile_columns, monkeypatch
):
    # blocks and tiles that do not divide 300, tiles narrower than k, and a
    # block's own rows split across tiles
    monkeypatch.setattr(_graph, "EXACT_BLOCK_ROWS", block_rows)
    monkeypatch.setattr(_graph, "EXACT_TILE_COLUMNS", tile_columns)
    rng = np.random.RandomState(0)
    X = prepare_features(rng.randn(300, 8), metric, 2.0)
    indices, sims = knn_graph(X, 7, metric=metric)
    expected = _brute(X.astype(np.float64), 7, metric)
    # compare neighbor sets (ties are measure-zero with random data)
    assert all(set(a) == set(b) for a, b in zip(indices, expected))
    assert (np.diff(sims, axis=1) <= 1e-6).all()
    assert not (indices == np.arange(300)[:, None]).any()


def test_cosine_similarities_are_cosines():
    rng = np.random.RandomState(1)
    X = normalize_rows(rng.randn(50, 5))
    indices, sims = knn_graph(X, 4)
    np.testing.assert_allclose(
        sims, np.einsum("ij,ikj->ik", X, X[indices]), rtol=1e-5, atol=1e-6
    )


def test_euclidean_similarity_is_one_minus_half_squared_distance():
    rng = np.random.RandomState(2)
    raw = rng.randn(40, 3) * 10
    X = prepare_features(raw, "euclidean", euclidean_scale(raw))
    indices, sims = knn_graph(X, 3, metric="euclidean")
    d2 = ((X[:, None, :] - X[indices]) ** 2).sum(-1)
    np.testing.assert_allclose(sims, 1 - d2 / 2, rtol=1e-4, atol=1e-5)


def test_k_is_clipped_for_tiny_inputs():
    X = normalize_rows(np.eye(3) + 0.1)
    indices, sims = knn_graph(X, 10)
    assert indices.shape == (3, 2)


def test_self_excluded_even_with_duplicates():
    X = normalize_rows(np.ones((6, 4)))
    indices, _ = knn_graph(X, 3)
    assert not (indices == np.arange(6)[:, None]).any()


def test_approximate_search_is_deterministic_and_accurate(monkeypatch):
    monkeypatch.setattr(_graph, "EXACT_SEARCH_MAX_SAMPLES", 100)
    rng = np.random.RandomState(3)
    centres = normalize_rows(rng.randn(40, 16))
    X = normalize_rows(np.repeat(centres, 20, axis=0) + 0.1 * rng.randn(800, 16))
    a, sa = knn_graph(X, 5, random_state=0)
    b, sb = knn_graph(X, 5, random_state=0)
    np.testing.assert_array_equal(a, b)
    exact = _brute(X.astype(np.float64), 5, "cosine")
    recall = np.mean([len(set(u) & set(v)) / 5 for u, v in zip(a, exact)])
    assert recall > 0.95


def _distinct_by_sorting(X):
    """Reference: first row of each distinct content, by sorting whole rows."""
    _, keep, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(keep)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    return keep[order], position[inverse.ravel()]


def test_distinct_rows_finds_exact_copies_only():
    rng = np.random.RandomState(0)
    base = rng.standard_normal((50, 6)).astype(np.float32)
    X = base[rng.randint(0, 50, size=400)]
    X[7] = np.nextafter(X[7], np.float32(np.inf))  # one ulp away is not a copy
    keep, inverse = distinct_rows(X)
    expected_keep, expected_inverse = _distinct_by_sorting(X)
    np.testing.assert_array_equal(keep, expected_keep)
    np.testing.assert_array_equal(inverse, expected_inverse)
    np.testing.assert_array_equal(X[keep][inverse], X)


def test_distinct_rows_survives_a_hash_collision(monkeypatch):
    # every row hashing alike forces the byte-by-byte comparison
    monkeypatch.setattr(
        _graph, "_row_hashes", lambda words: np.zeros(len(words), dtype=np.uint64)
    )
    X = np.array([[1, 2], [3, 4], [1, 2], [5, 6]], dtype=np.float32)
    keep, inverse = distinct_rows(X)
    np.testing.assert_array_equal(keep, [0, 1, 3])
    np.testing.assert_array_equal(inverse, [0, 1, 0, 2])


@pytest.mark.parametrize("n_points", [0, 1])
def test_edge_inputs_without_neighbors_are_empty_not_errors(n_points):
    X = np.ones((n_points, 3), dtype=np.float32)
    level = first_level(X, n_neighbors=5, metric="cosine")
    assert level.n_neighbors == 0
    assert level.pair_features().shape == (n_points, 0, len(PAIR_FEATURES))
    np.testing.assert_array_equal(level.neighbor_mean, np.zeros((n_points, 3)))
