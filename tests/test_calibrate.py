"""Threshold calibration on labelled data."""

import numpy as np

from benchmarks.baselines import cosine_scorer
from sklearn_hilander._calibrate import (
    MERGE_THRESHOLDS,
    calibrate_thresholds,
    clustering_score,
    whole_class_subset,
)
from sklearn_hilander._decode import decode
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
