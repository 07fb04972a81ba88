import os

import numpy as np
import pytest
from hypothesis import settings

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import make_embeddings

# `make test` and CI draw the same generated cases every run, so a result
# never depends on the luck of the draw (a random draw once found a 2-feature
# set whose labels moved on a float32 rounding tie, ARI 0.88, and failed CI).
# HYPOTHESIS_PROFILE=explore draws new cases, to hunt for failures.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def small_task():
    """A quick meta-learning task: train and test classes are disjoint draws."""
    X_train, y_train = make_embeddings(60, 16, random_state=0)
    X_test, y_test = make_embeddings(80, 16, random_state=1)
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="session")
def small_fitted(small_task):
    X_train, y_train, _, _ = small_task
    return HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)


@pytest.fixture(scope="session")
def omniglot():
    from sklearn_hilander.datasets import load_omniglot_features

    data = load_omniglot_features()
    X, y = data["features"], data["label"]
    return (
        X[data["meta_train"]],
        y[data["meta_train"]],
        X[data["evaluation"]],
        y[data["evaluation"]],
    )


def permuted(rng_seed, *arrays):
    perm = np.random.RandomState(rng_seed).permutation(len(arrays[0]))
    return perm, [a[perm] for a in arrays]


def cluster_new(est, X):
    """What ``est.fit_predict(X)`` gives, on a copy: clustering a new batch of
    unseen classes, the fixture left as it was."""
    import copy

    return copy.deepcopy(est).fit_predict(X)


def two_blobs(n=30, seed=0):
    """Two tight blobs of ``n`` unit points in 3-d, and their classes."""
    from sklearn_hilander._graph import normalize_rows

    rng = np.random.RandomState(seed)
    a = normalize_rows(np.array([1, 0, 0]) + 0.05 * rng.randn(n, 3))
    b = normalize_rows(np.array([0, 1, 0]) + 0.05 * rng.randn(n, 3))
    return np.vstack([a, b]), np.repeat([0, 1], n)
