"""One level of the clustering hierarchy and the class-blind inputs of the GNN.

A level holds nodes (original points at level 0, merged clusters above), their
kNN graph, and what the network reads:

- *pair features* of every edge ``j -> i``: the similarity and where it sits
  in both ends' neighbourhoods (ranks, gaps, shared neighbours, similarity of
  smoothed and of cluster-mean features);
- *node descriptors*: the shape of the node's similarity profile, its
  centrality among its neighbours, its cluster's cohesion and size.

None of these can tell which class a node belongs to, only how the geometry
around it looks; this is what lets a model trained on some classes transfer to
classes it has never seen. Raw coordinates are kept for the paper-faithful
variant used in the ablation study.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import sparse

from ._graph import PAIR_BLOCK, knn_graph, pair_similarity, prepare_features

N_PAIR_FEATURES = 9
N_NODE_DESCRIPTORS = 9


@dataclass
class Level:
    """Nodes of one hierarchy level with their graph and network inputs.

    Attributes
    ----------
    identity : ndarray (m, d)
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

    identity: np.ndarray
    cluster_mean: np.ndarray
    size: np.ndarray
    cohesion: np.ndarray
    indices: np.ndarray
    similarities: np.ndarray
    metric: str
    peak_rows: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.identity.shape[0]

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
    def neighbour_mean(self) -> np.ndarray:
        """Affinity-weighted mean of the neighbours' identity features."""
        return self._aggregate(self.identity)

    @property
    def nodes_are_points(self) -> bool:
        """True at level 0, where every node is its own cluster mean."""
        return self.cluster_mean is self.identity

    @cached_property
    def cluster_points(self) -> np.ndarray:
        """Cluster means as points of the similarity space (unit rows under
        cosine); at level 0 every node is its own mean, already a point."""
        if self.nodes_are_points:
            return self.identity
        return _as_points(self.cluster_mean, self.metric)

    def _aggregate(self, values: np.ndarray) -> np.ndarray:
        """Affinity-weighted mean of ``values`` over each node's neighbours,
        gathered in blocks of nodes (never an (m, k, d) array)."""
        out = np.empty((self.n_nodes, *values.shape[1:]), dtype=np.float32)
        step = max(1, PAIR_BLOCK // max(1, self.n_neighbors))
        for start in range(0, self.n_nodes, step):
            sl = slice(start, start + step)
            out[sl] = np.einsum(
                "ik,ik...->i...", self.affinity[sl], values[self.indices[sl]]
            )
        return out

    def node_descriptors(self) -> np.ndarray:
        """Class-blind node inputs, concatenated with their neighbourhood mean."""
        sims = self.similarities
        k = self.n_neighbors
        in_degree = np.bincount(self.indices.ravel(), minlength=self.n_nodes)
        own = np.column_stack(
            [
                sims.mean(axis=1),
                sims[:, 0],
                sims[:, -1],
                sims.std(axis=1),
                pair_similarity_to(
                    self.identity,
                    _as_points(self.neighbour_mean, self.metric),
                    self.metric,
                ),
                pair_similarity_to(self.identity, self.cluster_points, self.metric),
                self.cohesion,
                np.log(self.size),
                in_degree / k,
            ]
        ).astype(np.float32)
        return np.concatenate([own, self._aggregate(own)], axis=1).astype(
            np.float32, copy=False
        )

    def coordinate_inputs(self) -> np.ndarray:
        """Paper-faithful node input: own and cluster feature, and their means."""
        own = np.concatenate([self.identity, self.cluster_mean], axis=1)
        return np.concatenate([own, self._aggregate(own)], axis=1).astype(
            np.float32, copy=False
        )

    def pair_features(self) -> np.ndarray:
        """Class-blind features of every edge, shape (m, k, N_PAIR_FEATURES)."""
        m, k = self.indices.shape
        sims = self.similarities
        mean_sim = sims.mean(axis=1)
        smoothed = _as_points(
            (self.identity + k * self.neighbour_mean) / (k + 1), self.metric
        )
        # neighbour lists with self, for shared-neighbour counts
        with_self = np.concatenate([np.arange(m)[:, None], self.indices], axis=1)
        centre = np.repeat(np.arange(m), k)
        nbr = self.indices.ravel()
        out = np.empty((m * k, N_PAIR_FEATURES), dtype=np.float32)
        # edge blocks bound the (edges, k + 1, k + 1) shared-neighbour test
        for start in range(0, m * k, PAIR_BLOCK):
            sl = slice(start, min(m * k, start + PAIR_BLOCK))
            i, j = centre[sl], nbr[sl]
            s = sims.ravel()[sl]
            shared = (with_self[i][:, :, None] == with_self[j][:, None, :]).sum((1, 2))
            back = self.indices[j] == i[:, None]
            reverse_rank = np.where(back.any(axis=1), back.argmax(axis=1), k)
            out[sl] = np.column_stack(
                [
                    s,
                    s - sims[i, 0],
                    s - mean_sim[i],
                    s - mean_sim[j],
                    (np.arange(start, sl.stop) % k) / k,
                    reverse_rank / k,
                    shared / (k + 1),
                    pair_similarity(smoothed, i, j, self.metric),
                    # at level 0 the cluster means are the nodes: no new gather
                    s
                    if self.nodes_are_points
                    else pair_similarity(self.cluster_points, i, j, self.metric),
                ]
            )
        return out.reshape(m, k, N_PAIR_FEATURES)


def _as_points(V: np.ndarray, metric: str) -> np.ndarray:
    """Averaged features brought back onto the unit sphere under cosine."""
    return prepare_features(V, "cosine") if metric == "cosine" else V


def pair_similarity_to(A: np.ndarray, B: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise similarity between matching rows of ``A`` and ``B``, both
    points of the similarity space (see :func:`_as_points`)."""
    rows = np.arange(A.shape[0])
    return pair_similarity(A, rows, rows, metric, Y=B)


def build_level(
    identity: np.ndarray,
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
    """Search the kNN graph of ``identity`` features and wrap it in a Level."""
    indices, sims = knn_graph(
        identity,
        n_neighbors,
        metric=metric,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    return Level(
        identity=identity,
        cluster_mean=cluster_mean,
        size=np.asarray(size, dtype=np.float32),
        cohesion=np.asarray(cohesion, dtype=np.float32),
        indices=indices,
        similarities=sims,
        metric=metric,
        peak_rows=peak_rows,
    )


def with_fewer_neighbors(level: Level, k: int) -> Level:
    """The same level with each node's ``k`` nearest neighbours only."""
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
