"""One level of the clustering hierarchy and the class-blind inputs of the GNN.

A level holds nodes (original points at level 0, merged clusters above), their
kNN graph, and what the network reads:

- *pair features* of every edge ``j -> i``: the similarity and where it sits
  in both ends' neighborhoods (ranks, gaps, shared neighbors, similarity of
  smoothed and of cluster-mean features);
- *node descriptors*: the shape of the node's similarity profile, its
  centrality among its neighbors, its cluster's cohesion and size.

None of these can tell which class a node belongs to, only how the geometry
around it looks; this is what lets a model trained on some classes transfer to
classes it has never seen. Raw coordinates are kept for the paper-faithful
variant used in the ablation study.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import torch
from scipy import sparse

from ._graph import (
    ROW_BLOCK,
    knn_graph,
    neighbor_similarity,
    pair_similarity,
    row_similarity,
)


@dataclass
class Level:
    """Nodes of one hierarchy level with their graph and network inputs.

    Attributes
    ----------
    peak_features : ndarray (m, d)
        Prepared feature of each node's peak point.
    cluster_mean : ndarray (m, d)
        Mean prepared feature of each node's member points.
    size : ndarray (m,)
        Number of original points in each node.
    cohesion : ndarray (m,)
        Mean similarity of each node's members to its cluster mean.
    peak_rows : ndarray (m,)
        Row of the original data holding each node's peak.
    indices, similarities : ndarray (m, k)
        The kNN graph (see :func:`knn_graph`).
    """

    peak_features: np.ndarray
    cluster_mean: np.ndarray
    size: np.ndarray
    cohesion: np.ndarray
    indices: np.ndarray
    similarities: np.ndarray
    metric: str
    peak_rows: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.peak_features.shape[0]

    @property
    def n_neighbors(self) -> int:
        return self.indices.shape[1]

    @cached_property
    def affinity(self) -> np.ndarray:
        """Row-normalised non-negative similarities (the conv's weights).

        Cached: every aggregation of the level reuses it."""
        w = np.maximum(self.similarities, 0.0)
        total = w.sum(axis=1, keepdims=True)
        return np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0).astype(
            np.float32
        )

    @cached_property
    def neighbor_mean(self) -> np.ndarray:
        """Affinity-weighted mean of the neighbors' peak_features features."""
        return self._aggregate(self.peak_features)

    @property
    def nodes_are_points(self) -> bool:
        """True at level 0, where every node is its own cluster mean."""
        return self.cluster_mean is self.peak_features

    @cached_property
    def cluster_points(self) -> np.ndarray:
        """Cluster means as points of the similarity space (unit rows under
        cosine); at level 0 every node is its own mean, already a point."""
        if self.nodes_are_points:
            return self.peak_features
        return _as_points(self.cluster_mean, self.metric)

    def _affinity_matrix(self) -> torch.Tensor:
        """The affinity as a sparse (m, m) CSR matrix, row ``i`` holding the
        weights of ``i``'s neighbors: aggregating is then one sparse product,
        which torch runs on all threads without gathering neighbor rows.
        It shares the level's arrays, so building it copies nothing."""
        m, k = self.indices.shape
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
            return torch.sparse_csr_tensor(
                torch.arange(m + 1) * k,
                torch.from_numpy(self.indices.ravel()),
                torch.from_numpy(self.affinity.ravel()),
                size=(m, m),
                check_invariants=False,
            )

    def _aggregate(self, values: np.ndarray) -> np.ndarray:
        """Affinity-weighted mean of ``values`` over each node's neighbors."""
        if self.n_neighbors == 0 or self.n_nodes == 0:
            return np.zeros(values.shape, dtype=np.float32)
        flat = np.ascontiguousarray(values, dtype=np.float32).reshape(self.n_nodes, -1)
        with torch.no_grad():
            out = self._affinity_matrix() @ torch.from_numpy(flat)
        return out.numpy().reshape(values.shape)

    def node_descriptors(self) -> np.ndarray:
        """Class-blind node inputs (:data:`NODE_DESCRIPTORS`, in order),
        concatenated with their neighborhood mean."""
        own = np.column_stack(
            [describe(self) for describe in NODE_DESCRIPTORS.values()]
        ).astype(np.float32)
        return np.concatenate([own, self._aggregate(own)], axis=1).astype(
            np.float32, copy=False
        )

    def coordinate_inputs(self) -> np.ndarray:
        """Paper-faithful node input: own and cluster feature, and their means."""
        own = np.concatenate([self.peak_features, self.cluster_mean], axis=1)
        return np.concatenate([own, self._aggregate(own)], axis=1).astype(
            np.float32, copy=False
        )

    def pair_features(self) -> np.ndarray:
        """Class-blind features of every edge (:data:`PAIR_FEATURES`, in
        order), shape (m, k, len(PAIR_FEATURES))."""
        m, k = self.indices.shape
        sims = self.similarities
        mean_sim = sims.mean(axis=1)
        smoothed = self.neighbor_mean * np.float32(k)
        smoothed += self.peak_features
        smoothed /= np.float32(k + 1)
        # in place: a second (m, d) array costs more than the scaling
        smoothed = _as_points(smoothed, self.metric, out=smoothed)
        smoothed_sims = neighbor_similarity(smoothed, self.indices, self.metric)
        # at level 0 the cluster means are the nodes: no new gather
        cluster_sims = (
            sims
            if self.nodes_are_points
            else neighbor_similarity(self.cluster_points, self.indices, self.metric)
        )
        # neighbor lists with self, for shared-neighbor counts and reverse
        # ranks
        lists = np.concatenate([np.arange(m)[:, None], self.indices], axis=1)
        out = np.empty((m, k, len(PAIR_FEATURES)), dtype=np.float32)
        if k == 0:
            return out
        # the entries two lists share (a repeated entry counts once per pair
        # of copies) are the entries of (lists as a 0/1 matrix) times its
        # transpose: m k^2 work, where comparing every pair of entries took
        # m k^3 and minutes and gigabytes at k = 100
        listed = sparse.csr_matrix(
            (
                np.ones(lists.size, dtype=np.int32),
                lists.ravel(),
                np.arange(0, lists.size + 1, k + 1),
            ),
            shape=(m, m),
        )
        listed_by = listed.T.tocsr()
        lists = torch.from_numpy(lists.astype(np.int32 if m < 2**31 else np.int64))
        rank = np.arange(k) / k
        step = max(1, ROW_BLOCK // k)
        for start in range(0, m, step):
            rows = slice(start, min(m, start + step))
            s = sims[rows]
            nbr = self.indices[rows]
            counts = (listed[rows] @ listed_by).tocsr()
            shared = np.asarray(
                counts[np.repeat(np.arange(nbr.shape[0]), k), nbr.ravel()]
            ).reshape(nbr.shape)
            with torch.no_grad():
                own, theirs = lists[rows], lists[torch.from_numpy(nbr)]
                back = theirs[:, :, 1:] == own[:, None, :1]
                reverse_rank = torch.where(
                    back.any(dim=2), back.to(torch.uint8).argmax(dim=2), k
                )
            edges = _EdgeBlock(
                similarity=s,
                centre_mean_similarity=mean_sim[rows, None],
                neighbor_mean_similarity=mean_sim[nbr],
                rank=rank,
                reverse_rank=reverse_rank.numpy() / k,
                shared_neighbors=shared / (k + 1),
                smoothed_similarity=smoothed_sims[rows],
                cluster_similarity=cluster_sims[rows],
            )
            block = out[rows]
            for column, feature in enumerate(PAIR_FEATURES.values()):
                block[..., column] = feature(edges)
        return out


@dataclass
class _EdgeBlock:
    """What the pair features of a block of centre nodes are computed from:
    arrays of shape (block, k), one value per edge ``j -> i``."""

    similarity: np.ndarray
    centre_mean_similarity: np.ndarray
    neighbor_mean_similarity: np.ndarray
    rank: np.ndarray
    reverse_rank: np.ndarray
    shared_neighbors: np.ndarray
    smoothed_similarity: np.ndarray
    cluster_similarity: np.ndarray


# The pair features, in column order. A network file records these names, so
# that a file built with other features is refused rather than misread;
# adding a feature is one entry here (and a retrained bundled network).
PAIR_FEATURES = {
    # similarity of i and j
    "similarity": lambda e: e.similarity,
    # below i's nearest neighbor's similarity (0 for the nearest)
    "gap_to_nearest": lambda e: e.similarity - e.similarity[:, :1],
    # above i's mean similarity to its neighbors
    "above_centre_mean": lambda e: e.similarity - e.centre_mean_similarity,
    # above j's mean similarity to its neighbors
    "above_neighbor_mean": lambda e: e.similarity - e.neighbor_mean_similarity,
    # j's rank among i's neighbors, over k
    "rank": lambda e: e.rank,
    # i's rank among j's neighbors over k (1 when j does not list i)
    "reverse_rank": lambda e: e.reverse_rank,
    # neighbors (self included) i and j share, over k + 1
    "shared_neighbors": lambda e: e.shared_neighbors,
    # similarity of i's and j's neighborhood-smoothed features
    "smoothed_similarity": lambda e: e.smoothed_similarity,
    # similarity of i's and j's cluster means
    "cluster_similarity": lambda e: e.cluster_similarity,
}

# The node descriptors, in column order (recorded in network files as the
# pair features are). Each reads a whole level.
NODE_DESCRIPTORS = {
    "mean_similarity": lambda level: level.similarities.mean(axis=1),
    "nearest_similarity": lambda level: level.similarities[:, 0],
    "farthest_similarity": lambda level: level.similarities[:, -1],
    "similarity_spread": lambda level: level.similarities.std(axis=1),
    "similarity_to_neighbor_mean": lambda level: similarity_to_averages(
        level.peak_features, level.neighbor_mean, level.metric
    ),
    "similarity_to_cluster_mean": lambda level: similarity_to_averages(
        level.peak_features, level.cluster_mean, level.metric
    ),
    "cohesion": lambda level: level.cohesion,
    "log_size": lambda level: np.log(level.size),
    "in_degree": lambda level: (
        np.bincount(level.indices.ravel(), minlength=level.n_nodes) / level.n_neighbors
    ),
}


def _as_points(V: np.ndarray, metric: str, out: np.ndarray | None = None) -> np.ndarray:
    """Averaged features brought back onto the unit sphere under cosine,
    written to ``out`` (``out=V`` scales in place) or to a new array.

    Averages of unit rows have norms of at most 1, so squaring cannot
    overflow (user input goes through :func:`prepare_features`, which guards
    against that); zero rows stay zero. Under euclidean ``V`` is returned."""
    if metric != "cosine":
        return V
    norms = np.sqrt(np.einsum("ij,ij->i", V, V))
    inverse = np.zeros_like(norms)
    np.divide(1, norms, out=inverse, where=norms > 0)
    return np.multiply(V, inverse[:, None], out=out)


def similarity_to_averages(A: np.ndarray, V: np.ndarray, metric: str) -> np.ndarray:
    """Similarity of each point ``A[i]`` to the averaged row ``V[i]`` brought
    onto the sphere (see :func:`_as_points`), a block of rows at a time: no
    full normalised copy of ``V`` is made."""
    out = np.empty(A.shape[0], dtype=np.float32)
    for start in range(0, A.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        out[rows] = row_similarity(A[rows], _as_points(V[rows], metric), metric)
    return out


def build_level(
    peak_features: np.ndarray,
    cluster_mean: np.ndarray,
    size: np.ndarray,
    cohesion: np.ndarray,
    peak_rows: np.ndarray,
    *,
    n_neighbors: int,
    metric: str,
    random_state=None,
    n_jobs=None,
    verbose=False,
) -> Level:
    """Search the kNN graph of ``peak_features`` features and wrap it in a Level."""
    indices, sims = knn_graph(
        peak_features,
        n_neighbors,
        metric=metric,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    return Level(
        peak_features=peak_features,
        cluster_mean=cluster_mean,
        size=np.asarray(size, dtype=np.float32),
        cohesion=np.asarray(cohesion, dtype=np.float32),
        indices=indices,
        similarities=sims,
        metric=metric,
        peak_rows=peak_rows,
    )


def with_fewer_neighbors(level: Level, k: int) -> Level:
    """The same level with each node's ``k`` nearest neighbors only."""
    k = min(k, level.n_neighbors)
    return replace(
        level,
        indices=np.ascontiguousarray(level.indices[:, :k]),
        similarities=np.ascontiguousarray(level.similarities[:, :k]),
    )


def first_level(X: np.ndarray, **kwargs) -> Level:
    """Level 0: every prepared point is its own cluster."""
    n = X.shape[0]
    return build_level(X, X, np.ones(n), np.ones(n), np.arange(n), **kwargs)


def next_level(X: np.ndarray, labels: np.ndarray, peaks: np.ndarray, **kwargs) -> Level:
    """Supernodes of the clusters ``labels`` (one per peak, in peak order).

    ``labels[p]`` must equal the position of peak ``p`` in ``peaks``: cluster
    ``c`` is represented by point ``peaks[c]``.
    """
    n_clusters = peaks.shape[0]
    n = X.shape[0]
    size = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    membership = sparse.csr_matrix(
        (np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(n_clusters, n)
    )
    means = np.asarray(membership @ X / size[:, None], dtype=np.float32)
    member_sim = pair_similarity(X, np.arange(n), labels, kwargs["metric"], Y=means)
    cohesion = np.bincount(labels, weights=member_sim, minlength=n_clusters) / size
    return build_level(X[peaks], means, size, cohesion, peaks, **kwargs)


@dataclass(frozen=True)
class GraphSearch:
    """How every level's kNN graph is searched (the estimator's settings).

    Attributes
    ----------
    n_neighbors : int
        Neighbors per node, self excluded.
    metric : {"cosine", "euclidean"}
        Similarity of prepared features.
    random_state : int, RandomState or None
        Seeds the approximate search.
    n_jobs : int or None
        Threads for the approximate search.
    verbose : bool
        Show each search's progress.
    """

    n_neighbors: int
    metric: str
    random_state: object = None
    n_jobs: int | None = None
    verbose: bool = False

    def _options(self) -> dict:
        return {
            "n_neighbors": self.n_neighbors,
            "metric": self.metric,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
            "verbose": self.verbose,
        }

    def first_level(self, X: np.ndarray) -> Level:
        """Level 0 of prepared features ``X`` (see :func:`first_level`)."""
        return first_level(X, **self._options())

    def next_level(self, X: np.ndarray, labels: np.ndarray, peaks: np.ndarray) -> Level:
        """Supernodes of the clusters ``labels`` (see :func:`next_level`)."""
        return next_level(X, labels, peaks, **self._options())
