"""GridSearchCV over the link threshold, with and without ``memory``.

Class-disjoint folds (GroupKFold on the class labels) of the Omniglot
meta-training features; the grid changes only an inference-time parameter,
so with ``memory`` each fold trains once instead of once per grid point.
Both searches run in this process, one after the other, and must agree.

    python -m benchmarks.model_selection   # writes docs/model_selection_results.md
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from benchmarks._report import publish
from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_omniglot_features

GRID = {"link_threshold": [0.6, 0.7, 0.8, 0.9]}
OUTPUT = os.path.join(
    os.path.dirname(__file__), "..", "docs", "model_selection_results.md"
)


def search(X, y, memory):
    est = HiLanderClustering(random_state=0, memory=memory)
    start = time.perf_counter()
    result = GridSearchCV(est, GRID, cv=GroupKFold(n_splits=3)).fit(X, y, groups=y)
    return result, time.perf_counter() - start


def main():
    data = load_omniglot_features()
    mask = data["meta_train"]
    X, y = data["features"][mask], data["label"][mask]
    with tempfile.TemporaryDirectory() as cache:
        plain, plain_s = search(X, y, None)
        cached, cached_s = search(X, y, cache)
        n_trainings = sum(files.count("output.pkl") for _, _, files in os.walk(cache))
    same = np.allclose(
        plain.cv_results_["mean_test_score"], cached.cv_results_["mean_test_score"]
    )
    n_fits = len(GRID["link_threshold"]) * 3 + 1
    rows = [
        ("without memory", n_fits, plain_s, 1.0),
        ("memory=<cache dir>", n_trainings, cached_s, plain_s / cached_s),
    ]
    lines = [
        "# GridSearchCV with and without `memory`",
        "",
        f"Omniglot meta-training features ({len(X)} points, {np.unique(y).size} "
        "classes), `GroupKFold(n_splits=3)` over the classes, grid "
        f"`{GRID}` ({n_fits} fits with the refit), default parameters, 2 CPU cores. "
        "Produced by `python -m benchmarks.model_selection`.",
        "",
        "| search | network trainings | seconds | speed-up |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {t} | {s:.1f} | {r:.2f}x |" for n, t, s, r in rows]
    lines += [
        "",
        f"Same scores with and without the cache: {same}. Best "
        f"`{plain.best_params_}`, mean BCubed F on held-out folds "
        f"{plain.best_score_:.3f}.",
    ]
    publish(lines, OUTPUT)


if __name__ == "__main__":
    main()
