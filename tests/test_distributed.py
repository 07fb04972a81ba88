"""The heavy blocks run through joblib, so a Dask cluster can take them."""

import joblib
import numpy as np
import pytest

from sklearn_hilander import _graph, _scoring

from .conftest import cluster_new


@pytest.fixture
def small_blocks(monkeypatch, small_task):
    """Several kNN and inference blocks even on the small test set."""
    _, _, X_test, _ = small_task
    monkeypatch.setattr(_scoring, "INFERENCE_NODES", 500)
    monkeypatch.setattr(_graph, "EXACT_BLOCK_ROWS", 500)
    n_blocks = -(-len(X_test) // 500)
    assert n_blocks >= 4
    return n_blocks


def test_local_dask_cluster_gives_identical_labels(
    small_fitted, small_task, small_blocks
):
    distributed = pytest.importorskip("dask.distributed")
    _, _, X_test, _ = small_task
    expected = cluster_new(small_fitted, X_test)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with (
            distributed.get_task_stream(client) as stream,
            joblib.parallel_config(backend="dask"),
        ):
            labels = cluster_new(small_fitted, X_test)
        workers = {task["worker"] for task in stream.data}
    np.testing.assert_array_equal(labels, expected)
    # kNN blocks of level 0 plus inference blocks of every level went over
    assert len(stream.data) >= 2 * small_blocks
    assert len(workers) == 2


def test_other_joblib_backends_agree(small_fitted, small_task, small_blocks):
    _, _, X_test, _ = small_task
    expected = cluster_new(small_fitted, X_test)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        np.testing.assert_array_equal(cluster_new(small_fitted, X_test), expected)
