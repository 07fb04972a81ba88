"""Choosing the link threshold on labelled data.

The threshold is the one decoding parameter learned from labels besides the
network: the value whose clustering of the labelled sets has the best mean
BCubed F. It is searched in logit space, where the useful values of a sharp
network spread out: a coarse sweep, then a fine one around the best.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ._decode import DistinctStart, Scorer, decode
from ._level import GraphSearch
from .metrics import bcubed_f_score

COARSE_LOGITS = np.arange(-3.0, 6.01, 0.5)
FINE_LOGIT_STEP = 0.1
# The search decodes the labelled set a few dozen times; above this many
# points it runs on randomly drawn whole classes, which keeps each class's
# neighborhoods intact and the search's cost independent of n.
CALIBRATION_MAX_SAMPLES = 30_000


def _sigmoid(logit: float) -> float:
    return float(np.round(1 / (1 + np.exp(-logit)), 4))


def whole_class_subset(y: np.ndarray, max_samples: int, random_state) -> np.ndarray:
    """Rows of randomly drawn whole classes, at most ``max_samples`` of them
    (but at least one class); all rows when there are no more than that."""
    if y.shape[0] <= max_samples:
        return np.arange(y.shape[0])
    classes, counts = np.unique(y, return_counts=True)
    order = check_random_state(random_state).permutation(classes.size)
    fits = np.cumsum(counts[order]) <= max_samples
    fits[0] = True
    return np.flatnonzero(np.isin(y, classes[order[fits]]))


def calibrate_threshold(
    datasets: list,
    scorer: Scorer,
    *,
    search: GraphSearch,
    max_levels: int = 10,
    early_stopping: bool = True,
) -> tuple[float, list]:
    """The link threshold with the best mean BCubed F over labelled sets.

    ``datasets`` is a list of ``(prepared features, classes)``; a set larger
    than ``CALIBRATION_MAX_SAMPLES`` is cut to whole classes drawn at random.
    Each set's first level is built once and shared by every threshold
    tried. Returns the threshold and each set's BCubed F at it.
    """
    subsets = [
        whole_class_subset(y, CALIBRATION_MAX_SAMPLES, search.random_state)
        for _, y in datasets
    ]
    datasets = [(X[rows], y[rows]) for (X, y), rows in zip(datasets, subsets)]
    starts = [DistinctStart.of(X, search) for X, _ in datasets]
    scores = {}

    def per_set(threshold):
        if threshold not in scores:
            scores[threshold] = [
                bcubed_f_score(
                    y,
                    decode(
                        X,
                        scorer,
                        threshold=threshold,
                        search=search,
                        max_levels=max_levels,
                        early_stopping=early_stopping,
                        start=start,
                    ).labels,
                )
                for (X, y), start in zip(datasets, starts)
            ]
        return scores[threshold]

    def mean_score(logit):
        return np.mean(per_set(_sigmoid(logit)))

    coarse = max(COARSE_LOGITS, key=mean_score)
    fine = np.arange(-4, 5) * FINE_LOGIT_STEP + coarse
    best = _sigmoid(max(fine, key=mean_score))
    return best, per_set(best)
