"""Decoding: parents, forests, the level iterator and its stopping rule."""

from dataclasses import replace
from functools import partial
from unittest import mock

import numpy as np
from scipy import sparse
from sklearn.metrics import adjusted_rand_score

from benchmarks.baselines import cosine_scorer
from sklearn_hilander import _decode
from sklearn_hilander._decode import (
    MIN_GAIN,
    DistinctStart,
    _merge_pairs,
    _move_nodes,
    canonical_labels,
    converged,
    decode,
    forest_components,
    iter_levels,
    merge_clusters,
    point_links,
    point_weights,
    select_parents,
)
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score

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


# ------------------------------------------------------------------ merging
def _graph(edges, n, k):
    """kNN lists (n, k) and scores from {(node, neighbor): score}; unlisted
    slots point to the node itself with score 0 (links inside a cluster
    are ignored by the merge)."""
    indices = np.tile(np.arange(n)[:, None], (1, k))
    scores = np.zeros((n, k))
    filled = np.zeros(n, dtype=int)
    for (i, j), p in edges.items():
        indices[i, filled[i]], scores[i, filled[i]] = j, p
        filled[i] += 1
    return indices, scores


def test_merge_uses_the_average_link_per_pair_of_points():
    # clusters {0, 1} (linked both ways) and {2}: node 2 links to 0 and 1
    # with 0.9 each, and 0 links back to 2 with 0.6: summed 2.4 over the
    # product of the two clusters' weights
    edges = {(0, 1): 1.0, (1, 0): 1.0, (2, 0): 0.9, (2, 1): 0.9, (0, 2): 0.6}
    indices, scores = _graph(edges, 3, 2)
    links = point_links(indices, scores)
    assert np.isclose(links[0, 2], 1.5) and np.isclose(links[2, 0], 1.5)
    assert np.isclose(links[1, 2], 0.9) and np.isclose(links[0, 1], 2.0)
    weights = point_weights(np.asarray(links.sum(axis=1)).ravel())
    linkage = 2.4 / (weights[:2].sum() * weights[2])
    labels = np.array([0, 0, 1])
    below, above = linkage - 0.01, linkage + 0.01
    assert np.array_equal(merge_clusters(indices, scores, labels, below), [0, 0, 0])
    assert np.array_equal(merge_clusters(indices, scores, labels, above), [0, 0, 1])
    # inf changes nothing, and labels come back numbered from 0
    assert np.array_equal(
        merge_clusters(indices, scores, np.array([5, 5, 9]), np.inf), [0, 0, 1]
    )


def test_point_weights_grow_with_link_strength_and_average_about_one():
    strength = np.array([0.0, 0.5, 2.0, 4.0, 8.0])
    weights = point_weights(strength)
    assert np.all(np.diff(weights) > 0) and weights[0] > 0
    assert np.allclose(weights[1:], np.sqrt(strength[1:] / strength.mean()))
    # nothing linked anywhere: every point weighs 1
    assert np.array_equal(point_weights(np.zeros(3)), np.ones(3))


def test_merge_lets_a_weakly_linked_point_join_cheaply():
    # a ring of six points linked with 0.9, and a stray point linked to two
    # of them with 0.1 each (0.2 in all). Weighing 1 like the ring's points,
    # it would pay 0.05 x 6 = 0.3 to join at threshold 0.05 and stand
    # alone; weighing sqrt(0.2 / mean strength), it pays about 0.11 and joins
    edges = {(i, (i + 1) % 6): 0.9 for i in range(6)}
    edges.update({(6, 0): 0.1, (6, 1): 0.1})
    indices, scores = _graph(edges, 7, 2)
    labels = np.r_[np.zeros(6, int), 1]
    joined = merge_clusters(indices, scores, labels, 0.05)
    assert np.unique(joined).size == 1
    with mock.patch.object(
        _decode, "point_weights", lambda strength: np.ones(strength.size)
    ):
        assert np.unique(merge_clusters(indices, scores, labels, 0.05)).size == 2
    # at twice the threshold (about 0.22 to pay) it stands alone
    assert np.unique(merge_clusters(indices, scores, labels, 0.1)).size == 2


def test_merge_keeps_two_large_clusters_that_touch_at_a_boundary():
    # two clusters of 50 joined by one strong edge, and a fragment of 2
    # whose points link into the first cluster strongly
    n = 102
    edges = {(0, 50): 0.99, (100, 1): 0.9, (100, 2): 0.9, (101, 3): 0.9}
    # each large cluster is a ring of strong links, the fragment a pair
    edges.update({(i, (i + 1) % 50): 0.9 for i in range(50)})
    edges.update({(50 + i, 50 + (i + 1) % 50): 0.9 for i in range(50)})
    edges[(100, 101)] = 0.9
    indices, scores = _graph(edges, n, 3)
    labels = np.r_[np.zeros(50, int), np.ones(50, int), [2, 2]]
    merged = merge_clusters(indices, scores, labels, 0.01)
    assert merged[100] == merged[0]  # the fragment joined (2.7 / 100 > 0.01)
    assert merged[50] != merged[0]  # 0.99 / 2500 < 0.01: the big ones stay apart


def test_merge_takes_mutually_best_pairs_first():
    # a chain 0 - 1 - 2 of singletons weighing 1: 1's best partner is 2, so
    # 0 waits for the next round, where {1, 2} links to 0 with 0.5 / 2
    indices, scores = _graph({(0, 1): 0.5, (1, 2): 0.9}, 3, 1)
    links, ones, labels = point_links(indices, scores), np.ones(3), np.arange(3)
    assert np.unique(_merge_pairs(links, ones, labels, 0.3)).size == 2
    assert np.unique(_merge_pairs(links, ones, labels, 0.2)).size == 1


def test_merge_moves_a_point_back_across_a_boundary():
    # cluster A = {0..4}, cluster B = {5..9} plus point 10, which links
    # strongly into A and weakly into B: it moves to A, and nothing merges
    edges = {(10, i): 0.9 for i in range(5)}
    edges.update({(10, 5): 0.2, (10, 6): 0.2})
    edges.update({(i, (i + 1) % 5): 0.9 for i in range(5)})
    edges.update({(5 + i, 5 + (i + 1) % 5): 0.9 for i in range(5)})
    indices, scores = _graph(edges, 11, 7)
    labels = np.r_[np.zeros(5, int), np.ones(6, int)]
    moved = merge_clusters(indices, scores, labels, 0.2)
    assert moved[10] == moved[0] and moved[5] != moved[0]
    assert np.unique(moved).size == 2


def test_merge_never_lowers_the_partition_quality():
    # the quality merge_clusters climbs: links inside clusters less the
    # threshold times the two weights of every pair of points
    X, _ = make_embeddings(30, 8, random_state=3)
    level = GraphSearch(6, "cosine").first_level(normalize_rows(X))
    scores = np.clip(level.similarities, 0, 1)
    links = point_links(level.indices, scores)

    weights = point_weights(np.asarray(links.sum(axis=1)).ravel())

    def quality(labels, threshold):
        same = labels[links.tocoo().row] == labels[links.tocoo().col]
        sizes = np.bincount(labels, weights=weights)
        squares = np.bincount(labels, weights=weights**2)
        return (
            links.tocoo().data[same].sum() / 2
            - threshold * ((sizes**2 - squares) / 2).sum()
        )

    start = np.arange(X.shape[0])
    for threshold in (0.01, 0.05, 0.2):
        merged = merge_clusters(level.indices, scores, start, threshold)
        assert quality(merged, threshold) > quality(start, threshold)
        # no single point can still gain by moving to a neighbor's cluster
        again = merge_clusters(level.indices, scores, merged, threshold)
        assert np.array_equal(again, merged)


def test_moving_nodes_ends_where_no_node_gains_by_moving():
    # checked against the move rule written out densely: from each node's
    # end state, joining any other cluster (its own counted without it) or
    # standing alone gains at most MIN_GAIN
    rng = np.random.default_rng(0)
    n = 60
    dense = np.triu(rng.random((n, n)) * (rng.random((n, n)) < 0.15), 1)
    graph = sparse.csr_matrix(dense + dense.T)
    sizes = rng.uniform(0.5, 2.0, n)
    start = rng.integers(0, 12, n)
    for threshold in (0.02, 0.1, 0.4):
        labels, n_moved = _move_nodes(
            graph, sizes, start, threshold, rng.permutation(n)
        )
        assert n_moved > 0
        weights = graph.toarray()
        cluster_sizes = np.bincount(labels, weights=sizes, minlength=n)
        for i in range(n):
            own = labels[i]
            into = np.bincount(labels, weights=weights[i], minlength=n)
            cost = threshold * sizes[i]
            stay = into[own] - cost * (cluster_sizes[own] - sizes[i])
            join = into - cost * cluster_sizes
            join[own] = -np.inf
            alone = 0.0 if (labels == own).sum() > 1 else -np.inf
            assert max(join.max(), alone) <= stay + MIN_GAIN


def test_decode_merges_fragments_of_one_class():
    X, y = make_embeddings(40, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    strict = decode(X, cosine_scorer, threshold=0.9, search=search)
    merged = decode(
        X, cosine_scorer, threshold=0.9, search=search, merge_threshold=0.05
    )
    assert np.unique(merged.labels).size < np.unique(strict.labels).size
    # most clusters of the hierarchy stay whole (points may move across a
    # boundary, clusters are not broken up)
    whole = [
        np.unique(merged.labels[strict.labels == c]).size == 1
        for c in np.unique(strict.labels)
    ]
    assert np.mean(whole) > 0.9
    # each cluster's peak is one of its own points, the densest
    assert np.array_equal(merged.labels[merged.peaks], np.arange(merged.peaks.size))


def test_merge_moves_a_whole_cluster_and_leaves_a_weak_one_apart():
    # A = {0..3} and B = {4..7}, rings of strong links, with every point of
    # A linked to one of B (summed 4 x 0.6 = 2.4); C = {8, 9} links weakly
    # into A. Below the average linkage of A and B, B moves into A as a
    # whole; C, whose one link into A (0.1) is worth less than the price of
    # joining A and B, stays apart, and whole: its two weakly linked points
    # weigh little, so their one link (0.05) pays for their pair
    edges = {(i, (i + 1) % 4): 0.9 for i in range(4)}
    edges.update({(4 + i, 4 + (i + 1) % 4): 0.9 for i in range(4)})
    edges.update({(i, 4 + i): 0.6 for i in range(4)})
    edges.update({(8, 0): 0.1, (9, 8): 0.05})
    indices, scores = _graph(edges, 10, 2)
    weights = point_weights(np.asarray(point_links(indices, scores).sum(1)).ravel())
    linkage = 2.4 / (weights[:4].sum() * weights[4:8].sum())
    labels = np.r_[np.zeros(4, int), np.ones(4, int), [2, 2]]
    merged = merge_clusters(indices, scores, labels, linkage - 0.01)
    assert np.unique(merged[:8]).size == 1
    assert merged[8] == merged[9] and merged[8] not in merged[:8]
    apart = merge_clusters(indices, scores, labels, linkage + 0.01)
    assert apart[0] != apart[4]


def test_a_wider_merge_graph_joins_fragments_of_large_classes():
    # three classes of 150 points cut into fragments by a strict link
    # threshold: ten neighbors per point hold too few links between the
    # fragments for a threshold that keeps the classes apart, thirty do
    X, y = make_embeddings(3, 16, mean_class_size=150, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    start = DistinctStart.of(X, search)
    strict = decode(X, cosine_scorer, threshold=0.97, search=search, start=start)
    fragments = np.unique(strict.labels).size
    assert fragments > 10
    merged = {
        k: decode(
            X,
            cosine_scorer,
            threshold=0.97,
            search=search,
            start=start,
            merge_threshold=0.05,
            merge_n_neighbors=k,
        ).labels
        for k in (10, 30)
    }
    assert np.unique(merged[30]).size < np.unique(merged[10]).size
    assert bcubed_f_score(y, merged[30]) > bcubed_f_score(y, merged[10])


def test_the_likelihood_gain_prefers_dense_clusters_to_merged_or_scattered_ones():
    # two blocks of 10 points, linked densely inside and weakly between
    n = 20
    rows, cols = np.triu_indices(n, 1)
    same = (rows < 10) == (cols < 10)
    weights = np.where(same, 1.6, 0.1)
    links = _decode.sparse.coo_matrix((weights, (rows, cols)), shape=(n, n)).tocsr()
    links = (links + links.T).tocsr()
    truth = np.repeat([0, 1], 10)
    score = _decode.partition_likelihood_gain
    assert score(links, truth) > score(links, np.zeros(n, dtype=int))
    assert score(links, truth) > score(links, np.arange(n))
    assert score(links, truth) > score(links, np.arange(n) % 4)


def test_the_likelihood_gain_keeps_classes_whose_halves_are_linked_together():
    # four classes of 20 points, each two halves of 10 linked densely inside
    # and half as densely to each other, the classes barely linked: the
    # clusters' part alone (the significance) prefers the halves; the pairs
    # that splitting leaves across clusters are what keep the classes whole
    # (pair weights 0.9, 0.4 and 0.01, stored as point_links stores them:
    # both directions summed)
    n = 80
    rows, cols = np.triu_indices(n, 1)
    half, whole = np.arange(n) // 10, np.arange(n) // 20
    weights = np.where(
        half[rows] == half[cols], 1.8, np.where(whole[rows] == whole[cols], 0.8, 0.02)
    )
    links = _decode.sparse.coo_matrix((weights, (rows, cols)), shape=(n, n))
    links = (links + links.T).tocsr()
    significance = _decode._likelihood_parts(links, half)[0]
    assert significance > _decode._likelihood_parts(links, whole)[0]
    gain = _decode.partition_likelihood_gain
    assert gain(links, whole) > gain(links, half)


def test_the_reproducible_run_stops_at_the_first_threshold_below_the_floor():
    agreement = np.array([0.5, 0.85, 0.9, 0.95, 0.8, 0.9, 0.92, -np.inf])
    run = _decode.reproducible_run(agreement, 0.1)
    # 0.9 and 0.92 lie within 0.1 of the best but past a threshold below it
    assert run.tolist() == [False, True, True, True, False, False, False, False]
    assert _decode.reproducible_run(agreement, 0.2).tolist() == [
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        False,
    ]


def test_an_input_beyond_the_fitted_curve_takes_the_reproducible_threshold():
    X, _ = make_embeddings(30, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine", random_state=0)
    # measured on inputs far sparser than this one: the curve cannot read it
    curve = _decode.MergeThresholds.from_curve([[-1.0, 1.0], [-0.9, 0.5]])
    result = decode(
        X, cosine_scorer, threshold=0.9, search=search, merge_threshold=curve
    )
    assert curve.out_of_reach(result.sampling_similarity)
    start = _decode.DistinctStart.of(X, search)
    links = _decode.merge_graph(start.level, cosine_scorer)
    hierarchy = decode(X, cosine_scorer, threshold=0.9, search=search)
    resample = partial(
        _decode.resampled_links,
        X,
        cosine_scorer,
        threshold=0.9,
        search=search,
        max_levels=10,
        early_stopping=True,
        merge_n_neighbors=None,
    )
    expected = _decode.reproducible_threshold(
        links, hierarchy.labels, resample=resample, random_state=0
    )
    assert result.merge_threshold == expected
    # without a seed the resamples are still the same ones
    unseeded = replace(search, random_state=None)
    again = [
        decode(X, cosine_scorer, threshold=0.9, search=unseeded, merge_threshold=curve)
        for _ in range(2)
    ]
    assert again[0].merge_threshold == again[1].merge_threshold
    # within the curve's range the curve is read
    inside = _decode.MergeThresholds.from_curve([[-1.0, 1.0], [1.0, 0.5]])
    result = decode(
        X, cosine_scorer, threshold=0.9, search=search, merge_threshold=inside
    )
    assert result.merge_threshold == inside.at(result.sampling_similarity)


def test_one_cluster_or_all_points_alone_never_count_as_reproducible():
    # three blocks of 10 points, linked densely inside and weakly between
    n = 30
    block = np.arange(n) // 10
    rows, cols = np.triu_indices(n, 1)
    weights = np.where(block[rows] == block[cols], 1.6, 0.02)
    links = _decode.sparse.coo_matrix((weights, (rows, cols)), shape=(n, n))
    links = (links + links.T).tocsr()
    rng = np.random.default_rng(0)

    def shuffled(rows):
        # the subset's points shuffled: only a partition into one cluster or
        # into singletons agrees with the whole input's on it
        order = rng.permutation(rows.size)
        return links[rows][:, rows][order][:, order].tocsr(), np.arange(rows.size)

    threshold = _decode.reproducible_threshold(
        links, np.arange(n), resample=shuffled, random_state=0
    )
    labels = _decode.merge_linked(links, np.arange(n), threshold)
    assert adjusted_rand_score(block, labels) == 1.0


def test_nearly_one_cluster_or_nearly_every_point_alone_is_nearly_trivial():
    trivial = _decode.nearly_trivial
    assert trivial(np.zeros(6, dtype=np.int64)) and trivial(np.arange(6))
    assert trivial(np.zeros(1, dtype=np.int64))
    # 97 of 100 points in one cluster, or alone
    assert trivial(np.repeat([0, 1, 2], [97, 2, 1]))
    assert trivial(np.r_[np.arange(97), [97, 97, 97]])
    # one true class of 80% of the points, or most classes of one point, is
    # a partition to find
    assert not trivial(np.repeat([0, 1], [80, 20]))
    assert not trivial(np.r_[np.arange(80), np.repeat([80], 20)])
    assert not trivial(np.repeat(np.arange(10), 3))


def test_without_labels_large_classes_are_not_cut_into_graph_sized_pieces():
    # eight classes of about 150 points: the likelihood gain alone favours
    # clusters of about the merge graph's neighbors and cuts each class into
    # many; only thresholds whose partitions survive resampling are considered
    X, y = make_embeddings(8, 16, mean_class_size=150, random_state=1)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine", random_state=0)
    result = decode(
        X,
        cosine_scorer,
        threshold=0.97,
        search=search,
        merge_threshold=_decode.MergeThresholds.unmeasured(),
    )
    hierarchy = decode(X, cosine_scorer, threshold=0.97, search=search)
    links = _decode.merge_graph(hierarchy.distinct.level, cosine_scorer)
    likeliest = max(
        _decode.MERGE_THRESHOLD_GRID,
        key=lambda t: _decode.partition_likelihood_gain(
            links, _decode.merge_linked(links, hierarchy.labels, t)
        ),
    )
    cut = _decode.merge_linked(links, hierarchy.labels, likeliest)
    assert np.unique(cut).size > 3 * 8
    assert np.unique(result.labels).size <= 1.5 * 8
    assert bcubed_f_score(y, result.labels) > bcubed_f_score(y, cut) + 0.2


def test_a_requested_cluster_count_picks_the_threshold_that_gives_it():
    X, y = make_embeddings(40, 16, random_state=3)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    # at a strict link threshold the hierarchy leaves fragments to merge
    hierarchy = decode(X, cosine_scorer, threshold=0.95, search=search)
    n_fragments = np.unique(hierarchy.labels).size
    assert n_fragments > 60
    for n_clusters in (10, 40, n_fragments):
        # merge_threshold=inf would merge nothing: the count overrides it
        result = decode(
            X, cosine_scorer, threshold=0.95, search=search, n_clusters=n_clusters
        )
        found = np.unique(result.labels).size
        assert abs(np.log(found / n_clusters)) < np.log(1.2), (n_clusters, found)
        assert np.isfinite(result.merge_threshold)
        # the threshold reported is the one whose merge gave these labels
        start = _decode.DistinctStart.of(X, search)
        links = _decode.merge_graph(start.level, cosine_scorer)
        again = _decode.merge_linked(
            links, hierarchy.labels[start.keep], result.merge_threshold
        )
        assert np.unique(again).size == found
    # fewer clusters asked, a lower threshold (more merging)
    few = decode(X, cosine_scorer, threshold=0.95, search=search, n_clusters=10)
    many = decode(X, cosine_scorer, threshold=0.95, search=search, n_clusters=40)
    assert few.merge_threshold < many.merge_threshold


def test_a_cluster_count_widens_the_merge_graph_for_large_classes():
    widen = _decode.merge_neighbors_for_count
    # classes of 20 points: the fitted 10 neighbors stay
    assert widen(10, 10, 13_180, 659) == 10
    # classes of 180: a third of them, but no more than three times 10
    assert widen(10, 10, 4_330, 24) == 30
    assert widen(10, 10, 900, 20) == 15
    # never narrower than the fitted or given graph
    assert widen(30, 10, 100, 50) == 30


def test_the_rule_samples_whole_neighborhoods_so_classes_keep_their_density():
    # 100 tight, far-apart blobs of 50 points: each seed's nearest 50 rows
    # are its blob, so a blob is in the sample whole or not at all (a
    # uniform sample of the same size would thin every blob)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, 16)) * 10
    X = np.repeat(centres, 50, axis=0) + rng.normal(scale=0.01, size=(5000, 16))
    blob = np.repeat(np.arange(100), 50)
    rows = _decode.neighborhood_rows(X, 50 * _decode.RULE_SAMPLE_SEEDS, 0)
    assert np.array_equal(rows, np.unique(rows))
    counts = np.bincount(blob[rows], minlength=100)
    assert set(counts) <= {0, 50}
    assert 50 * 2 <= rows.size <= 50 * _decode.RULE_SAMPLE_SEEDS
