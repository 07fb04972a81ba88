"""Rows equal as numbers are one point, whatever the sign of their zeros.

Duplicate detection once compared bytes, so ``[0., 0.]`` and ``[-0., 0.]``
(or tiny values that underflow to +0 and -0 in float32) were two points.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_hilander import HiLanderClustering
from sklearn_hilander._graph import distinct_rows

# distinct_rows alone is cheap; the estimator runs the bundled network
DISTINCT_EXAMPLES = 300
ESTIMATOR_EXAMPLES = 40


def reference_distinct(X):
    """First occurrence and inverse by comparing rows as numbers, in Python."""
    keys = [tuple(float(v) for v in row) for row in np.asarray(X, np.float64)]
    first = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    keep = np.array(sorted(set(first.values())), dtype=np.int64)
    position = {row: j for j, row in enumerate(keep)}
    inverse = np.array([position[first[key]] for key in keys], dtype=np.int64)
    return keep, inverse


# values where the sign of zero matters: signed zeros and values that become
# +0 or -0 in float32 (and in float16)
zeroish = st.sampled_from([0.0, -0.0, 1e-50, -1e-50, 1e-300, -1e-300, 1.0, -2.5])


@settings(max_examples=DISTINCT_EXAMPLES, deadline=None)
@given(
    X=hnp.arrays(
        dtype=st.sampled_from([np.float16, np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=zeroish,
    )
)
def test_distinct_rows_compares_values_not_the_sign_of_zero(X):
    before = X.copy()
    keep, inverse = distinct_rows(X)
    expected_keep, expected_inverse = reference_distinct(X)
    np.testing.assert_array_equal(keep, expected_keep)
    np.testing.assert_array_equal(inverse, expected_inverse)
    np.testing.assert_array_equal(X[keep][inverse], X)  # equal as numbers
    assert X.tobytes() == before.tobytes()  # the input is not canonicalised


@settings(max_examples=ESTIMATOR_EXAMPLES, deadline=None)
@given(
    base=hnp.arrays(
        np.float64,
        shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
        elements=st.sampled_from([0.0, 1.0, -1.0, 2.0]),
    ),
    flips=st.lists(st.sampled_from([0.0, -0.0, 1e-50, -1e-50]), min_size=1),
    metric=st.sampled_from(["cosine", "euclidean"]),
    n_copies=st.integers(2, 6),
)
def test_copies_that_differ_in_signed_zeros_share_a_cluster(
    base, flips, metric, n_copies
):
    # every copy of a base row has its zeros replaced by -0.0 or by values
    # that underflow to +-0 in float32
    X = np.repeat(base, n_copies, axis=0)
    zeros = np.flatnonzero(X.ravel() == 0)
    X.ravel()[zeros] = np.resize(np.array(flips), zeros.size)
    labels = HiLanderClustering(metric=metric).fit_predict(X)
    for group in labels.reshape(len(base), n_copies):
        assert np.unique(group).size == 1, (X, labels)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize(
    "X",
    [
        [[0.0, 0.0], [-0.0, 0.0]],
        [[0.0, 0.0], [-0.0, -0.0]],
        [[1e-50, 1.0], [-1e-50, 1.0]],  # +0 and -0 in float32
        [[1e-46, 0.0], [-1e-46, 0.0]],
    ],
)
def test_issue_cases_signed_zero_rows_are_one_point(X, metric):
    labels = HiLanderClustering(metric=metric).fit_predict(np.array(X))
    np.testing.assert_array_equal(labels, [0, 0])


def test_float32_rows_with_signed_zeros_among_other_points():
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [5.0, -3.0], [5.0, -3.0]], np.float32)
    keep, inverse = distinct_rows(X)
    np.testing.assert_array_equal(keep, [0, 2])
    np.testing.assert_array_equal(inverse, [0, 0, 1, 1])
