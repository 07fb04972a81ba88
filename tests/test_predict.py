"""Inductive predict, membership strength and unlabelled rows (issue 14)."""

import pickle

import numpy as np
import pytest

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import make_embeddings


@pytest.fixture(scope="module")
def split():
    # the same classes on both sides: held-out points of fitted clusters
    X, y = make_embeddings(60, 16, random_state=3)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    fit_rows, new_rows = order[: len(X) // 2], order[len(X) // 2 :]
    est = HiLanderClustering(random_state=0).fit(X[fit_rows])
    return est, X[fit_rows], y[fit_rows], X[new_rows], y[new_rows]


def _majority_class(labels, y):
    return {c: np.bincount(y[labels == c]).argmax() for c in np.unique(labels)}


def test_predict_assigns_held_out_points_to_their_class_cluster(split):
    est, X_fit, y_fit, X_new, y_new = split
    predicted = est.predict(X_new)
    assert set(predicted) <= set(est.labels_) | {-1}
    owner = _majority_class(est.labels_, y_fit)
    right = np.array([p >= 0 and owner[p] == t for p, t in zip(predicted, y_new)])
    # judged as the nearest fitted point's cluster would be (the clusters
    # themselves are imperfect, so neither is always right)
    unit = X_fit / np.linalg.norm(X_fit, axis=1, keepdims=True)
    nearest = est.labels_[np.argmax(X_new @ unit.T, axis=1)]
    one_nn = np.mean([owner[c] == t for c, t in zip(nearest, y_new)])
    print(right.mean(), one_nn)
    assert right.mean() >= one_nn - 0.03, (right.mean(), one_nn)


def test_predict_on_fitted_points_gives_their_labels(split):
    est, X_fit, *_ = split
    np.testing.assert_array_equal(est.predict(X_fit), est.labels_)


def test_rows_are_independent_and_one_row_works(split):
    est, _, _, X_new, _ = split
    whole = est.predict(X_new)
    halves = np.concatenate([est.predict(X_new[:7]), est.predict(X_new[7:])])
    np.testing.assert_array_equal(whole, halves)
    assert est.predict(X_new[:1]).tolist() == whole[:1].tolist()


def test_predict_leaves_the_estimator_unchanged(split):
    est, *_, X_new, _ = split
    before = est.labels_.copy()
    est.predict(X_new)
    np.testing.assert_array_equal(est.labels_, before)


def test_membership_strength_ranks_right_above_wrong(split):
    est, X_fit, y_fit, X_new, y_new = split
    assert est.probabilities_.shape == (len(X_fit),)
    assert ((est.probabilities_ >= 0) & (est.probabilities_ <= 1)).all()
    predicted = est.predict(X_new)
    strength = est.membership_strength(X_new)
    owner = _majority_class(est.labels_, y_fit)
    right = np.array([p >= 0 and owner[p] == t for p, t in zip(predicted, y_new)])
    assert strength[right].mean() > strength[~right].mean() + 0.1
    assert (strength[predicted == -1] == 0).all()


def test_fitted_strength_ranks_same_class_points_higher(split):
    est, _, y_fit, _, _ = split
    owner = _majority_class(est.labels_, y_fit)
    pure = np.array([owner[c] == t for c, t in zip(est.labels_, y_fit)])
    assert est.probabilities_[pure].mean() > est.probabilities_[~pure].mean()


def test_min_membership_marks_weak_points_as_noise(split):
    est, X_fit, _, X_new, _ = split
    strict = HiLanderClustering(random_state=0, min_membership=0.5).fit(X_fit)
    weak = est.probabilities_ < 0.5
    assert (strict.labels_[weak] == -1).all()
    np.testing.assert_array_equal(strict.labels_[~weak], est.labels_[~weak])
    assert (strict.predict(X_new)[est.membership_strength(X_new) < 0.5] == -1).all()


def test_pickle_size_and_dropping_prediction_data(split):
    est, *_, X_new, _ = split
    light = pickle.loads(pickle.dumps(est)).drop_prediction_data()
    assert len(pickle.dumps(light)) < len(pickle.dumps(est))
    with pytest.raises(ValueError, match="drop_prediction_data"):
        light.predict(X_new)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(est)).predict(X_new), est.predict(X_new)
    )


def test_unlabelled_rows_are_clustered_but_not_trained_on():
    X, y = make_embeddings(30, 8, random_state=0)
    y = y.copy()
    hidden = np.arange(len(y)) % 3 == 0
    y[hidden] = -1
    est = HiLanderClustering(max_iter=2, random_state=0).fit(X, y)
    labelled_only = HiLanderClustering(max_iter=2, random_state=0).fit(
        X[~hidden], y[~hidden]
    )
    assert est.labels_.shape == (len(X),)
    assert est.n_train_classes_ == len(np.unique(y[~hidden]))
    for key, value in labelled_only.network_state_.items():
        np.testing.assert_array_equal(est.network_state_[key], value)


def test_no_labelled_class_is_a_clear_error():
    X, _ = make_embeddings(5, 4, random_state=0)
    with pytest.raises(ValueError, match="fewer than 2 labelled classes"):
        HiLanderClustering(max_iter=1).fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="fewer than 2 labelled classes"):
        HiLanderClustering(max_iter=1).fit(X, np.r_[np.zeros(5), -np.ones(len(X) - 5)])


def test_a_row_with_no_strong_single_link_joins_by_summed_links(split):
    # no single link can beat a threshold of 1, so only the merge rule
    # (the summed probability of the links into one cluster) can place a
    # row: with merging off every row is -1, with a low merge threshold
    # rows join clusters, and a row joins the cluster its links sum highest
    est, X_fit, _, X_new, _ = split
    strict = HiLanderClustering(
        pretrained=est, link_threshold=1.0, merge_threshold=float("inf")
    ).fit(X_fit)
    assert (strict.predict(X_new) == -1).all()
    loose = HiLanderClustering(
        pretrained=est, link_threshold=1.0, merge_threshold=0.5
    ).fit(X_fit)
    assert (loose.predict(X_new) >= 0).mean() > 0.5
