"""A linear map of the features, learned from the labelled classes.

The network reads only the geometry of the kNN graph (similarities, ranks,
shared neighbors), so it cannot learn that some directions of the feature
space vary within a class (a pen's thickness, a writer's slant) and others
between classes. Within-class whitening does: it divides each direction by
its spread inside the labelled classes, so that nuisance directions count
less in every similarity the graph is built from. Directions that vary
within the classes seen tend to vary within unseen classes of the same kind
too, which is what makes the map transfer.

The map is shrunk towards doing nothing: ``W = (s * c I + (1 - s) S)^(-1/2)``
with ``S`` the within-class covariance and ``c`` its mean eigenvalue. The
shrinkage ``s`` is chosen by holding classes out: the map learned on half
of the classes must raise the share of same-class neighbors among the
other half's ``k`` nearest, and ``s = 1``, no map, wins unless another
value cuts the wrong neighbors by a clear margin (sentence embeddings of
intents lose neighbors under any whitening; handwritten characters gain).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ._calibrate import whole_class_subset
from ._graph import ROW_BLOCK, euclidean_scale, knn_graph, normalize_rows

# Shrinkage candidates, 1 (no whitening) first so that it wins ties.
SHRINKAGES = (1.0, 0.7, 0.4, 0.2, 0.1)
# A map must cut the held-out share of wrong neighbors by this fraction to
# be used: on synthetic classes of round shape every shrinkage scored within
# 0.0005 of no map (noise that cost 0.003 pairwise F once taken), on
# Omniglot's characters the best cut it by 4.6%.
MIN_ERROR_CUT = 0.02
# Points of each half (whole classes) on which a candidate is scored: the
# exact kNN search over them costs seconds, whatever the training set's size.
HOLD_OUT_MAX_SAMPLES = 10_000


def _class_means(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean row of each class (float64, classes in sorted order) and each
    row's class index."""
    _, classes = np.unique(y, return_inverse=True)
    means = np.zeros((classes.max() + 1, X.shape[1]))
    np.add.at(means, classes, X)
    return means / np.bincount(classes)[:, None], classes


def within_class_covariance(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Covariance of the rows around their class means, float64, summed a
    block of rows at a time (no float64 copy of ``X``)."""
    means, classes = _class_means(X, y)
    covariance = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        residual = X[rows] - means[classes[rows]]
        covariance += residual.T @ residual
    return covariance / X.shape[0]


def shrunk_whitening(spectrum: tuple, shrinkage: float) -> np.ndarray:
    """``(shrinkage * c I + (1 - shrinkage) S)^(-1/2)`` from the eigenvalues
    and eigenvectors of ``S`` (``np.linalg.eigh``), ``c`` the mean
    eigenvalue; float64, symmetric. Shrinking moves the eigenvalues only,
    so one decomposition serves every shrinkage."""
    values, vectors = spectrum
    mean_variance = values.mean()
    if mean_variance <= 0:  # every class a single point, or constant
        return np.eye(values.size)
    shrunk = (1 - shrinkage) * values + shrinkage * mean_variance
    # relative floor: a direction with no spread at all is not blown up
    shrunk = np.maximum(shrunk, 1e-6 * mean_variance)
    return (vectors / np.sqrt(shrunk)) @ vectors.T


def apply_whitening(
    X: np.ndarray, metric: str, whitening: np.ndarray | None
) -> np.ndarray:
    """Prepared features mapped by ``whitening`` (unit rows again for
    cosine); ``None`` leaves them as they are."""
    if whitening is None:
        return X
    mapped = np.asarray(X, dtype=np.float32) @ whitening.astype(np.float32)
    return normalize_rows(mapped) if metric == "cosine" else mapped


def _neighbor_precision(X, y, n_neighbors, metric) -> float:
    """Share of same-class rows among each row's ``n_neighbors`` nearest
    (an exact search: the held-out halves are cut below its limit)."""
    indices, _ = knn_graph(X, n_neighbors, metric=metric)
    return float(np.mean(y[indices] == y[:, None]))


def learn_whitening(
    X: np.ndarray,
    y: np.ndarray,
    *,
    metric: str,
    n_neighbors: int,
    shrinkage: float | None = None,
    random_state=None,
) -> tuple[np.ndarray | None, float]:
    """The whitening of prepared features ``X`` learned from classes ``y``,
    and its shrinkage (``None`` and 1.0 when no whitening helps).

    ``shrinkage=None`` chooses it among :data:`SHRINKAGES` by holding out
    classes: the map learned on one half of the classes is scored by the
    same-class share of the other half's ``n_neighbors`` nearest, both ways
    round. For euclidean features the map also rescales, so that the mapped
    rows keep a root mean squared distance of 1 to their mean.
    """
    X = np.asarray(X, dtype=np.float32)
    classes = np.unique(y)
    if shrinkage is None:
        shrinkage = 1.0
        if classes.size >= 4 and n_neighbors > 0:
            shrinkage = _held_out_shrinkage(
                X, y, classes, metric, n_neighbors, check_random_state(random_state)
            )
    if shrinkage >= 1.0:
        return None, 1.0
    spectrum = np.linalg.eigh(within_class_covariance(X, y))
    whitening = shrunk_whitening(spectrum, shrinkage)
    if metric == "euclidean":
        whitening /= euclidean_scale(X @ whitening.astype(np.float32))
    return whitening.astype(np.float32), float(shrinkage)


def _held_out_shrinkage(X, y, classes, metric, n_neighbors, rng) -> float:
    """The shrinkage whose map, learned on one half of the classes, gives
    the other half the most same-class neighbors (summed both ways round)."""
    # the classes in an order of the data's (their means' lexicographic),
    # so that the halves drawn do not depend on how the labels are encoded
    means, _ = _class_means(X, y)
    by_mean = classes[np.lexsort(means.T[::-1])]
    halves = np.array_split(by_mean[rng.permutation(classes.size)], 2)
    rows = []
    for half in halves:
        in_half = np.flatnonzero(np.isin(y, half))
        rows.append(in_half[whole_class_subset(y[in_half], HOLD_OUT_MAX_SAMPLES, rng)])
    spectra = [np.linalg.eigh(within_class_covariance(X[r], y[r])) for r in rows]
    scores = np.zeros(len(SHRINKAGES))
    for learned, held_out in ((0, 1), (1, 0)):
        held_X, held_y = X[rows[held_out]], y[rows[held_out]]
        k = min(n_neighbors, held_y.size - 1)
        for i, shrinkage in enumerate(SHRINKAGES):
            whitening = (
                None
                if shrinkage >= 1.0
                else shrunk_whitening(spectra[learned], shrinkage)
            )
            mapped = apply_whitening(held_X, metric, whitening)
            scores[i] += _neighbor_precision(mapped, held_y, k, metric)
    # summed over the two halves: the share of wrong neighbors, doubled
    errors = 2.0 - scores
    errors[1:] = np.where(
        errors[1:] <= (1 - MIN_ERROR_CUT) * errors[0], errors[1:], np.inf
    )
    return SHRINKAGES[int(np.argmin(errors))]
