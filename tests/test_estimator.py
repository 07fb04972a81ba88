import copy
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_hilander import HiLanderClustering
from sklearn_hilander._decode import LABEL_FREE_CANDIDATES
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score

from .conftest import cluster_new, permuted


def test_fit_predict_and_predict_agree_and_predict_leaves_estimator_alone(
    small_fitted, small_task
):
    _, _, X_test, y_test = small_task
    est = pickle.loads(pickle.dumps(small_fitted))
    before = {k: v for k, v in vars(est).items() if not k.startswith("labels")}
    labels = cluster_new(est, X_test)
    assert set(est.predict(X_test)) <= set(est.labels_) | {-1}
    after = {k: v for k, v in vars(est).items() if not k.startswith("labels")}
    assert before.keys() == after.keys()
    fitted = est.fit_predict(X_test)
    np.testing.assert_array_equal(fitted, labels)
    np.testing.assert_array_equal(est.labels_, labels)
    assert est.n_clusters_ == labels.max() + 1
    assert set(labels) == set(range(est.n_clusters_))
    assert est.densities_.shape == (len(X_test),)
    assert est.n_levels_ == len(est.n_clusters_per_level_)
    assert est.score(X_test, y_test) == pytest.approx(bcubed_f_score(y_test, labels))


def test_unlabelled_fit_keeps_the_meta_trained_network(small_fitted, small_task):
    _, _, X_test, _ = small_task
    est = pickle.loads(pickle.dumps(small_fitted))
    state = {k: v.copy() for k, v in est.network_state_.items()}
    threshold = est.threshold_
    est.fit(X_test)
    assert est.threshold_ == threshold
    for k, v in state.items():
        np.testing.assert_array_equal(est.network_state_[k], v)


def test_labels_do_not_depend_on_row_order(small_fitted, small_task):
    _, _, X_test, _ = small_task
    labels = small_fitted.predict(X_test)
    perm, (X_perm,) = permuted(0, X_test)
    np.testing.assert_array_equal(small_fitted.predict(X_perm), labels[perm])


def test_same_random_state_gives_identical_model_and_labels(small_task):
    X_train, y_train, X_test, _ = small_task
    a = HiLanderClustering(max_iter=3, random_state=7).fit(X_train, y_train)
    b = HiLanderClustering(max_iter=3, random_state=7).fit(X_train, y_train)
    for k in a.network_state_:
        np.testing.assert_array_equal(a.network_state_[k], b.network_state_[k])
    np.testing.assert_array_equal(a.predict(X_test), b.predict(X_test))
    c = HiLanderClustering(max_iter=3, random_state=8).fit(X_train, y_train)
    assert any(
        not np.array_equal(a.network_state_[k], c.network_state_[k])
        for k in a.network_state_
    )


def test_training_does_not_touch_global_random_state(small_task):
    import torch

    X_train, y_train, _, _ = small_task
    np.random.seed(123)
    torch.manual_seed(123)
    HiLanderClustering(max_iter=1, random_state=0).fit(X_train, y_train)
    assert np.random.rand() == np.random.RandomState(123).rand()
    expected = torch.rand(1, generator=torch.Generator().manual_seed(123))
    assert torch.rand(1).item() == expected.item()


def test_pickle_round_trip_is_small_and_torch_free(small_fitted, small_task):
    _, _, X_test, _ = small_task
    blob = pickle.dumps(small_fitted)
    assert b"torch" not in blob
    # weights and the fitted points predict reads; without them, weights only
    light = pickle.dumps(pickle.loads(blob).drop_prediction_data())
    assert len(light) < 200_000 < len(blob)
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(
        restored.predict(X_test), small_fitted.predict(X_test)
    )
    assert all(isinstance(v, np.ndarray) for v in restored.network_state_.values())


def test_fixed_threshold_overrides_auto_and_moves_the_split(small_fitted, small_task):
    _, _, X_test, _ = small_task
    est = pickle.loads(pickle.dumps(small_fitted))
    n_low = len(set(cluster_new(est.set_params(link_threshold=0.05), X_test)))
    n_high = len(set(cluster_new(est.set_params(link_threshold=0.999), X_test)))
    assert n_low < n_high


def test_history_records_every_epoch(small_fitted):
    assert small_fitted.n_iter_ == len(small_fitted.history_) == 5
    assert {"epoch", "link_loss", "density_loss"} <= set(small_fitted.history_[0])
    assert small_fitted.n_train_classes_ == 60


def test_euclidean_metric_learns_too(small_task):
    X_train, y_train, X_test, y_test = small_task
    scale = 7.0  # euclidean must not care about the units of the features
    est = HiLanderClustering(metric="euclidean", max_iter=10, random_state=0)
    est.fit(X_train * scale, y_train)
    assert est.scale_ > 1.0
    assert est.score(X_test * scale, y_test) > 0.6


def test_verbose_shows_progress_bars_for_epochs_and_levels(small_task, capsys):
    X_train, y_train, _, _ = small_task
    est = HiLanderClustering(max_iter=2, verbose=1, random_state=0)
    est.fit(X_train, y_train)
    err = capsys.readouterr().err
    assert "HiLanderClustering training" in err and "2/2" in err
    assert "link_loss=" in err
    assert "HiLanderClustering levels" in err and "clusters=" in err
    assert f"{est.n_levels_}/{est.max_levels}" in err


def test_quiet_by_default(small_fitted, small_task):
    _, _, X_test, _ = small_task
    small_fitted.predict(X_test)
    assert small_fitted.verbose == 0


# ----------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features_are_rejected(small_task, bad):
    X_train, y_train, _, _ = small_task
    X = X_train.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        HiLanderClustering(max_iter=1).fit(X, y_train)


def test_wrong_dimensionality_is_rejected(small_fitted, small_task):
    _, _, X_test, _ = small_task
    with pytest.raises(ValueError, match="features"):
        small_fitted.predict(X_test[:, :5])
    with pytest.raises(ValueError, match="X must be 2-D"):
        small_fitted.predict(X_test[0])


def test_too_few_samples_is_rejected(small_fitted, small_task):
    _, _, X_test, _ = small_task
    # clustering needs two points; assigning one to fitted clusters does not
    with pytest.raises(ValueError, match="minimum of 2"):
        cluster_new(small_fitted, X_test[:1])
    assert small_fitted.predict(X_test[:1]).shape == (1,)


def test_y_of_wrong_length_is_rejected(small_task):
    X_train, y_train, _, _ = small_task
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        HiLanderClustering(max_iter=1).fit(X_train, y_train[:-1])


def test_single_class_is_rejected(small_task):
    X_train, _, _, _ = small_task
    with pytest.raises(ValueError, match="fewer than 2 labelled classes"):
        HiLanderClustering(max_iter=1).fit(X_train, np.zeros(len(X_train)))


def test_classes_of_one_point_each_are_rejected(small_task):
    # nothing in such labels says which points belong together: training
    # would run and give a network that links nothing
    X_train, _, _, _ = small_task
    y = np.arange(len(X_train))
    y[::2] = -1  # unlabelled rows do not make a class
    with pytest.raises(ValueError, match="single point; meta-training"):
        HiLanderClustering(max_iter=1).fit(X_train, y)


def test_predict_before_any_fit_says_what_to_do(small_task):
    X_train, _, _, _ = small_task
    with pytest.raises(ValueError, match=r"fit\(X, y\) to meta-train"):
        HiLanderClustering().predict(X_train)


def test_bad_parameters_are_named(small_task):
    X_train, y_train, _, _ = small_task
    with pytest.raises(ValueError, match="link_threshold"):
        HiLanderClustering(link_threshold=1.5).fit(X_train, y_train)
    with pytest.raises(ValueError, match="n_neighbors"):
        HiLanderClustering(n_neighbors=0).fit(X_train, y_train)


# ------------------------------------------------------ device and threads
def test_device_auto_is_resolved_without_touching_the_parameter(small_task):
    import torch

    X_train, y_train, _, _ = small_task
    est = HiLanderClustering(device="auto", max_iter=1, random_state=0)
    est.fit(X_train, y_train)
    assert est.device == "auto"
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_a_gpu_is_a_clear_error(small_task):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    X_train, y_train, _, _ = small_task
    with pytest.raises(ValueError, match="no CUDA device"):
        HiLanderClustering(device="cuda", max_iter=1).fit(X_train, y_train)


def test_cuda_trained_model_predicts_on_cpu(small_task):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    X_train, y_train, X_test, _ = small_task
    est = HiLanderClustering(device="cuda", max_iter=2, random_state=0)
    est.fit(X_train, y_train)
    assert est.device_ == "cuda"
    on_cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    assert len(set(on_cpu.predict(X_test))) > 1


def test_n_jobs_caps_threads_and_restores_them(small_fitted, small_task):
    import torch

    _, _, X_test, _ = small_task
    before = torch.get_num_threads()
    est = pickle.loads(pickle.dumps(small_fitted)).set_params(n_jobs=1)
    np.testing.assert_array_equal(est.predict(X_test), small_fitted.predict(X_test))
    assert torch.get_num_threads() == before


def test_a_batch_sampled_more_densely_than_the_labelled_data_warns():
    # fitted on about 8 points per class, the merge threshold curve cannot
    # tell the threshold for 40 per class, where the hierarchy over-splits
    X_train, y_train = make_embeddings(60, 16, mean_class_size=8, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = HiLanderClustering(random_state=0).fit(X_train, y_train)
        # with three classes the halves' spread is one class against another
        few = make_embeddings(3, 16, mean_class_size=40, random_state=2)
        HiLanderClustering(random_state=0).fit(*few)
    # the labelled data itself is never beyond its own curve
    assert not [w for w in caught if "more densely" in str(w.message)]
    assert est.merge_threshold_curve_.shape[0] > 1
    alike = make_embeddings(60, 16, mean_class_size=8, random_state=1)[0]
    denser = make_embeddings(60, 16, mean_class_size=40, random_state=1)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cluster_new(est, alike)
    assert not [w for w in caught if "more densely" in str(w.message)]
    with pytest.warns(
        UserWarning, match="more densely than the labelled data"
    ) as warned:
        copy.deepcopy(est).fit_predict(denser)
    # it names the user's line, not the library's, so that the default filter
    # shows it again for another call site
    assert [w.filename for w in warned] == [__file__]


def test_n_clusters_sets_how_many_clusters_each_clustering_finds():
    X_train, y_train = make_embeddings(60, 16, mean_class_size=8, random_state=0)
    est = HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)
    # sampled more densely than the labelled classes: without n_clusters this
    # batch warns (see the test above)
    X_new, y_new = make_embeddings(25, 16, mean_class_size=40, random_state=1)
    for n_clusters in (12, 25, 50):
        told = copy.deepcopy(est).set_params(n_clusters=n_clusters)
        with warnings.catch_warnings():
            # the count, not the curve, decides: nothing to warn about
            warnings.simplefilter("error")
            labels = told.fit_predict(X_new)
        assert abs(np.log(told.n_clusters_ / n_clusters)) < np.log(1.2)
        assert np.unique(labels).size == told.n_clusters_
        assert np.isfinite(told.merge_threshold_)
    # told the truth, it scores better than told four times too many
    truth = np.unique(y_new).size
    right = copy.deepcopy(est).set_params(n_clusters=truth).fit(X_new)
    wrong = copy.deepcopy(est).set_params(n_clusters=4 * truth).fit(X_new)
    assert right.score(X_new, y_new) > wrong.score(X_new, y_new) + 0.1
    # the bundled network meets a number it is told, and otherwise merges at
    # a threshold of the grid chosen without labels
    bundled = HiLanderClustering(n_clusters=truth, random_state=0).fit(X_new)
    assert np.isfinite(bundled.merge_threshold_)
    assert abs(np.log(bundled.n_clusters_ / truth)) < np.log(1.2)
    untold = HiLanderClustering(random_state=0).fit(X_new).merge_threshold_
    assert untold in LABEL_FREE_CANDIDATES


def test_n_clusters_beyond_the_rows_is_a_clear_error_before_training():
    X, y = make_embeddings(5, 8, mean_class_size=4, random_state=0)
    est = HiLanderClustering(max_iter=2, n_clusters=len(X) + 1, random_state=0)
    with pytest.raises(ValueError, match=r"n_clusters=\d+ asks for more clusters"):
        est.fit_predict(X)
    fresh = clone(est)
    with pytest.raises(ValueError, match="n_clusters <= "):
        fresh.fit(X, y)
    assert not hasattr(fresh, "network_state_")  # refused before training


def test_predict_after_a_count_uses_the_merge_graph_the_count_chose():
    X_train, y_train = make_embeddings(60, 16, mean_class_size=8, random_state=0)
    est = HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)
    assert est.merge_graph_n_neighbors_ == est.merge_n_neighbors_
    # eight classes of about 150 points: the count widens the merge graph
    X, y = make_embeddings(8, 16, mean_class_size=150, random_state=1)
    est.set_params(n_clusters=np.unique(y).size).fit(X)
    assert est.merge_graph_n_neighbors_ == 3 * est.n_neighbors
    assert est.merge_n_neighbors_ < est.merge_graph_n_neighbors_  # fit's own
    np.testing.assert_array_equal(est.predict(X), est.labels_)


@pytest.mark.parametrize("stored", ["private name", "absent"])
def test_a_model_pickled_before_the_merge_graph_attribute_predicts_the_same(
    stored,
):
    X_train, y_train = make_embeddings(60, 16, mean_class_size=8, random_state=0)
    est = HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)
    X, y = make_embeddings(8, 16, mean_class_size=150, random_state=1)
    est.set_params(n_clusters=np.unique(y).size).fit(X)
    expected = est.predict(X)
    state = est.__getstate__()
    width = state.pop("merge_graph_n_neighbors_")
    if stored == "private name":  # as the release before stored it
        state["_merge_graph_n_neighbors"] = width
    old = HiLanderClustering.__new__(HiLanderClustering)
    old.__setstate__(state)
    restored = pickle.loads(pickle.dumps(old))
    if stored == "private name":
        assert restored.merge_graph_n_neighbors_ == width
        np.testing.assert_array_equal(restored.predict(X), expected)
    else:  # fit's own graph, as that release used
        assert restored.merge_graph_n_neighbors_ == est.merge_n_neighbors_


def test_a_count_is_met_where_the_hierarchy_linked_everything():
    # one class's rows: the hierarchy links them into one cluster, and a count
    # above one is met by points leaving it, not ignored
    X, y = make_embeddings(10, 8, random_state=1)
    # (a link threshold of 0 lets every point link to a denser neighbor)
    one_class = X[y == y[0]]
    alone = HiLanderClustering(link_threshold=0.0, random_state=0).fit(one_class)
    assert alone.n_clusters_per_level_[-1] == 1  # what this test is about
    for n_clusters in (2, 5, 10):
        est = HiLanderClustering(
            n_clusters=n_clusters, link_threshold=0.0, random_state=0
        )
        est.fit(one_class)
        assert abs(np.log(est.n_clusters_ / n_clusters)) < np.log(1.2)


def test_a_count_above_the_distinct_rows_is_refused():
    X = np.repeat(make_embeddings(10, 8, random_state=1)[0][:5], 10, axis=0)
    with pytest.raises(ValueError, match=r"more clusters than X has distinct rows"):
        HiLanderClustering(n_clusters=8).fit(X)
    # with labels, before any training
    est = HiLanderClustering(n_clusters=8, max_iter=1)
    with pytest.raises(ValueError, match=r"more clusters than X has distinct rows"):
        est.fit(X, np.arange(X.shape[0]) % 5)
    assert not hasattr(est, "network_state_")
    assert HiLanderClustering(n_clusters=5).fit(X).n_clusters_ == 5


@pytest.mark.parametrize("train_n_neighbors", [[0], [-5], [], [2.5], (10, True)])
def test_training_neighbor_counts_must_be_whole_numbers_above_zero(train_n_neighbors):
    X, y = make_embeddings(20, 8, random_state=0)
    est = HiLanderClustering(max_iter=1, train_n_neighbors=train_n_neighbors)
    with pytest.raises(ValueError, match="train_n_neighbors must hold"):
        est.fit(X, y)
    assert not hasattr(est, "network_state_")  # refused before training


def test_another_width_names_lending_the_network(small_fitted):
    X = np.random.default_rng(0).normal(size=(50, small_fitted.n_features_in_ + 1))
    for given in (X, X.tolist()):
        with pytest.raises(ValueError, match=r"lend it: HiLanderClustering\(pretra"):
            copy.deepcopy(small_fitted).fit_predict(given)
    with pytest.raises(ValueError, match=r"lend it: HiLanderClustering\(pretra"):
        small_fitted.score(X, np.arange(50) % 5)
    # ... which works
    lent = HiLanderClustering(pretrained=small_fitted, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the threshold is chosen without labels
        assert lent.fit_predict(X).shape == (50,)


def test_a_missing_label_in_y_points_to_unlabelled_rows():
    X, y = make_embeddings(20, 8, random_state=0)
    y = y.astype(object)
    y[3] = None
    with pytest.raises(ValueError, match="integer class ids with -1 there"):
        HiLanderClustering(max_iter=1).fit(X, y)
