"""k-nearest-neighbor graphs over feature rows.

The graph is stored in a fixed-width layout: ``indices[i, r]`` is the ``r``-th
nearest neighbor of row ``i`` (self excluded) and ``similarities[i, r]`` its
similarity, sorted in decreasing order. Every edge points from a neighbor
``j = indices[i, r]`` to the centre ``i``, as in Hi-LANDER.
"""

from __future__ import annotations

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

# Exact search costs O(n^2 d) but is deterministic and fast in BLAS up to a few
# tens of thousands of rows; beyond that pynndescent wins.
EXACT_SEARCH_MAX_SAMPLES = 30_000
# Random-projection trees seeding pynndescent. Its default (12 at most) found
# 63% of the true 10 neighbors on 1M synthetic 128-d points; 32 trees found
# 89% for 15% more time and no measurable extra memory.
APPROXIMATE_SEARCH_TREES = 32
# Tiles of the exact search: each joblib task takes a block of rows and walks
# the columns a tile at a time, so the (rows, columns) similarities stay in
# cache for the top-k that follows. Full-width blocks were a third slower at
# 20k rows, their similarities being written out to memory and read back.
EXACT_BLOCK_ROWS = 1024
EXACT_TILE_COLUMNS = 4096
# Pairs (or nodes' neighbor lists) gathered at once wherever per-pair feature
# rows are needed: bounds the temporary (block, n_features) copies.
ROW_BLOCK = 8192


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit L2 norm (zero rows stay zero).

    Rows are first divided by their largest magnitude, so that squares of
    huge or tiny float32 values neither overflow nor vanish.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1] == 0:
        return X.copy()
    peak = np.maximum(X.max(axis=1), -X.min(axis=1))[:, None]
    X = X / np.where(peak > 0, peak, np.float32(1))
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))[:, None]
    X /= np.where(norms > 0, norms, np.float32(1))
    return X


def _exact_knn(X: np.ndarray, n_neighbors: int, metric: str, verbose) -> np.ndarray:
    """Blocked brute-force search; memory stays at one tile of similarities.

    Blocks of rows are independent joblib tasks: sequential by default,
    spread over workers under ``joblib.parallel_config(backend=...)``
    (e.g. "dask").
    """
    n = X.shape[0]
    # rank euclidean neighbors by a.b - |b|^2 / 2, which orders like -|a-b|^2
    offset = -0.5 * np.einsum("ij,ij->i", X, X) if metric == "euclidean" else None
    starts = range(0, n, EXACT_BLOCK_ROWS)
    tasks = (
        delayed(_knn_block)(
            X, offset, start, min(n, start + EXACT_BLOCK_ROWS), n_neighbors
        )
        for start in tqdm(
            starts, desc="kNN search", unit="block", disable=not verbose, leave=False
        )
    )
    return np.concatenate(Parallel()(tasks))


def _knn_block(X, offset, start, stop, n_neighbors):
    """Neighbors of rows ``start:stop`` among all rows of ``X``; ``offset``
    (one value per row, or None) is added to every similarity."""
    data = torch.from_numpy(X)
    return _tiled_top_k(data[start:stop], data, offset, n_neighbors, own_start=start)


def _tiled_top_k(rows, data, offset, k, own_start=None):
    """Indices of the ``k`` best columns of ``rows @ data.T (+ offset)``.

    The best ``k`` of every column tile are kept, then the best of those, so
    the (rows, tile) similarities stay in cache. With ``own_start``, ``rows``
    are ``data[own_start:own_start + len(rows)]`` and never their own
    neighbors."""
    best_values, best_indices = [], []
    n = data.shape[0]
    with torch.no_grad():
        for first in range(0, n, EXACT_TILE_COLUMNS):
            last = min(n, first + EXACT_TILE_COLUMNS)
            S = rows @ data[first:last].T
            if offset is not None:
                S += torch.from_numpy(offset[first:last])
            if own_start is not None:
                own_stop = own_start + rows.shape[0]
                own_first, own_last = max(own_start, first), min(own_stop, last)
                if own_first < own_last:  # the block's own rows are in this tile
                    own = torch.arange(own_first, own_last)
                    S[own - own_start, own - first] = -torch.inf
            values, indices = S.topk(min(k, last - first), dim=1)
            best_values.append(values)
            best_indices.append(indices + first)
        values, indices = torch.cat(best_values, 1), torch.cat(best_indices, 1)
        keep = values.topk(k, dim=1).indices
        return torch.gather(indices, 1, keep).numpy().astype(np.int64)


def _approximate_knn(X, n_neighbors, metric, random_state, n_jobs, verbose):
    from pynndescent import NNDescent

    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    index = NNDescent(
        X,
        n_neighbors=n_neighbors + 1,
        metric="dot" if metric == "cosine" else "euclidean",
        random_state=seed,
        n_jobs=n_jobs if n_jobs is not None else 1,
        n_trees=APPROXIMATE_SEARCH_TREES,
        compressed=True,
        verbose=bool(verbose),
    )
    candidates, _ = index.neighbor_graph
    n = X.shape[0]
    rows = np.arange(n)[:, None]
    # Self is usually first but not with duplicates; drop it wherever it is,
    # otherwise drop the farthest candidate.
    is_self = candidates == rows
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), n_neighbors)
    keep = np.ones_like(candidates, dtype=bool)
    keep[np.arange(n), drop] = False
    return candidates[keep].reshape(n, n_neighbors).astype(np.int64)


def row_similarity(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Similarity of matching rows of ``a`` and ``b`` (leading axes broadcast).

    The cosine for ``metric="cosine"`` on prepared features (see
    :func:`prepare_features`); ``1 - ||a - b||^2 / 2`` for
    ``metric="euclidean"``, which equals the cosine on unit vectors.
    """
    if metric == "cosine":
        return np.einsum("...d,...d->...", a, b)
    diff = a - b
    return 1.0 - 0.5 * np.einsum("...d,...d->...", diff, diff)


def pair_similarity(
    X: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    metric: str = "cosine",
    Y: np.ndarray | None = None,
) -> np.ndarray:
    """Similarity of ``X[rows]`` and ``Y[cols]`` pair by pair (``Y`` defaults to ``X``).

    See :func:`row_similarity`. Pairs are gathered in blocks, so memory does
    not grow with the number of pairs beyond the result itself.
    """
    Y = X if Y is None else Y
    rows, cols = np.asarray(rows), np.asarray(cols)
    out = np.empty(rows.shape[0], dtype=np.float32)
    for start in range(0, rows.shape[0], ROW_BLOCK):
        sl = slice(start, start + ROW_BLOCK)
        out[sl] = row_similarity(X[rows[sl]], Y[cols[sl]], metric)
    return out


def neighbor_similarity(
    X: np.ndarray, indices: np.ndarray, metric: str = "cosine"
) -> np.ndarray:
    """Similarity of each row ``X[i]`` to its neighbors ``X[indices[i]]``, (m, k).

    The same values as :func:`pair_similarity` over the edges of a
    fixed-width graph, computed a block of nodes at a time so that each
    centre row is read once rather than once per edge.
    """
    m, k = indices.shape
    out = np.empty((m, k), dtype=np.float32)
    step = max(1, ROW_BLOCK // max(1, k))
    for start in range(0, m, step):
        centre = X[start : start + step, None, :]
        around = X[indices[start : start + step]]
        out[start : start + step] = row_similarity(centre, around, metric)
    return out


def knn_graph(
    X: np.ndarray,
    n_neighbors: int,
    *,
    metric: str = "cosine",
    random_state=None,
    n_jobs: int | None = None,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Build the kNN graph of prepared features.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features from :func:`prepare_features` (unit rows for cosine).
    n_neighbors : int
        Neighbors per row, self excluded; clipped to ``n_samples - 1``.
    metric : {"cosine", "euclidean"}
        How neighbors are ranked.
    random_state : int, RandomState or None
        Seeds pynndescent on inputs above ``EXACT_SEARCH_MAX_SAMPLES`` rows.
    n_jobs : int or None
        Threads for pynndescent.
    verbose : bool
        Show the search's progress (a bar over the exact search's blocks, or
        pynndescent's own log lines).

    Returns
    -------
    indices : ndarray of shape (n_samples, k), int64
    similarities : ndarray of shape (n_samples, k), float32
        Sorted in decreasing order along each row.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    k = min(n_neighbors, n - 1)
    if k < 1:
        return np.empty((n, 0), np.int64), np.empty((n, 0), np.float32)
    if n <= EXACT_SEARCH_MAX_SAMPLES:
        indices = _exact_knn(X, k, metric, verbose)
    else:
        indices = _approximate_knn(X, k, metric, random_state, n_jobs, verbose)
    sims = neighbor_similarity(X, indices, metric)
    # exact re-scoring may reorder approximate candidates; keep rows sorted
    order = np.lexsort((indices, -sims), axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    sims = np.take_along_axis(sims, order, axis=1)
    return indices, sims


def query_knn(
    Q: np.ndarray, X: np.ndarray, n_neighbors: int, metric: str = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` nearest rows of ``X`` to each row of ``Q`` (exact).

    Prepared features both; returns ``indices`` and ``similarities`` of shape
    (len(Q), k), sorted by decreasing similarity (ties by index). Memory
    stays at one tile of similarities.
    """
    Q = np.ascontiguousarray(Q, dtype=np.float32)
    X = np.ascontiguousarray(X, dtype=np.float32)
    k = min(n_neighbors, X.shape[0])
    offset = -0.5 * np.einsum("ij,ij->i", X, X) if metric == "euclidean" else None
    indices = _tiled_top_k(torch.from_numpy(Q), torch.from_numpy(X), offset, k)
    sims = row_similarity(Q[:, None, :], X[indices], metric).astype(np.float32)
    order = np.lexsort((indices, -sims), axis=1)
    return np.take_along_axis(indices, order, 1), np.take_along_axis(sims, order, 1)


def distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``X`` that are copies of no earlier row, and where each row went.

    Returns ``keep`` (first row of each distinct content, increasing) and
    ``inverse`` with ``X[keep][inverse] == X``; without copies ``keep`` is
    ``arange(n)``. Rows are compared by the bytes of their values after
    ``-0.0`` is made ``+0.0``, so rows equal as numbers are copies, whatever
    the sign of their zeros (NaN, which equals nothing, is compared by its
    bytes). A 64-bit hash of each row groups candidate copies, and only rows
    that share a hash are compared in full (sorting the rows' bytes
    themselves took seconds at a million rows); zeros are canonicalised a
    block of rows at a time, so no copy of ``X`` is made.
    """
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    if n == 0 or X.nbytes % (4 * n) != 0:
        return _distinct_rows_by_bytes(_positive_zeros(X))
    _, keep, inverse = np.unique(_row_hashes(X), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if keep.size < n:
        copies = np.flatnonzero(keep[inverse] != np.arange(n))
        if not np.array_equal(
            _words(X[copies]), _words(X[keep[inverse[copies]]])
        ):  # a hash collision: compare bytes
            return _distinct_rows_by_bytes(_positive_zeros(X))
    return _in_row_order(keep, inverse)


def _positive_zeros(X: np.ndarray) -> np.ndarray:
    """``X`` with every ``-0.0`` made ``+0.0`` (a new array for floating
    dtypes, since ``-0.0 + 0.0`` is ``+0.0``; ``X`` itself otherwise)."""
    return X + X.dtype.type(0) if X.dtype.kind in "fc" else X


def _words(rows: np.ndarray) -> np.ndarray:
    """Rows as 32-bit words, zeros made positive (``rows`` is not changed)."""
    rows = np.ascontiguousarray(_positive_zeros(rows))
    return rows.view(np.uint32).reshape(rows.shape[0], -1)


def _row_hashes(X: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of :func:`_words`: a fixed random odd multiplier
    per word, products summed modulo 2**64."""
    n_words = X.nbytes // (4 * X.shape[0])
    multipliers = np.random.RandomState(0).randint(
        1, np.iinfo(np.int64).max, size=n_words, dtype=np.int64
    ).astype(np.uint64) | np.uint64(1)
    hashes = np.empty(X.shape[0], dtype=np.uint64)
    for start in range(0, X.shape[0], ROW_BLOCK):
        block = _words(X[start : start + ROW_BLOCK]).astype(np.uint64)
        hashes[start : start + ROW_BLOCK] = (block * multipliers).sum(axis=1)
    return hashes


def _distinct_rows_by_bytes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`distinct_rows` by sorting the rows' bytes (zeros already made
    positive by the caller)."""
    as_bytes = X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    _, keep, inverse = np.unique(as_bytes, return_index=True, return_inverse=True)
    return _in_row_order(keep, inverse.ravel())


def _in_row_order(
    keep: np.ndarray, inverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Renumber distinct contents by the row where each first appears."""
    order = np.argsort(keep)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    return keep[order], position[inverse]


def euclidean_scale(X: np.ndarray) -> float:
    """Root mean squared distance of the rows to their mean (at least 1e-12).

    Accumulated in float64 a block of rows at a time."""
    mean = X.mean(axis=0, dtype=np.float64)
    total = 0.0
    for start in range(0, X.shape[0], ROW_BLOCK):
        block = np.asarray(X[start : start + ROW_BLOCK], dtype=np.float64)
        total += float(np.sum((block - mean) ** 2))
    return float(max(np.sqrt(total / max(X.shape[0], 1)), 1e-12))


def prepare_features(X: np.ndarray, metric: str, scale: float = 1.0) -> np.ndarray:
    """Map raw features to the space whose dot product is the similarity.

    For cosine the rows are L2-normalised. For euclidean the rows are divided
    by ``scale`` (the root mean squared distance to the mean, fitted once), so
    that unrelated pairs sit near similarity 0 as they do under cosine.
    """
    if metric == "cosine":
        return normalize_rows(X)
    return np.asarray(X, dtype=np.float32) / np.float32(scale)
