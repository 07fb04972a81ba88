"""Memory stays bounded by blocks: no per-edge copy of feature rows.

A million 128-d points with 10 neighbors have 10 million edges; gathering
the feature rows of every edge at once would take 5 GiB. These tests build a
level large enough that such a gather would dominate, and check with
tracemalloc (numpy reports its allocations to it) that the peak stays far
below it.
"""

import tracemalloc

import numpy as np
import pytest

from sklearn_hilander._decode import canonical_labels
from sklearn_hilander._graph import (
    euclidean_scale,
    neighbor_similarity,
    normalize_rows,
    pair_similarity,
)
from sklearn_hilander._level import Level, next_level

N_SAMPLES, N_FEATURES, N_NEIGHBORS = 20_000, 256, 32
# what gathering one feature row per edge would allocate
PER_EDGE_GATHER = N_SAMPLES * N_NEIGHBORS * N_FEATURES * 4


@pytest.fixture(scope="module")
def level():
    rng = np.random.RandomState(0)
    X = normalize_rows(rng.standard_normal((N_SAMPLES, N_FEATURES)))
    # a random graph is enough: the cost does not depend on who the neighbors are
    indices = rng.randint(0, N_SAMPLES, size=(N_SAMPLES, N_NEIGHBORS))
    sims = -np.sort(-rng.uniform(0, 1, size=(N_SAMPLES, N_NEIGHBORS)), axis=1)
    ones = np.ones(N_SAMPLES, dtype=np.float32)
    return Level(
        peak_features=X,
        cluster_mean=X,
        size=ones,
        cohesion=ones,
        indices=indices,
        similarities=sims.astype(np.float32),
        metric="cosine",
        peak_rows=np.arange(N_SAMPLES),
    )


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "step",
    [
        "pair_features",
        "node_descriptors",
        "coordinate_inputs",
        "pair_similarity",
        "neighbor_similarity",
    ],
)
def test_level_inputs_are_computed_in_blocks(level, step):
    def run():
        if step == "pair_similarity":
            rows = np.repeat(np.arange(N_SAMPLES), N_NEIGHBORS)
            pair_similarity(level.peak_features, rows, level.indices.ravel())
        elif step == "neighbor_similarity":
            neighbor_similarity(level.peak_features, level.indices, "euclidean")
        else:
            getattr(level, step)()

    # the outputs themselves are allowed, and a few (n, d) arrays; not (n, k, d)
    assert _peak_bytes(run) < PER_EDGE_GATHER / 3


def test_next_level_and_labels_stay_within_a_few_copies_of_the_data(level):
    X = level.peak_features
    labels = np.arange(N_SAMPLES) // 4
    peaks = np.arange(0, N_SAMPLES, 4)

    def run():
        next_level(X, labels, peaks, n_neighbors=5, metric="cosine")
        canonical_labels(labels, X)
        euclidean_scale(X)

    # float64 copies of X would alone be 2 * X.nbytes each
    assert _peak_bytes(run) < 4 * X.nbytes


def test_blocked_results_match_a_direct_computation(level):
    rows = np.repeat(np.arange(N_SAMPLES), N_NEIGHBORS)
    cols = level.indices.ravel()
    X = level.peak_features
    direct = np.einsum("ij,ij->i", X[rows[:5000]], X[cols[:5000]])
    np.testing.assert_allclose(
        pair_similarity(X, rows, cols)[:5000], direct, rtol=1e-5, atol=1e-6
    )
    for metric in ("cosine", "euclidean"):
        np.testing.assert_allclose(
            neighbor_similarity(X, level.indices, metric).ravel()[:5000],
            pair_similarity(X, rows[:5000], cols[:5000], metric),
            rtol=1e-5,
            atol=1e-5,
        )
    weights = level.affinity
    direct_mean = np.einsum("ik,ikd->id", weights[:300], X[level.indices[:300]])
    np.testing.assert_allclose(
        level._aggregate(X)[:300], direct_mean, rtol=1e-5, atol=1e-6
    )
    centred = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    assert euclidean_scale(X) == pytest.approx(
        np.sqrt(np.mean(np.sum(centred**2, axis=1)))
    )
