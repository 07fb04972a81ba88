"""Hierarchical decoding: links -> forest -> clusters -> supernodes, repeated.

At every level each node keeps at most one link: to the neighbor with the
highest link score among those that are denser (ties broken by node index)
and score above the threshold. Increasing density makes the kept links a
forest; its trees are the clusters, their roots (density peaks) become the
supernodes of the next level. The loop stops when a level adds no link, when
one cluster is left, at ``max_levels``, or by Hi-LANDER's early-stop rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._graph import ROW_BLOCK
from ._level import Level, first_level, next_level

# Similarity above which two nodes count as copies of one point (an angle of
# about 0.08 degrees under cosine) and are always linked.
IDENTICAL_SIMILARITY = 1.0 - 1e-6
# With early stopping, a level that links fewer than this fraction of its
# nodes is the last: on large inputs the hierarchy otherwise creeps on for
# levels that each merge a few dozen of tens of thousands of nodes, every one
# paying a kNN search (at 300k points, three of six levels merged 65 nodes in
# all and took a fifth of the time).
MIN_LINKED_FRACTION = 0.05

# scorer(level) -> (link scores of shape (m, k), densities of shape (m,))
Scorer = Callable[[Level], "tuple[np.ndarray, np.ndarray]"]


def select_parents(
    indices: np.ndarray, scores: np.ndarray, density: np.ndarray, threshold: float
) -> np.ndarray:
    """Each node's parent among its neighbors, or -1 for a density peak.

    The parent is the neighbor with the highest score among those with a
    higher density and a score strictly above ``threshold``. Equal densities
    (exact duplicates have them) are ordered by node index, so that copies of
    one point can still join each other and the links still form a forest.
    """
    m = indices.shape[0]
    if indices.shape[1] == 0:
        return np.full(m, -1, dtype=np.int64)
    own, theirs = density[:, None], density[indices]
    denser = (theirs > own) | ((theirs == own) & (indices < np.arange(m)[:, None]))
    eligible = denser & (scores > threshold)
    masked = np.where(eligible, scores, -np.inf)
    best = masked.argmax(axis=1)
    has_parent = eligible[np.arange(m), best]
    return np.where(has_parent, indices[np.arange(m), best], -1)


def forest_components(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Component of each node of a forest, and the root of each component.

    Returns ``component`` (m,) and ``roots`` (n_components,) with
    ``component[roots[c]] == c``; components are numbered in root order.
    """
    m = parent.shape[0]
    child = np.flatnonzero(parent >= 0)
    graph = sparse.csr_matrix(
        (np.ones(child.size, dtype=np.int8), (child, parent[child])), shape=(m, m)
    )
    _, component = connected_components(graph, directed=False)
    roots = np.flatnonzero(parent < 0)
    # renumber so that component c is the tree rooted at roots[c]
    relabel = np.empty(roots.size, dtype=np.int64)
    relabel[component[roots]] = np.arange(roots.size)
    return relabel[component], roots


@dataclass
class Hierarchy:
    """What decoding produced, level by level."""

    labels: np.ndarray
    peaks: np.ndarray
    level0_density: np.ndarray
    n_clusters_per_level: list = field(default_factory=list)
    n_links_per_level: list = field(default_factory=list)

    @property
    def n_levels(self) -> int:
        return len(self.n_clusters_per_level)


def decode(
    X: np.ndarray,
    scorer: Scorer,
    *,
    threshold: float,
    n_neighbors: int,
    metric: str,
    max_levels: int = 10,
    early_stop: bool = True,
    random_state=None,
    n_jobs=None,
    level0: Level | None = None,
    on_level: Callable[[int, int], None] | None = None,
    verbose: bool = False,
) -> Hierarchy:
    """Cluster prepared features ``X`` level by level with ``scorer``.

    ``level0`` may pass a prebuilt first level (it only depends on ``X``) so
    that threshold searches do not repeat the kNN search. ``verbose`` shows
    the progress of each level's kNN search.
    """
    n = X.shape[0]
    graph_kw = dict(
        n_neighbors=n_neighbors,
        metric=metric,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    labels = np.arange(n)
    peaks = np.arange(n)
    level = level0 if level0 is not None else first_level(X, **graph_kw)
    result = Hierarchy(labels, peaks, np.zeros(n, dtype=np.float32))
    previous_links = np.inf
    for depth in range(max_levels):
        scores, density = scorer(level)
        # identical points belong together whatever the network says (it has
        # nothing to go on, e.g. with two copies and k = 1)
        scores = np.where(level.similarities >= IDENTICAL_SIMILARITY, 1.0, scores)
        if depth == 0:
            result.level0_density = np.asarray(density, dtype=np.float32)
        parent = select_parents(level.indices, scores, density, threshold)
        n_links = int((parent >= 0).sum())
        if n_links == 0:
            break
        component, roots = forest_components(parent)
        labels = component[labels]
        peaks = peaks[roots]
        result.labels, result.peaks = labels, peaks
        result.n_clusters_per_level.append(int(peaks.size))
        result.n_links_per_level.append(n_links)
        if on_level is not None:
            on_level(depth, int(peaks.size))
        # Hi-LANDER's rule: stop once a level merges more than 1/(k-1) of
        # what the level before merged; the hierarchy has converged.
        stop_early = early_stop and (
            previous_links / n_links < level.n_neighbors - 1
            or n_links < MIN_LINKED_FRACTION * level.n_nodes
        )
        if peaks.size < 2 or stop_early or depth == max_levels - 1:
            break
        previous_links = n_links
        level = next_level(X, labels, peaks, **graph_kw)
    return result


def canonical_labels(labels: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Renumber clusters ``0..c-1`` in an order that ignores row order.

    Each cluster is keyed by the smallest projection of its members' features
    on a fixed direction, a property of the content, not of row positions.
    """
    if labels.size == 0:
        return labels.astype(np.int64)
    direction = np.random.RandomState(0).standard_normal(X.shape[1])
    # float64 projection, a block of rows at a time (no float64 copy of X)
    key = np.concatenate(
        [
            np.asarray(X[start : start + ROW_BLOCK], dtype=np.float64) @ direction
            for start in range(0, X.shape[0], ROW_BLOCK)
        ]
    )
    _, labels = np.unique(labels, return_inverse=True)
    cluster_key = np.full(labels.max() + 1, np.inf)
    np.minimum.at(cluster_key, labels, key)
    order = np.argsort(cluster_key, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[labels].astype(np.int64)
