import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import normalized_mutual_info_score

from sklearn_hilander.metrics import (
    bcubed_precision_recall_f,
    pairwise_precision_recall_f,
)


def _brute_pairwise(t, p):
    tp = fp = fn = 0
    for i, j in itertools.permutations(range(len(t)), 2):
        same_t, same_p = t[i] == t[j], p[i] == p[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    precision = tp / (tp + fp) if tp + fp else float(tp + fn == 0)
    recall = tp / (tp + fn) if tp + fn else float(tp + fp == 0)
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


def _brute_bcubed(t, p):
    n = len(t)
    prec = [
        sum(t[j] == t[i] for j in range(n) if p[j] == p[i])
        / sum(p[j] == p[i] for j in range(n))
        for i in range(n)
    ]
    rec = [
        sum(p[j] == p[i] for j in range(n) if t[j] == t[i])
        / sum(t[j] == t[i] for j in range(n))
        for i in range(n)
    ]
    P, R = np.mean(prec), np.mean(rec)
    return P, R, 2 * P * R / (P + R)


labelings = st.integers(1, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(-1, 6), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(labelings)
def test_pairwise_matches_brute_force(pair):
    t, p = pair
    np.testing.assert_allclose(pairwise_precision_recall_f(t, p), _brute_pairwise(t, p))


@settings(max_examples=150, deadline=None)
@given(labelings)
def test_bcubed_matches_brute_force(pair):
    t, p = pair
    np.testing.assert_allclose(bcubed_precision_recall_f(t, p), _brute_bcubed(t, p))


def test_scores_ignore_label_names_and_reward_perfection():
    t = np.array(["a", "a", "b", "c", "c", "c"])
    p = np.array([7, 7, -1, 3, 3, 3])
    assert pairwise_precision_recall_f(t, p) == (1.0, 1.0, 1.0)
    assert bcubed_precision_recall_f(t, p) == (1.0, 1.0, 1.0)


def test_merging_everything_has_full_recall_low_precision():
    t = np.repeat(np.arange(10), 5)
    p, r, f = bcubed_precision_recall_f(t, np.zeros_like(t))
    assert r == 1.0 and p == pytest.approx(0.1)
    p, r, f = pairwise_precision_recall_f(t, np.zeros_like(t))
    assert r == 1.0 and p == pytest.approx(200 / 2450)


def test_million_points_vectorised():
    rng = np.random.RandomState(0)
    t = rng.randint(0, 50_000, 1_000_000)
    p = np.where(rng.rand(t.size) < 0.9, t, rng.randint(0, 50_000, t.size))
    pr, rc, f = bcubed_precision_recall_f(t, p)
    assert 0.8 < f < 0.95
    assert 0 < pairwise_precision_recall_f(t, p)[2] < 1


def test_length_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        bcubed_precision_recall_f([0, 1, 1], [0, 1])


def test_nmi_scorer_agrees_with_sklearn():
    from sklearn.base import BaseEstimator, ClusterMixin

    from sklearn_hilander.metrics import nmi_scorer

    class Fixed(ClusterMixin, BaseEstimator):
        # the scorers cluster the fold by itself, as fit_predict does
        def fit(self, X, y=None):
            self.labels_ = np.array([0, 0, 1, 1, 1])
            return self

    y = np.array([0, 0, 1, 1, 2])
    assert nmi_scorer(Fixed(), np.zeros((5, 1)), y) == pytest.approx(
        normalized_mutual_info_score(y, [0, 0, 1, 1, 1])
    )
