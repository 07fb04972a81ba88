"""Competitors, each tuned on labelled training classes by the same search.

Every baseline exposes ``tune(X_train, y_train)`` that grid-searches its
parameters for the best mean of BCubed F and pairwise F on the training
classes (HiLanderClustering's calibration maximises the same), and
``cluster(X)`` that applies the chosen parameters to new data. All work on
L2-normalised features (cosine geometry), like HiLanderClustering's default.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import DBSCAN, HDBSCAN

from sklearn_hilander._calibrate import clustering_score
from sklearn_hilander._decode import DistinctStart, decode
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch, Level


def singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    """Noise (-1) points become clusters of their own, so F-scores are fair."""
    labels = labels.copy()
    noise = labels < 0
    labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    return labels


def cosine_scorer(level: Level) -> tuple[np.ndarray, np.ndarray]:
    """The no-network control: link score = similarity, density = mean similarity."""
    return level.similarities, np.maximum(level.similarities, 0).mean(axis=1)


class Tuned:
    """Grid search over ``grid`` for the best mean of BCubed F and pairwise F
    on labelled data (what HiLanderClustering's calibration maximises too).

    ``prepare`` does the work shared by all grid points (a linkage tree, a
    kNN graph, a FINCH hierarchy), ``run`` applies one parameter set.
    """

    name = "baseline"
    grid: list = []

    def prepare(self, X):
        return X

    def run(self, prepared, **params):
        raise NotImplementedError

    def tune(self, X, y):
        prepared = self.prepare(normalize_rows(X))
        scores = [clustering_score(y, self.run(prepared, **p)) for p in self.grid]
        best = int(np.argmax(scores))
        self.params_, self.train_score_ = self.grid[best], scores[best]
        return self

    def cluster(self, X):
        return self.run(self.prepare(normalize_rows(X)), **self.params_)


class TunedDBSCAN(Tuned):
    name = "DBSCAN"
    grid = [
        {"eps": e, "min_samples": m}
        for e in np.round(np.arange(0.05, 0.75, 0.05), 2)
        for m in (1, 2, 3, 5)
    ]

    def run(self, X, eps, min_samples):
        labels = DBSCAN(eps=eps, min_samples=min_samples, metric="cosine").fit(X)
        return singletons_for_noise(labels.labels_)


class TunedHDBSCAN(Tuned):
    name = "HDBSCAN"
    grid = [
        {"min_cluster_size": c, "min_samples": m, "cluster_selection_method": s}
        for c in (2, 3, 5, 8)
        for m in (1, 2)
        for s in ("eom", "leaf")
    ]

    def run(self, X, **params):
        return singletons_for_noise(HDBSCAN(copy=True, **params).fit(X).labels_)


class TunedFINCH(Tuned):
    """FINCH's hierarchy; the tuned parameter is which partition to keep."""

    name = "FINCH"
    grid = [{"partition": p} for p in range(6)]

    def prepare(self, X):
        from finch import FINCH

        partitions, _, _ = FINCH(X, distance="cosine", verbose=False)
        return partitions

    def run(self, partitions, partition):
        return partitions[:, min(partition, partitions.shape[1] - 1)]


class TunedAgglomerative(Tuned):
    """Average-linkage agglomerative clustering cut at a cosine distance."""

    name = "Agglomerative (average)"
    grid = [{"distance": d} for d in np.round(np.arange(0.1, 1.0, 0.05), 2)]

    def prepare(self, X):
        return linkage(X, method="average", metric="cosine")

    def run(self, tree, distance):
        return fcluster(tree, t=distance, criterion="distance")


class TunedCosineDecoder(Tuned):
    """Hi-LANDER's decoder on raw cosine similarity: the no-network control."""

    name = "Cosine decoder (no network)"
    grid = [{"threshold": t} for t in np.round(np.arange(0.2, 0.96, 0.025), 3)]

    def __init__(self, n_neighbors=10):
        self.n_neighbors = n_neighbors

    def prepare(self, X):
        search = GraphSearch(self.n_neighbors, "cosine")
        return X, search, DistinctStart.of(X, search)

    def run(self, prepared, threshold):
        X, search, start = prepared
        hierarchy = decode(
            X,
            cosine_scorer,
            threshold=threshold,
            search=search,
            start=start,
        )
        return hierarchy.labels


ALL_BASELINES = (
    TunedCosineDecoder,
    TunedDBSCAN,
    TunedHDBSCAN,
    TunedFINCH,
    TunedAgglomerative,
)
