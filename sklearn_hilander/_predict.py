"""New points into the clusters of a fit: inductive prediction and strength.

A fitted estimator keeps its first level (the distinct fitted points, their
kNN graph, network inputs and clusters). A new point is placed as a node of
that level would be: its ``k`` nearest fitted points are its neighbors, its
pair features and node descriptors are computed as for a fitted node (the
fitted points' own lists are left as they are, so one new point never
changes the answer for another), and the network scores its links. The point
joins the cluster of its most likely neighbor if that link beats the
threshold, and gets -1 otherwise.

Membership strength is the link-probability mass a point gives its own
cluster: the mean over its neighbors of ``p(link) * [same cluster]``. Deep in
a cluster it is near 1; at a boundary, where some neighbors belong elsewhere
or the links are uncertain, it is lower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._graph import ROW_BLOCK, query_knn, row_similarity
from ._level import (
    NODE_DESCRIPTORS,
    PAIR_FEATURES,
    Level,
    _as_points,
    _EdgeBlock,
    similarity_to_averages,
)
from ._model import load_network, node_inputs


@dataclass
class FittedPoints:
    """What prediction keeps of a fit (see the module docstring).

    Memory: per distinct fitted point, ``2 d + k + 18`` float32 values and
    ``k`` int64 neighbor ids.
    """

    features: np.ndarray
    indices: np.ndarray
    similarities: np.ndarray
    smoothed: np.ndarray
    node_in: np.ndarray
    labels: np.ndarray
    metric: str

    @classmethod
    def of_level(
        cls, level: Level, architecture: str, labels: np.ndarray
    ) -> FittedPoints:
        """Keep the first level of a fit; ``labels`` are its nodes' clusters."""
        return cls(
            features=level.peak_features,
            indices=level.indices,
            similarities=level.similarities,
            smoothed=_smoothed(
                level.peak_features,
                level.neighbor_mean,
                level.n_neighbors,
                level.metric,
            ),
            node_in=node_inputs(level, architecture),
            labels=np.asarray(labels, dtype=np.int64),
            metric=level.metric,
        )

    @property
    def n_neighbors(self) -> int:
        return self.indices.shape[1]


def _smoothed(features, neighbor_mean, k, metric):
    """Each node averaged with its ``k`` neighbors (as the pair feature
    "smoothed_similarity" does), brought back to points."""
    return _as_points(
        (neighbor_mean * np.float32(k) + features) / np.float32(k + 1), metric
    )


def _query_inputs(points: FittedPoints, Q: np.ndarray, idx, sims, architecture):
    """Node inputs and pair features of query rows ``Q`` whose neighbors among
    the fitted points are ``idx`` with similarities ``sims``."""
    m, k = idx.shape
    weight = np.maximum(sims, 0.0)
    total = weight.sum(axis=1, keepdims=True)
    affinity = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 0.0)
    affinity = affinity.astype(np.float32)
    neighbor_mean = np.einsum("mk,mkd->md", affinity, points.features[idx])
    fitted_sims = points.similarities
    mean_sim = sims.mean(axis=1)
    # would the fitted neighbor j list the query among its k nearest, and where
    reverse = (fitted_sims[idx] > sims[:, :, None]).sum(axis=2)
    listed_by = reverse < k
    if architecture == "lander":
        own = {
            "mean_similarity": mean_sim,
            "nearest_similarity": sims[:, 0],
            "farthest_similarity": sims[:, -1],
            "similarity_spread": sims.std(axis=1),
            "similarity_to_neighbor_mean": similarity_to_averages(
                Q, neighbor_mean, points.metric
            ),
            "similarity_to_cluster_mean": np.ones(m, dtype=np.float32),
            "cohesion": np.ones(m, dtype=np.float32),
            "log_size": np.zeros(m, dtype=np.float32),
            "in_degree": listed_by.sum(axis=1) / k,
        }
        if list(own) != list(NODE_DESCRIPTORS):
            raise RuntimeError("prediction does not compute every node descriptor")
        own = np.column_stack([own[name] for name in NODE_DESCRIPTORS]).astype(
            np.float32
        )
        n_own = own.shape[1]
        around = np.einsum("mk,mkf->mf", affinity, points.node_in[idx][:, :, :n_own])
        node_in = np.concatenate([own, around], axis=1).astype(np.float32)
    elif architecture == "pairs":
        node_in = np.zeros((m, 1), dtype=np.float32)
    else:
        raise ValueError(
            f"predict does not support the {architecture!r} network; cluster new "
            "points with fit_predict instead."
        )
    smoothed = _smoothed(Q, neighbor_mean, k, points.metric)
    their_lists = points.indices[idx]  # (m, k, k)
    shared = 1 + (idx[:, None, :, None] == their_lists[:, :, None, :]).sum((2, 3))
    shared = shared + listed_by
    edges = _EdgeBlock(
        similarity=sims,
        centre_mean_similarity=mean_sim[:, None],
        neighbor_mean_similarity=fitted_sims.mean(axis=1)[idx],
        rank=np.arange(k) / k,
        reverse_rank=np.where(listed_by, reverse / k, 1.0),
        shared_neighbors=shared / (k + 1),
        smoothed_similarity=row_similarity(
            smoothed[:, None, :], points.smoothed[idx], points.metric
        ),
        cluster_similarity=sims,
    )
    pair = np.empty((m, k, len(PAIR_FEATURES)), dtype=np.float32)
    for column, feature in enumerate(PAIR_FEATURES.values()):
        pair[..., column] = feature(edges)
    return node_in, pair


def assign(
    points: FittedPoints,
    Q: np.ndarray,
    config: dict,
    state: dict,
    *,
    threshold: float,
    merge_threshold: float = np.inf,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster of each prepared query row among the fitted clusters (-1 for
    none), and its membership strength in [0, 1].

    A row joins the cluster of its most likely neighbor when that link beats
    ``threshold``, as a fitted point's first link does; else, as the merging
    step would move a point, the fitted cluster ``C`` it gains most by
    joining, its summed link probability into ``C`` less ``merge_threshold``
    times the size of ``C``, when that gain is positive; else none.
    """
    net = load_network(config, state, device)
    k = points.n_neighbors
    # member counts, not the merge's strength weights (_decode.point_weights):
    # a query's strength over its k neighbors is not on the scale of the
    # merge graph's, so its weight is unknown; the weights average a little
    # under 1, so a count prices joining a cluster slightly higher than fit
    sizes = np.bincount(points.labels[points.labels >= 0]).astype(np.float64)
    labels = np.empty(Q.shape[0], dtype=np.int64)
    strength = np.empty(Q.shape[0], dtype=np.float32)
    step = max(1, ROW_BLOCK // max(1, k))
    for start in range(0, Q.shape[0], step):
        rows = slice(start, start + step)
        idx, sims = query_knn(Q[rows], points.features, k, points.metric)
        node_in, pair = _query_inputs(
            points, Q[rows], idx, sims, config["architecture"]
        )
        with torch.no_grad():
            centre, _ = net.node_terms(torch.from_numpy(node_in).to(device))
            _, around = net.node_terms(torch.from_numpy(points.node_in[idx]).to(device))
            logits = net.edge_logits(centre, around, torch.from_numpy(pair).to(device))
            probs = torch.sigmoid(logits).cpu().numpy()
        # copies of a fitted point belong to its cluster whatever the network says
        probs = np.where(sims >= 1.0 - 1e-6, 1.0, probs)
        rows_in_block = np.arange(idx.shape[0])
        best = probs.argmax(axis=1)
        chosen = points.labels[idx[rows_in_block, best]]
        linked = probs[rows_in_block, best] > threshold
        # summed probability of the links into each neighbor's cluster
        clusters = points.labels[idx]
        summed = (
            (clusters[:, :, None] == clusters[:, None, :]) * probs[:, None, :]
        ).sum(2)
        gain = np.where(
            clusters >= 0,
            summed - merge_threshold * sizes[np.maximum(clusters, 0)],
            -np.inf,
        )
        strongest = gain.argmax(axis=1)
        merged = clusters[rows_in_block, strongest]
        joins = gain[rows_in_block, strongest] > 0
        labels[rows] = np.where(
            linked & (chosen >= 0), chosen, np.where(joins, merged, -1)
        )
        same = points.labels[idx] == labels[rows][:, None]
        strength[rows] = np.where(labels[rows] >= 0, (probs * same).mean(axis=1), 0.0)
    return labels, strength


def fitted_strength(points: FittedPoints, scores: np.ndarray) -> np.ndarray:
    """Membership strength of the fitted points from their level-0 link
    probabilities ``scores`` (n, k)."""
    same = points.labels[points.indices] == points.labels[:, None]
    return np.where(points.labels >= 0, (scores * same).mean(axis=1), 0.0).astype(
        np.float32
    )
