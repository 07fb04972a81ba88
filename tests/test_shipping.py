"""Sending a fitted estimator to a colleague: joblib, skops, DataFrames."""

import pickle

import joblib
import numpy as np
import pytest

from sklearn_hilander import HiLanderClustering

TRUSTED = ["sklearn_hilander._estimator.HiLanderClustering"]


def test_joblib_round_trip_gives_identical_labels(small_fitted, small_task, tmp_path):
    _, _, X_test, _ = small_task
    path = tmp_path / "model.joblib"
    joblib.dump(small_fitted, path, compress=3)
    restored = joblib.load(path)
    np.testing.assert_array_equal(
        restored.predict(X_test), small_fitted.predict(X_test)
    )
    assert restored.threshold_ == small_fitted.threshold_


def test_pickle_carries_no_training_data_once_prediction_data_is_dropped(
    small_fitted, small_task
):
    X_train, _, _, _ = small_task
    blob = pickle.dumps(pickle.loads(pickle.dumps(small_fitted)).drop_prediction_data())
    # training features would take this many bytes on their own
    assert len(blob) < X_train.astype(np.float32).nbytes
    assert X_train.astype(np.float32)[:4].tobytes() not in blob


def test_skops_round_trip_needs_only_our_estimator_trusted(
    small_fitted, small_task, tmp_path
):
    sio = pytest.importorskip("skops.io")
    _, _, X_test, _ = small_task
    path = tmp_path / "model.skops"
    sio.dump(small_fitted, path)
    assert sio.get_untrusted_types(file=path) == TRUSTED
    restored = sio.load(path, trusted=TRUSTED)
    np.testing.assert_array_equal(
        restored.predict(X_test), small_fitted.predict(X_test)
    )


def test_skops_refuses_to_load_without_a_trusted_list(small_fitted, tmp_path):
    sio = pytest.importorskip("skops.io")
    from skops.io.exceptions import UntrustedTypesFoundException

    path = tmp_path / "model.skops"
    sio.dump(small_fitted, path)
    with pytest.raises(UntrustedTypesFoundException):
        sio.load(path)


def test_skops_keeps_an_unlabelled_pretrained_model(small_task, tmp_path):
    sio = pytest.importorskip("skops.io")
    _, _, X_test, _ = small_task
    est = HiLanderClustering().fit(X_test)
    path = tmp_path / "pretrained.skops"
    sio.dump(est, path)
    restored = sio.load(path, trusted=TRUSTED)
    np.testing.assert_array_equal(restored.predict(X_test), est.labels_)


def test_dataframe_column_names_are_recorded_and_checked(small_fitted, small_task):
    pd = pytest.importorskip("pandas")
    X_train, y_train, X_test, _ = small_task
    columns = [f"dim{i}" for i in range(X_train.shape[1])]
    est = HiLanderClustering(max_iter=2, random_state=0)
    est.fit(pd.DataFrame(X_train, columns=columns), pd.Series(y_train))
    np.testing.assert_array_equal(est.feature_names_in_, columns)
    frame = pd.DataFrame(X_test, columns=columns)
    labels = est.predict(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(est.predict(X_test), labels)
    renamed = frame.rename(columns=lambda name: name.upper())
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(renamed)


def test_string_labels_from_a_dataframe_column(small_task):
    pd = pytest.importorskip("pandas")
    X_train, y_train, _, _ = small_task
    names = pd.Series([f"person-{c}" for c in y_train], dtype="string")
    numeric = HiLanderClustering(max_iter=2, random_state=0).fit(X_train, y_train)
    named = HiLanderClustering(max_iter=2, random_state=0).fit(X_train, names)
    assert named.n_train_classes_ == numeric.n_train_classes_
    np.testing.assert_array_equal(named.labels_, numeric.labels_)
