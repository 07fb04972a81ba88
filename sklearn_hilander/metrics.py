"""Clustering quality against reference labels.

Pairwise and BCubed precision, recall and F-score, computed from the sparse
contingency table of (true class, predicted cluster) so that millions of
points take seconds. Predicted label ``-1`` (noise) is treated like any other
label by the F-scores here, i.e. noise points form one cluster; pass labels
with noise turned into singletons if that is what you want to measure.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy import sparse
from sklearn.metrics import normalized_mutual_info_score

from ._validation import check_cluster_labels

__all__ = [
    "pairwise_precision_recall_f",
    "pairwise_f_score",
    "bcubed_precision_recall_f",
    "bcubed_f_score",
    "pairwise_f_scorer",
    "bcubed_f_scorer",
    "nmi_scorer",
]


def _contingency(labels_true, labels_pred):
    t = check_cluster_labels(labels_true, "labels_true")
    p = check_cluster_labels(labels_pred, "labels_pred")
    if t.size != p.size:
        raise ValueError(
            "labels_true and labels_pred have inconsistent numbers of samples "
            f"({t.size} and {p.size}); pass one label of each per point."
        )
    if t.size == 0:
        raise ValueError("Cannot score an empty clustering: labels have 0 samples.")
    table = sparse.coo_matrix(
        (np.ones(t.size, dtype=np.int64), (t, p)), shape=(t.max() + 1, p.max() + 1)
    ).tocsr()
    table.sum_duplicates()
    return table


def _f(precision: float, recall: float) -> float:
    return (
        0.0
        if precision + recall == 0
        else 2 * precision * recall / (precision + recall)
    )


def pairwise_precision_recall_f(labels_true, labels_pred) -> tuple[float, float, float]:
    """Pairwise precision, recall and F-score.

    Counts ordered pairs of distinct points: precision is the share of pairs
    put together that belong together, recall the share of pairs belonging
    together that were put together. A side with no pairs at all (all
    singletons) scores 1 for that side when the other side also has none,
    else 0.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
    labels_pred : array-like of shape (n_samples,)

    Returns
    -------
    precision, recall, f_score : float

    Examples
    --------
    >>> from sklearn_hilander.metrics import pairwise_precision_recall_f
    >>> p, r, f = pairwise_precision_recall_f([0, 0, 1, 1], [0, 0, 0, 1])
    >>> round(p, 3), round(r, 3), round(f, 3)
    (0.333, 0.5, 0.4)
    """
    table = _contingency(labels_true, labels_pred)
    n = table.sum()
    together_true = np.asarray(table.sum(axis=1)).ravel().astype(np.float64)
    together_pred = np.asarray(table.sum(axis=0)).ravel().astype(np.float64)
    tp = float((table.data.astype(np.float64) ** 2).sum() - n)
    true_pairs = float((together_true**2).sum() - n)
    pred_pairs = float((together_pred**2).sum() - n)
    precision = tp / pred_pairs if pred_pairs > 0 else float(true_pairs == 0)
    recall = tp / true_pairs if true_pairs > 0 else float(pred_pairs == 0)
    return precision, recall, _f(precision, recall)


def pairwise_f_score(labels_true, labels_pred) -> float:
    """Pairwise F-score (see :func:`pairwise_precision_recall_f`).

    Examples
    --------
    >>> from sklearn_hilander.metrics import pairwise_f_score
    >>> pairwise_f_score([0, 0, 1, 1], [5, 5, 7, 7])
    1.0
    """
    return pairwise_precision_recall_f(labels_true, labels_pred)[2]


def bcubed_precision_recall_f(labels_true, labels_pred) -> tuple[float, float, float]:
    """BCubed precision, recall and F-score.

    For every point, precision is the share of its predicted cluster that
    shares its class and recall the share of its class found in its
    predicted cluster (both counting the point itself); each is averaged
    over points. Unlike pairwise scores, large clusters do not dominate.

    Examples
    --------
    >>> from sklearn_hilander.metrics import bcubed_precision_recall_f
    >>> p, r, f = bcubed_precision_recall_f([0, 0, 1, 1], [0, 0, 0, 1])
    >>> round(p, 3), round(r, 3), round(f, 3)
    (0.667, 0.75, 0.706)
    """
    table = _contingency(labels_true, labels_pred).tocoo()
    n = float(table.sum())
    class_size = np.asarray(table.sum(axis=1)).ravel()
    cluster_size = np.asarray(table.sum(axis=0)).ravel()
    counts = table.data.astype(np.float64)
    precision = float((counts**2 / cluster_size[table.col]).sum() / n)
    recall = float((counts**2 / class_size[table.row]).sum() / n)
    return precision, recall, _f(precision, recall)


def bcubed_f_score(labels_true, labels_pred) -> float:
    """BCubed F-score (see :func:`bcubed_precision_recall_f`).

    Examples
    --------
    >>> from sklearn_hilander.metrics import bcubed_f_score
    >>> bcubed_f_score([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    return bcubed_precision_recall_f(labels_true, labels_pred)[2]


def _nmi_score(labels_true, labels_pred) -> float:
    """Sklearn's NMI, after the same label checks as the scores above."""
    t = check_cluster_labels(labels_true, "labels_true")
    p = check_cluster_labels(labels_pred, "labels_pred", n_samples=t.size)
    return normalized_mutual_info_score(t, p)


def _clustering_scorer(score):
    """A GridSearchCV scorer that clusters the held-out fold by itself (its
    classes are not those of the fit) and compares with the fold's labels."""

    def scorer(estimator, X, y):
        if hasattr(estimator, "_cluster_batch"):
            labels = estimator._cluster_batch(X)
        elif hasattr(estimator, "fit_predict"):
            labels = copy.deepcopy(estimator).fit_predict(X)
        else:
            labels = estimator.predict(X)
        return score(y, labels)

    return scorer


pairwise_f_scorer = _clustering_scorer(pairwise_f_score)
bcubed_f_scorer = _clustering_scorer(bcubed_f_score)
nmi_scorer = _clustering_scorer(_nmi_score)
