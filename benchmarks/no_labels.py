"""Clustering with no labels: HiLanderClustering() against DBSCAN and HDBSCAN.

On held-out classes, ``HiLanderClustering()`` with its defaults (the bundled
network; no labels anywhere) beside ``DBSCAN()`` and ``HDBSCAN()`` with
their defaults, and beside DBSCAN and HDBSCAN *tuned with labels* of other
classes from the same source (the grid search of ``benchmarks/baselines.py``).
Noise points count as singleton clusters. Data: synthetic sets of 200
classes at five dimensions (training sets for tuning use other seeds) and
the Omniglot evaluation alphabets (tuning on the meta-training alphabets).

    python -m benchmarks.no_labels   # writes docs/no_label_results.md
"""

from __future__ import annotations

import os

from sklearn.cluster import DBSCAN, HDBSCAN

from benchmarks._report import publish
from benchmarks.baselines import (
    TunedDBSCAN,
    TunedHDBSCAN,
    singletons_for_noise,
)
from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import (
    load_omniglot_features,
    make_embeddings,
)
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

OUTPUT = os.path.join(os.path.dirname(__file__), "..", "docs", "no_label_results.md")
METHODS = [
    "HiLanderClustering()",
    "DBSCAN()",
    "HDBSCAN()",
    "DBSCAN tuned with labels",
    "HDBSCAN tuned with labels",
]


def data_sets():
    for dim in (16, 32, 64, 128, 256):
        X, y = make_embeddings(200, dim, random_state=dim)
        X_tune, y_tune = make_embeddings(200, dim, random_state=1000 + dim)
        yield f"synthetic d={dim}", X, y, X_tune, y_tune
    data = load_omniglot_features()
    X, y = data["features"], data["label"]
    train, test = data["meta_train"], data["evaluation"]
    yield "Omniglot evaluation", X[test], y[test], X[train], y[train]


def cluster_all(X, X_tune, y_tune):
    yield HiLanderClustering().fit_predict(X)
    yield singletons_for_noise(DBSCAN().fit_predict(X))
    yield singletons_for_noise(HDBSCAN(copy=True).fit_predict(X))
    yield TunedDBSCAN().tune(X_tune, y_tune).cluster(X)
    yield TunedHDBSCAN().tune(X_tune, y_tune).cluster(X)


def main():
    rows = []
    for name, X, y, X_tune, y_tune in data_sets():
        scores = [
            (bcubed_f_score(y, labels), pairwise_f_score(y, labels))
            for labels in cluster_all(X, X_tune, y_tune)
        ]
        rows.append((name, scores))
        print(name, " ".join(f"{fb:.3f}/{fp:.3f}" for fb, fp in scores), flush=True)
    lines = [
        "# Clustering without labels",
        "",
        "BCubed F / pairwise F on held-out classes. `HiLanderClustering()` and "
        "the `DBSCAN()`/`HDBSCAN()` columns use default parameters and no "
        "labels; the tuned columns get a grid search on labelled classes of "
        "the same source (synthetic: other seeds; Omniglot: the meta-training "
        "alphabets). Noise points count as singletons. Produced by "
        "`python -m benchmarks.no_labels`.",
        "",
        "| data | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    for name, scores in rows:
        best = max(fb for fb, _ in scores)
        cells = [
            (f"**{fb:.3f}**" if fb == best else f"{fb:.3f}") + f" / {fp:.3f}"
            for fb, fp in scores
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    publish(lines, OUTPUT)


if __name__ == "__main__":
    main()
