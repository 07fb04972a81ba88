"""Level inputs: the value of every pair feature and node descriptor on a
hand-built graph, and the registries' contract."""

import numpy as np
import pytest

from sklearn_hilander._level import (
    NODE_DESCRIPTORS,
    PAIR_FEATURES,
    GraphSearch,
    Level,
    next_level,
)


def _square():
    """Four unit points on a circle at 0, 30, 90 and 180 degrees, k = 2.

    Cosines: 0-1 0.866, 0-2 0, 0-3 -1, 1-2 0.5, 1-3 -0.866, 2-3 0.
    """
    angles = np.radians([0.0, 30.0, 90.0, 180.0])
    X = np.column_stack([np.cos(angles), np.sin(angles)]).astype(np.float32)
    return X, GraphSearch(2, "cosine").first_level(X)


def test_hand_built_graph_is_what_the_values_below_assume():
    _, level = _square()
    np.testing.assert_array_equal(level.indices, [[1, 2], [0, 2], [1, 3], [2, 1]])
    np.testing.assert_allclose(
        level.similarities,
        [[0.866, 0.0], [0.866, 0.5], [0.5, 0.0], [0.0, -0.866]],
        atol=1e-3,
    )


def test_pair_feature_values():
    _, level = _square()
    pair = level.pair_features()
    assert pair.shape == (4, 2, len(PAIR_FEATURES))
    col = {name: pair[..., i] for i, name in enumerate(PAIR_FEATURES)}
    s = level.similarities
    mean = s.mean(axis=1)
    np.testing.assert_allclose(col["similarity"], s)
    np.testing.assert_allclose(col["gap_to_nearest"][:, 0], 0)
    np.testing.assert_allclose(col["gap_to_nearest"][0, 1], -0.866, atol=1e-3)
    np.testing.assert_allclose(col["above_centre_mean"], s - mean[:, None])
    np.testing.assert_allclose(col["above_neighbor_mean"], s - mean[level.indices])
    np.testing.assert_allclose(col["rank"], [[0, 0.5]] * 4)
    # node 0 lists 1 then 2; node 1 lists 0 first (rank 0), node 2 does not
    # list 0 at all (k / k = 1)
    np.testing.assert_allclose(col["reverse_rank"][0], [0.0, 1.0])
    # node 3 lists 2 then 1; node 2 lists 3 second, node 1 does not list 3
    np.testing.assert_allclose(col["reverse_rank"][3], [0.5, 1.0])
    # shared neighbors with self over k + 1: {0,1,2} and {1,0,2} share 3
    np.testing.assert_allclose(col["shared_neighbors"][0, 0], 1.0)
    # {0,1,2} and {2,1,3} share 1 and 2
    np.testing.assert_allclose(col["shared_neighbors"][0, 1], 2 / 3)
    # at level 0 the cluster means are the points themselves
    np.testing.assert_allclose(col["cluster_similarity"], s)
    assert np.all(np.abs(col["smoothed_similarity"]) <= 1 + 1e-6)


def test_shared_neighbors_count_the_common_entries_of_two_lists():
    # many nodes and a wide graph, so the count runs over several row blocks
    X = np.random.default_rng(0).normal(size=(1000, 8)).astype(np.float32)
    k = 30
    level = GraphSearch(k, "cosine", random_state=0).first_level(X)
    column = list(PAIR_FEATURES).index("shared_neighbors")
    shared = level.pair_features()[..., column] * (k + 1)
    lists = [{i, *level.indices[i]} for i in range(X.shape[0])]
    expected = [
        [len(lists[i] & lists[j]) for j in level.indices[i]] for i in range(X.shape[0])
    ]
    np.testing.assert_allclose(shared, expected, atol=1e-4)


def test_node_descriptor_values():
    _, level = _square()
    own = level.node_descriptors()[:, : len(NODE_DESCRIPTORS)]
    col = {name: own[:, i] for i, name in enumerate(NODE_DESCRIPTORS)}
    s = level.similarities
    np.testing.assert_allclose(col["mean_similarity"], s.mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(col["nearest_similarity"], s[:, 0])
    np.testing.assert_allclose(col["farthest_similarity"], s[:, -1])
    np.testing.assert_allclose(col["similarity_spread"], s.std(axis=1), atol=1e-6)
    # in-degrees: 0 <- 1; 1 <- 0, 2, 3; 2 <- 0, 1, 3; 3 <- 2; over k = 2
    np.testing.assert_allclose(col["in_degree"], [0.5, 1.5, 1.5, 0.5])
    np.testing.assert_allclose(col["log_size"], 0)
    np.testing.assert_allclose(col["cohesion"], 1)
    # every point is its own cluster mean at level 0
    np.testing.assert_allclose(col["similarity_to_cluster_mean"], 1, atol=1e-6)


def test_supernodes_carry_cluster_means_sizes_and_peaks():
    X, _ = _square()
    labels = np.array([0, 0, 1, 1])
    peaks = np.array([1, 2])
    level = next_level(X, labels, peaks, n_neighbors=1, metric="cosine")
    assert isinstance(level, Level)
    np.testing.assert_array_equal(level.size, [2, 2])
    np.testing.assert_array_equal(level.peak_rows, peaks)
    np.testing.assert_allclose(level.peak_features, X[peaks])
    np.testing.assert_allclose(level.cluster_mean, [X[:2].mean(0), X[2:].mean(0)])
    # cohesion: mean dot product of the members with their (unscaled) mean,
    # whose norm is cos 15 degrees, 15 degrees from each member
    np.testing.assert_allclose(
        level.cohesion[0], np.cos(np.radians(15)) ** 2, atol=1e-5
    )


@pytest.mark.parametrize("registry", [PAIR_FEATURES, NODE_DESCRIPTORS])
def test_registries_have_unique_identifier_names(registry):
    assert all(name.isidentifier() for name in registry)
    assert len(set(registry)) == len(registry)
