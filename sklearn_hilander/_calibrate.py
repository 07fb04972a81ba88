"""Choosing the decoding thresholds on labelled data.

Two decoding parameters are learned from labels besides the network: the
link threshold of the hierarchy and the merge threshold of the last step
(``_decode.merge_clusters``). They are chosen together, as the pair whose
clustering of the labelled sets has the best mean of BCubed F and pairwise
F. Together, because they trade against each other: a stricter link
threshold leaves purer fragments for the merge to join, and the best pair
links less than the best threshold without merging. Both scores, because
BCubed F alone rewards over-splitting a little, and pairwise F, which weighs
large clusters most, refuses merges that chain classes into a few big ones.

The link threshold is searched in logit space, where the useful values of a
sharp network spread out (a coarse sweep, then a fine one around the best);
each link threshold's decoding is merged at every merge candidate, which
costs far less than decoding.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ._decode import DistinctStart, Scorer, decode, merge_linked, point_links
from ._level import GraphSearch
from .metrics import bcubed_f_score, pairwise_f_score

# Link thresholds from 0.5 up: below, the hierarchy chains classes into a few
# giant clusters that no merge can split, and every dev set's best pair sat
# above 0.7 (the low end also cost the most, the merge moving many points)
COARSE_LOGITS = np.arange(0.0, 5.01, 1.0)
FINE_LOGIT_STEP = 0.25
# candidate merge thresholds (average link probability per pair of points,
# from one pair in ten thousand to nearly every pair linked both ways), no
# merging (inf) first so that it wins ties
MERGE_THRESHOLDS = np.r_[np.inf, np.geomspace(1e-4, 1.6, 15)]
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


def _calibration_sets(datasets, search):
    subsets = [
        whole_class_subset(y, CALIBRATION_MAX_SAMPLES, search.random_state)
        for _, y in datasets
    ]
    return [(X[rows], y[rows]) for (X, y), rows in zip(datasets, subsets)]


def clustering_score(y: np.ndarray, labels: np.ndarray) -> float:
    """What calibration maximises: the mean of BCubed F and pairwise F."""
    return (bcubed_f_score(y, labels) + pairwise_f_score(y, labels)) / 2


def calibrate_thresholds(
    datasets: list,
    scorer: Scorer,
    *,
    search: GraphSearch,
    max_levels: int = 10,
    early_stopping: bool = True,
    link_threshold: float | None = None,
    merge_threshold: float | None = None,
) -> tuple[float, float, list]:
    """The link and merge thresholds with the best mean clustering score.

    ``datasets`` is a list of ``(prepared features, classes)``; a set larger
    than ``CALIBRATION_MAX_SAMPLES`` is cut to whole classes drawn at random.
    A threshold passed as a number is kept and only the other is searched.
    Each set's first level is built once and shared by every decoding.
    Returns ``(link threshold, merge threshold, each set's score at them)``;
    a merge threshold of ``inf`` means merging did not help.
    """
    datasets = _calibration_sets(datasets, search)
    starts = [DistinctStart.of(X, search) for X, _ in datasets]
    merges = MERGE_THRESHOLDS if merge_threshold is None else [merge_threshold]
    results = {}

    def best_merge(threshold):
        """(mean score, merge threshold, per-set scores) at a link threshold."""
        if threshold in results:
            return results[threshold]
        per_merge = {merge: [] for merge in merges}
        for (X, y), start in zip(datasets, starts):
            hierarchy = decode(
                X,
                scorer,
                threshold=threshold,
                search=search,
                max_levels=max_levels,
                early_stopping=early_stopping,
                start=start,
            )
            level = hierarchy.first
            # one link matrix for every merge threshold (None with fewer than
            # two distinct points: nothing to merge)
            links = (
                None
                if level is None
                else point_links(level.level.indices, level.scores)
            )
            for merge in merges:
                labels = hierarchy.labels
                if links is not None:
                    labels = merge_linked(links, labels[start.keep], merge)[
                        start.inverse
                    ]
                per_merge[merge].append(clustering_score(y, labels))
        merge = max(merges, key=lambda m: np.mean(per_merge[m]))
        results[threshold] = (np.mean(per_merge[merge]), merge, per_merge[merge])
        return results[threshold]

    if link_threshold is None:
        coarse = max(COARSE_LOGITS, key=lambda lg: best_merge(_sigmoid(lg))[0])
        fine = np.arange(-2, 3) * FINE_LOGIT_STEP + coarse
        link_threshold = _sigmoid(max(fine, key=lambda lg: best_merge(_sigmoid(lg))[0]))
    _, merge, per_set = best_merge(float(link_threshold))
    return float(link_threshold), float(merge), per_set
