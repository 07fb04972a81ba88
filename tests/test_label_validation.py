"""Labels of mixed types, None, NaN or odd shapes: a clear error in every
function of :mod:`sklearn_hilander.metrics`, a right answer otherwise."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClusterMixin

from sklearn_hilander import metrics
from sklearn_hilander._validation import check_cluster_labels

LABEL_EXAMPLES = 400


class Fixed(ClusterMixin, BaseEstimator):
    """A 'clusterer' whose clustering is given, for the scorers."""

    def __init__(self, labels=None):
        self.labels = labels

    def fit(self, X, y=None):
        self.labels_ = self.labels
        return self

    def predict(self, X):
        return self.labels


SCORES = [
    lambda t, p: metrics.pairwise_precision_recall_f(t, p),
    lambda t, p: metrics.pairwise_f_score(t, p),
    lambda t, p: metrics.bcubed_precision_recall_f(t, p),
    lambda t, p: metrics.bcubed_f_score(t, p),
    lambda t, p: metrics.pairwise_f_scorer(Fixed(p), np.zeros((len(t), 1)), t),
    lambda t, p: metrics.bcubed_f_scorer(Fixed(p), np.zeros((len(t), 1)), t),
    lambda t, p: metrics.nmi_scorer(Fixed(p), np.zeros((len(t), 1)), t),
]
NAMES = [
    "pairwise_precision_recall_f",
    "pairwise_f_score",
    "bcubed_precision_recall_f",
    "bcubed_f_score",
    "pairwise_f_scorer",
    "bcubed_f_scorer",
    "nmi_scorer",
]


def kind(value):
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return "number" if math.isfinite(value) else None
    return type(value).__name__  # str or bytes


def valid(labels):
    kinds = {kind(v) for v in labels}
    return len(labels) > 0 and None not in kinds and len(kinds) == 1


def codes(labels):
    """Python's own encoding: equal labels (1 == 1.0 == True) share a code."""
    seen = {}
    return np.array([seen.setdefault(v, len(seen)) for v in labels])


one_label = st.one_of(
    st.integers(-3, 3),
    st.booleans(),
    st.sampled_from([0.0, -0.0, 1.5, math.nan, math.inf]),
    st.text(alphabet="ab1", max_size=2),
    st.binary(max_size=1),
    st.none(),
)
# mostly one kind (valid), sometimes a mix
label_lists = st.one_of(
    st.lists(st.integers(-2, 5), min_size=1, max_size=12),
    st.lists(st.text(alphabet="xy1", max_size=2), min_size=1, max_size=12),
    st.lists(one_label, min_size=1, max_size=12),
)


@settings(max_examples=LABEL_EXAMPLES, deadline=None)
@given(
    data=st.data(),
    labels_true=label_lists,
    as_object=st.booleans(),
    which=st.sampled_from(range(len(SCORES))),
    wrong_side=st.sampled_from(["labels_true", "labels_pred"]),
)
def test_scores_are_right_or_fail_clearly(
    data, labels_true, as_object, which, wrong_side
):
    n = len(labels_true)
    other = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    given_labels = np.array(labels_true, dtype=object) if as_object else labels_true
    if wrong_side == "labels_true":
        t, p, checked = given_labels, other, labels_true
    else:
        t, p, checked = other, given_labels, labels_true
    score = SCORES[which]
    if valid(checked):
        got = score(t, p)
        expected = score(codes(t), codes(p))
        np.testing.assert_allclose(got, expected)
        assert np.all(np.asarray(got) >= 0) and np.all(np.asarray(got) <= 1 + 1e-12)
    else:
        with pytest.raises((ValueError, TypeError)) as info:
            score(t, p)
        message = str(info.value)
        assert wrong_side in message and "\n" not in message, message


@pytest.mark.parametrize("name, score", list(zip(NAMES, SCORES)))
@pytest.mark.parametrize(
    "labels, error, message",
    [
        ([0, None, 1], ValueError, "None at index 1"),
        (np.array(["a", 1, "b"], dtype=object), TypeError, "mixes str and number"),
        ([1, "1", 2], TypeError, "mixes"),  # numpy alone would make it ["1", "1"]
        ([0, float("nan"), 1], ValueError, "finite label"),
        (np.array([b"a", "a", "b"], dtype=object), TypeError, "mixes"),
        (np.array([{}, 1, 2], dtype=object), TypeError, "dict at index 0"),
        ([[0, 1], [1], [2]], ValueError, "1-d"),
        (np.zeros((3, 2)), ValueError, "1-d"),
        (np.array([1 + 2j] * 3), TypeError, "dtype complex128"),
    ],
)
def test_issue_cases_in_every_metric(name, score, labels, error, message):
    with pytest.raises(error, match=message) as info:
        score(labels, [0, 1, 1])
    assert "labels_true" in str(info.value)
    with pytest.raises(error, match=message) as info:
        score([0, 1, 1], labels)
    assert "labels_pred" in str(info.value)


def test_codes_follow_sorted_labels_and_keep_big_integers_apart():
    np.testing.assert_array_equal(check_cluster_labels(["b", "a", "b"], "y"), [1, 0, 1])
    big = np.array([2**63 + 1, 2**63, 2**63 + 1], dtype=object)
    np.testing.assert_array_equal(check_cluster_labels(big, "y"), [1, 0, 1])
    np.testing.assert_array_equal(
        check_cluster_labels(np.array([[3], [1]]), "y"), [1, 0]
    )
    with pytest.raises(ValueError, match="y has 2 labels for 3 points"):
        check_cluster_labels([0, 1], "y", n_samples=3)
