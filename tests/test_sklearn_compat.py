"""scikit-learn's own estimator checks, run on a quick-to-train instance.

No check is expected to fail: predict assigns rows to the clusters of the
last fit, one row at a time, so check_methods_subset_invariance holds.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hilander import HiLanderClustering


@parametrize_with_checks([HiLanderClustering(max_iter=2)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
