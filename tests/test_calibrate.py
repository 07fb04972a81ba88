"""Threshold calibration on labelled data."""

import numpy as np
import pytest

from benchmarks.baselines import cosine_scorer
from sklearn_hilander._calibrate import (
    MERGE_THRESHOLDS,
    SPARSER_SAMPLINGS,
    calibrate_thresholds,
    class_sample,
    clustering_score,
    merge_threshold_curve,
    whole_class_subset,
)
from sklearn_hilander._decode import MergeThresholds, decode
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander.datasets import make_embeddings


def test_whole_class_subset_keeps_classes_whole_and_bounded():
    y = np.repeat(np.arange(50), 7)
    rows = whole_class_subset(y, 100, random_state=0)
    kept = np.unique(y[rows])
    assert len(rows) <= 100 and len(rows) == 7 * kept.size
    assert np.array_equal(whole_class_subset(y, 1000, 0), np.arange(y.size))
    # at least one class, even when a class alone is too big
    assert np.unique(y[whole_class_subset(y, 3, 0)]).size == 1


def _decoded(X, search, threshold, merge_threshold, merge_n_neighbors):
    """Labels of ``X`` decoded with the cosine scorer at these settings."""
    return decode(
        X,
        cosine_scorer,
        threshold=threshold,
        search=search,
        merge_threshold=merge_threshold,
        merge_n_neighbors=merge_n_neighbors,
    ).labels


def test_calibrated_thresholds_are_the_best_pair_on_the_labelled_set():
    X, y = make_embeddings(40, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    threshold, merge, merge_k, (score,) = calibrate_thresholds(
        [(X, y)], cosine_scorer, search=search
    )
    assert 0 < threshold < 1 and merge > 0 and merge_k in (10, 20, 30)
    for other in (0.05, 0.3, 0.95):
        for other_merge in (float("inf"), 0.5, 2.0):
            labels = _decoded(X, search, other, other_merge, merge_k)
            assert clustering_score(y, labels) <= score + 1e-9
    # the pair found is the pair decoding uses
    labels = _decoded(X, search, threshold, merge, merge_k)
    assert np.isclose(clustering_score(y, labels), score)
    # the refined merge threshold scores at least as well as every one on
    # the coarse grid, at the same link threshold and merge graph
    for other_merge in MERGE_THRESHOLDS:
        labels = _decoded(X, search, threshold, other_merge, merge_k)
        assert clustering_score(y, labels) <= score + 1e-9, other_merge


def test_a_fixed_threshold_is_kept_and_the_other_searched():
    X, y = make_embeddings(40, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    threshold, merge, _, _ = calibrate_thresholds(
        [(X, y)], cosine_scorer, search=search, link_threshold=0.42
    )
    assert threshold == 0.42
    threshold, merge, merge_k, _ = calibrate_thresholds(
        [(X, y)], cosine_scorer, search=search, merge_threshold=float("inf")
    )
    # without merging, no merge graph is searched
    assert merge == float("inf") and 0 < threshold < 1 and merge_k == 10
    threshold, merge, merge_k, _ = calibrate_thresholds(
        [(X, y)], cosine_scorer, search=search, merge_n_neighbors=15
    )
    assert merge_k == 15 and np.isfinite(merge)


def test_unlabelled_rows_are_clustered_but_not_scored():
    y = np.array([0, 0, 1, 1, -1, -1])
    labels = np.array([0, 0, 1, 2, 1, 0])
    assert clustering_score(y, labels) == clustering_score(y[:4], labels[:4])
    # with the unlabelled rows in the graph, the thresholds are the best
    # pair for the labelled rows of that clustering
    X, classes = make_embeddings(30, 16, random_state=1)
    X = normalize_rows(X)
    hidden = np.arange(len(classes)) % 2 == 0
    search = GraphSearch(10, "cosine")
    partial = np.where(hidden, -1, classes)
    threshold, merge, merge_k, (score,) = calibrate_thresholds(
        [(X, partial)], cosine_scorer, search=search
    )
    labels = _decoded(X, search, threshold, merge, merge_k)
    assert np.isclose(score, clustering_score(partial, labels))
    assert not np.isclose(score, clustering_score(classes, labels))


def test_class_sample_keeps_a_fraction_of_every_class():
    y = np.repeat(np.arange(10), np.arange(1, 11))[::-1].copy()
    rows = class_sample(y, 0.25, random_state=0)
    counts = np.bincount(y[rows], minlength=10)
    np.testing.assert_array_equal(counts, np.ceil(0.25 * np.arange(1, 11)))
    assert np.all(np.diff(rows) > 0) and rows.max() < y.size
    # another draw takes other rows of the same classes
    other = class_sample(y, 0.25, random_state=1)
    assert not np.array_equal(rows, other)
    np.testing.assert_array_equal(np.bincount(y[other], minlength=10), counts)


def test_merge_thresholds_interpolate_in_log_and_hold_beyond_the_ends():
    curve = MergeThresholds.from_curve([[0.8, 0.01], [0.4, 1.0]])
    np.testing.assert_array_equal(curve.similarities, [0.4, 0.8])
    assert curve.at(0.6) == pytest.approx(0.1)  # halfway in log
    assert curve.at(0.9) == pytest.approx(0.01) and curve.at(0.1) == 1.0
    assert MergeThresholds.constant(0.3).at(-5.0) == 0.3
    # beyond the densest measurement by more than 1.5 steps between the two
    # densest: flagged (one row has no step, so nothing is)
    assert not curve.out_of_reach(0.8 + 1.4 * 0.4)
    assert curve.out_of_reach(0.8 + 1.6 * 0.4)
    assert not MergeThresholds.constant(0.3).out_of_reach(10.0)
    # measurements at one similarity have no step to measure beyond by
    flat = MergeThresholds.from_curve([[0.5, 0.2], [0.5, 0.1]])
    assert not flat.out_of_reach(0.9)
    assert not MergeThresholds.constant(float("inf")).merges
    # no measurement (a network lent to another embedding space): nothing is
    # in reach, and it merges, at a threshold chosen without labels
    unmeasured = MergeThresholds.from_curve(MergeThresholds.unmeasured().as_curve())
    assert unmeasured.out_of_reach(0.5) and unmeasured.merges
    np.testing.assert_array_equal(
        MergeThresholds.from_curve(curve.as_curve()).as_curve(), curve.as_curve()
    )


def test_sparser_sampled_classes_get_a_higher_merge_threshold():
    X, y = make_embeddings(60, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    threshold, merge, merge_k, _ = calibrate_thresholds(
        [(X, y)], cosine_scorer, search=search
    )
    curve = merge_threshold_curve(
        [(X, y)],
        cosine_scorer,
        search=search,
        link_threshold=threshold,
        merge_threshold=merge,
        merge_n_neighbors=merge_k,
    )
    assert curve.shape == (1 + len(SPARSER_SAMPLINGS), 2)
    # the densest sampling is the labelled set's own, at its threshold
    assert curve[-1, 1] == merge
    # fewer points per class lower the similarity to the farthest neighbor
    # and raise the best threshold
    assert np.all(np.diff(curve[:, 0]) > 0)
    assert curve[0, 1] > 4 * curve[-1, 1], curve
    # the threshold read at a quarter of each class beats the full set's
    # there
    rows = class_sample(y, 0.25, random_state=5)
    quarter = MergeThresholds.from_curve(curve).at(
        np.interp(0.25, [0.125, 0.25, 0.5, 1.0], curve[:, 0])
    )
    scores = [
        clustering_score(y[rows], _decoded(X[rows], search, threshold, m, merge_k))
        for m in (quarter, merge)
    ]
    assert scores[0] > scores[1] + 0.05, scores


def test_samplings_that_change_nothing_add_no_row():
    # classes of one point each: cutting them to a fraction keeps them whole
    X, y = make_embeddings(40, 16, random_state=0)
    X = normalize_rows(X)
    rows = np.unique(y, return_index=True)[1]
    X, y = X[rows], y[rows]
    curve = merge_threshold_curve(
        [(X, y)],
        cosine_scorer,
        search=GraphSearch(10, "cosine"),
        link_threshold=0.9,
        merge_threshold=0.5,
        merge_n_neighbors=10,
    )
    np.testing.assert_array_equal(curve[:, 1], [0.5])


def test_no_merging_gives_a_one_row_curve():
    X, y = make_embeddings(20, 16, random_state=0)
    curve = merge_threshold_curve(
        [(normalize_rows(X), y)],
        cosine_scorer,
        search=GraphSearch(10, "cosine"),
        link_threshold=0.9,
        merge_threshold=float("inf"),
        merge_n_neighbors=10,
    )
    assert curve.shape == (1, 2) and curve[0, 1] == float("inf")
