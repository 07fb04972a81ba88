import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_scorer, nmi_scorer, pairwise_f_scorer


def _task():
    return make_embeddings(60, 16, random_state=3)


# The merge threshold is fixed in these searches: they test the plumbing of
# grid searches (folds, scorers, caching), and each fit's own search for a
# merge threshold tripled their time.
MERGE = {"merge_threshold": 0.05}


def test_grid_search_with_group_folds_and_our_scorers():
    X, y = _task()
    search = GridSearchCV(
        HiLanderClustering(max_iter=2, random_state=0, **MERGE),
        {"n_neighbors": [5, 10], "link_threshold": [0.5, 0.9]},
        cv=GroupKFold(n_splits=3),
        scoring={"fb": bcubed_f_scorer, "fp": pairwise_f_scorer, "nmi": nmi_scorer},
        refit="fb",
    )
    search.fit(X, y, groups=y)
    results = search.cv_results_
    for name in ("fb", "fp", "nmi"):
        scores = results[f"mean_test_{name}"]
        assert np.all((scores >= 0) & (scores <= 1))
    # the grid is not flat and its best point clusters unseen folds well
    assert np.ptp(results["mean_test_fb"]) > 0.01
    assert search.best_score_ > 0.6
    assert search.best_estimator_.n_train_classes_ == 60


def test_default_score_drives_grid_search():
    X, y = _task()
    search = GridSearchCV(
        HiLanderClustering(max_iter=2, random_state=0, **MERGE),
        {"link_threshold": [0.3, 0.95]},
        cv=GroupKFold(n_splits=3),
    ).fit(X, y, groups=y)
    assert search.best_params_["link_threshold"] in (0.3, 0.95)
    assert 0 < search.best_score_ <= 1


def test_memory_skips_retraining_for_inference_only_parameters(tmp_path):
    X, y = _task()
    memory = joblib.Memory(tmp_path, verbose=0)
    search = GridSearchCV(
        HiLanderClustering(max_iter=2, random_state=0, memory=memory, **MERGE),
        {"link_threshold": [0.5, 0.8, 0.95]},
        cv=GroupKFold(n_splits=3),
    ).fit(X, y, groups=y)
    # 9 fits over the grid + 1 refit, but one training per distinct training
    # set: the 3 folds and the full data
    trainings = list(tmp_path.rglob("output.pkl"))
    assert len(trainings) == 4
    plain = HiLanderClustering(max_iter=2, random_state=0, link_threshold=0.8, **MERGE)
    cached = HiLanderClustering(
        max_iter=2, random_state=0, link_threshold=0.8, memory=str(tmp_path), **MERGE
    )
    np.testing.assert_array_equal(plain.fit(X, y).labels_, cached.fit(X, y).labels_)
    assert search.best_estimator_.network_state_
