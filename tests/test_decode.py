"""Decoding: parents, forests, the level iterator and its stopping rule."""

import numpy as np

from benchmarks.baselines import cosine_scorer
from sklearn_hilander._decode import (
    DistinctStart,
    canonical_labels,
    converged,
    decode,
    forest_components,
    iter_levels,
    select_parents,
)
from sklearn_hilander._level import GraphSearch

from .conftest import two_blobs


def test_parent_is_the_best_scoring_denser_neighbor_ties_by_index():
    indices = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    scores = np.array(
        [[0.9, 0.8, 0.95], [0.9, 0.2, 0.1], [0.6, 0.7, 0.1], [0.99, 0.99, 0.99]]
    )
    density = np.array([0.1, 0.5, 0.5, 0.2])
    parents = select_parents(indices, scores, density, threshold=0.5)
    # node 0: neighbor 3 scores best and is denser
    # node 1: nobody denser (node 2 ties but comes later), so it is a peak
    # node 2: ties with node 1, which comes first and so counts as denser
    # node 3: 1 and 2 are denser with equal scores; first in the list wins
    np.testing.assert_array_equal(parents, [3, -1, 1, 1])


def test_all_equal_densities_still_give_a_forest():
    indices = np.array([[1, 2], [2, 0], [0, 1]])
    parents = select_parents(indices, np.ones((3, 2)), np.zeros(3), threshold=0.5)
    # a strict order on (density, index): everyone joins node 0, no cycle
    np.testing.assert_array_equal(parents, [-1, 0, 0])


def test_threshold_is_strict_and_blocks_links():
    indices = np.array([[1], [0]])
    scores = np.array([[0.5], [0.5]])
    parents = select_parents(indices, scores, np.array([0.0, 1.0]), threshold=0.5)
    np.testing.assert_array_equal(parents, [-1, -1])


def test_forest_components_number_trees_by_root():
    parent = np.array([-1, 0, 1, -1, 3, 0])
    component, roots = forest_components(parent)
    np.testing.assert_array_equal(roots, [0, 3])
    np.testing.assert_array_equal(component, [0, 0, 0, 1, 1, 0])


def test_decode_separates_blobs_and_merges_over_levels():
    X, y = two_blobs()
    h = decode(X, cosine_scorer, threshold=0.5, search=GraphSearch(5, "cosine"))
    assert len(set(h.labels[y == 0]) & set(h.labels[y == 1])) == 0
    assert len(set(h.labels)) == 2
    assert h.n_clusters_per_level == sorted(h.n_clusters_per_level, reverse=True)
    # each cluster's peak is one of its members
    assert all(h.labels[p] == c for c, p in enumerate(h.peaks))


def test_decode_with_an_impossible_threshold_leaves_singletons():
    X, _ = two_blobs()
    h = decode(X, cosine_scorer, threshold=1.0, search=GraphSearch(5, "cosine"))
    assert h.n_levels == 0 and len(set(h.labels)) == len(X)


def test_max_levels_caps_the_hierarchy():
    X, _ = two_blobs(60)
    full = decode(
        X,
        cosine_scorer,
        threshold=0.0,
        search=GraphSearch(3, "cosine"),
        early_stopping=False,
    )
    one = decode(
        X, cosine_scorer, threshold=0.0, search=GraphSearch(3, "cosine"), max_levels=1
    )
    assert one.n_levels == 1 and full.n_levels > 1
    assert len(set(one.labels)) > len(set(full.labels))


def test_canonical_labels_ignore_row_order():
    X, _ = two_blobs()
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 7, len(X)) * 3 + 5
    perm = rng.permutation(len(X))
    a = canonical_labels(labels, X)
    b = canonical_labels(labels[perm], X[perm])
    np.testing.assert_array_equal(a[perm], b)
    assert set(a) == set(range(len(set(labels))))


def test_iter_levels_yields_each_scored_level_with_its_partition():
    X, y = two_blobs(40)
    levels = list(
        iter_levels(
            X,
            cosine_scorer,
            threshold=0.0,
            search=GraphSearch(3, "cosine"),
            early_stopping=False,
        )
    )
    assert [d.depth for d in levels] == list(range(len(levels)))
    assert levels[0].level.n_nodes == len(X)
    for before, after in zip(levels, levels[1:]):
        # each level's nodes are the clusters the level before left
        assert after.level.n_nodes == before.peaks.size
        np.testing.assert_array_equal(after.level.peak_rows, before.peaks)
    for d in levels:
        assert d.labels.shape == (len(X),)
        assert (d.labels[d.peaks] == np.arange(d.peaks.size)).all()


def test_converged_follows_the_link_ratio_and_the_linked_fraction():
    level = GraphSearch(5, "cosine").first_level(two_blobs(50)[0])
    # 100 nodes, k = 5: going on while links shrink by k - 1 = 4 or more
    # per level, converged once they shrink less ...
    assert not converged(20, 100.0, level)
    assert converged(30, 100.0, level)
    # ... or under 5% of the nodes, whatever came before
    assert converged(4, np.inf, level)
    assert not converged(10, np.inf, level)


def test_copies_share_a_cluster_and_decode_sees_each_row_once():
    X, _ = two_blobs(20)
    X = np.vstack([X, X[:5], X[:5]])
    start = DistinctStart.of(X, GraphSearch(5, "cosine"))
    assert start.level.n_nodes == 40
    h = decode(
        X, cosine_scorer, threshold=1.0, search=GraphSearch(5, "cosine"), start=start
    )
    # an impossible threshold links nothing, except copies, kept together
    np.testing.assert_array_equal(h.labels[40:45], h.labels[:5])
    np.testing.assert_array_equal(h.labels[45:], h.labels[:5])
    assert len(set(h.labels)) == 40
