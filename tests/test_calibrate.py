"""Threshold calibration on labelled data."""

import numpy as np

from benchmarks.baselines import cosine_scorer
from sklearn_hilander._calibrate import calibrate_threshold, whole_class_subset
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score


def test_whole_class_subset_keeps_classes_whole_and_bounded():
    y = np.repeat(np.arange(50), 7)
    rows = whole_class_subset(y, 100, random_state=0)
    kept = np.unique(y[rows])
    assert len(rows) <= 100 and len(rows) == 7 * kept.size
    assert np.array_equal(whole_class_subset(y, 1000, 0), np.arange(y.size))
    # at least one class, even when a class alone is too big
    assert np.unique(y[whole_class_subset(y, 3, 0)]).size == 1


def test_calibrated_threshold_is_the_best_on_the_labelled_set():
    X, y = make_embeddings(40, 16, random_state=0)
    X = normalize_rows(X)
    search = GraphSearch(10, "cosine")
    threshold, (score,) = calibrate_threshold([(X, y)], cosine_scorer, search=search)
    assert 0 < threshold < 1
    from sklearn_hilander._decode import decode

    for other in (0.05, 0.3, 0.95):
        labels = decode(X, cosine_scorer, threshold=other, search=search).labels
        assert bcubed_f_score(y, labels) <= score + 1e-9
