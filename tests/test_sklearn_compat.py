"""scikit-learn's own estimator checks, run on a quick-to-train instance."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_hilander import HiLanderClustering

EXPECTED_FAILURES = {
    "check_methods_subset_invariance": (
        "predict clusters the batch it is given (transductive, like "
        "fit_predict): a point's label depends on the other points of the "
        "batch, and a one-point batch has nothing to cluster with."
    ),
}


@parametrize_with_checks(
    [HiLanderClustering(max_iter=2)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
