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

from ._decode import (
    MERGE_THRESHOLD_GRID,
    WIDEST_MERGE_FACTOR,
    DistinctStart,
    MergeThresholds,
    Scorer,
    decode,
    farthest_similarities,
    merge_graph,
    merge_level,
    merge_linked,
)
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
MERGE_THRESHOLDS = np.r_[np.inf, MERGE_THRESHOLD_GRID]
# The grid above doubles at each step; around its best the search then tries
# these factors, as the link threshold's is refined in quarter logits.
FINE_MERGE_FACTORS = 2.0 ** np.array([-0.5, -0.25, 0.25, 0.5])
# The merge-threshold search climbs from where the previous one peaked and
# gives up in a direction after this many steps without a better score.
CLIMB_PATIENCE = 2
# The search decodes the labelled set a few dozen times; above this many
# points it runs on randomly drawn whole classes, which keeps each class's
# neighborhoods intact and the search's cost independent of n.
CALIBRATION_MAX_SAMPLES = 30_000
# The merge graph's candidate neighbors, in multiples of the hierarchy's: a
# class of hundreds of points needs more edges than ten per point to show
# that its fragments belong together (HWU64's intents chose 3, Omniglot's
# characters of 20 drawings 1).
MERGE_NEIGHBOR_FACTORS = tuple(range(1, WIDEST_MERGE_FACTOR + 1))
# The sparser samplings of the labelled classes at which the merge threshold
# is measured again (each class cut to this fraction of its points): down to
# an eighth, as a batch to cluster may hold a few points of each class.
SPARSER_SAMPLINGS = (0.5, 0.25, 0.125)
# The sampling similarity also differs between sets of classes sampled alike
# (HWU64's unseen scenarios sit 0.04 below its training ones, most of what
# halving every class moves it): the curve is read this many times the
# spread seen between random halves of the labelled classes closer to the
# labelled set, so that such a difference keeps the labelled set's threshold.
SAMPLING_TOLERANCE = 2.0
# ... but by at most this many steps between the labelled set's similarity
# and the half sampling's: fewer than _decode.DENSER_MARGIN, so that the
# labelled set never reads as sampled beyond the curve.
MAX_TOLERANCE_STEPS = 1.25
# Random halvings of the labelled classes that the spread is measured over
# (cheap: each reuses the whole set's graph).
SPREAD_SPLITS = 200


def _sigmoid(logit: float) -> float:
    return float(np.round(1 / (1 + np.exp(-logit)), 4))


def _climb(grid: list, start: int, score) -> list:
    """The points of the sorted ``grid`` that a climb from ``start`` tries:
    outwards in each direction until ``CLIMB_PATIENCE`` steps in a row fail
    to beat the best seen. The score of a merge threshold rises to one peak
    and falls on the dev sets, and the steps far from it cost the most (a
    high threshold splits off every straggler, point by point)."""
    tried = [grid[start]]
    best = score(grid[start])
    for step in (1, -1):
        failed, at = 0, start + step
        while 0 <= at < len(grid) and failed < CLIMB_PATIENCE:
            tried.append(grid[at])
            value = score(grid[at])
            failed = failed + 1 if value <= best else 0
            best = max(best, value)
            at += step
    return tried


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
    """What calibration maximises: the mean of BCubed F and pairwise F, on
    the rows with a class (``y >= 0``; -1 marks rows clustered with them but
    unlabelled)."""
    scored = y >= 0
    y, labels = y[scored], labels[scored]
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
    merge_n_neighbors: int | None = None,
) -> tuple[float, float, int, list]:
    """The link threshold, merge threshold and merge graph with the best mean
    clustering score.

    ``datasets`` is a list of ``(prepared features, classes)``, the class -1
    marking rows that are clustered but not scored; a set larger than
    ``CALIBRATION_MAX_SAMPLES`` is cut to whole classes drawn at random (the
    unlabelled rows count as one class).
    A parameter passed as a number is kept and only the others are searched:
    first the two thresholds together, merging on the hierarchy's own graph
    (or the ``merge_n_neighbors`` given); then, at that link threshold, the
    merge graph's neighbors among ``MERGE_NEIGHBOR_FACTORS`` times the
    hierarchy's, each with every merge threshold; last, the merge threshold
    between the grid's neighbors of the best. Each set's first level and
    each merge graph are built once and shared by every decoding.
    Returns ``(link threshold, merge threshold, merge graph's neighbors, each
    set's score at them)``; a merge threshold of ``inf`` means merging did
    not help.
    """
    datasets = _calibration_sets(datasets, search)
    starts = [DistinctStart.of(X, search) for X, _ in datasets]
    merges = MERGE_THRESHOLDS if merge_threshold is None else [merge_threshold]
    merging = bool(np.isfinite(merges).any())
    graphs = {}
    results = {}
    # each set's decoding at the latest link threshold: after the threshold
    # is chosen, every merge graph and the fine merge step reuse it (one
    # threshold's worth at a time, as a decoding holds each level's features)
    decoded = {}

    def hierarchy(index, threshold):
        if (index, threshold) not in decoded:
            if any(key[1] != threshold for key in decoded):
                decoded.clear()
            X = datasets[index][0]
            decoded[index, threshold] = decode(
                X,
                scorer,
                threshold=threshold,
                search=search,
                max_levels=max_levels,
                early_stopping=early_stopping,
                start=starts[index],
            )
        return decoded[index, threshold]

    def links(index, merge_k, first):
        """The merge graph of set ``index``, built once (None with fewer than
        two distinct points: nothing to merge); ``first``, the decoded first
        level, lends its link scores when the graph is the hierarchy's own."""
        if (index, merge_k) not in graphs:
            if first is None:
                graphs[index, merge_k] = None
            else:
                level = merge_level(starts[index], search, merge_k)
                graphs[index, merge_k] = merge_graph(
                    level,
                    scorer,
                    scores=first.scores if level is starts[index].level else None,
                )
        return graphs[index, merge_k]

    def merged_scores(threshold, merge_k, merge):
        """Each set's score at a link threshold, merge graph and merge
        threshold."""
        key = (threshold, merge_k, merge)
        if key not in results:
            per_set = []
            for index, ((_, y), start) in enumerate(zip(datasets, starts)):
                decoding = hierarchy(index, threshold)
                labels = decoding.labels
                graph = links(index, merge_k, decoding.first) if merging else None
                if graph is not None:
                    labels = merge_linked(graph, labels[start.keep], merge)[
                        start.inverse
                    ]
                per_set.append(clustering_score(y, labels))
            results[key] = per_set
        return results[key]

    # the finite merge threshold where the last climb peaked: the next
    # climb starts there (the first, mid-grid)
    peak = [MERGE_THRESHOLDS[1:][MERGE_THRESHOLDS[1:].size // 2]]

    def best_merge(threshold, merge_k, merges=merges):
        """(mean score, merge threshold, per-set scores) at a link threshold
        and merge graph: the best of ``merges`` that a climb reaches."""

        def mean(merge):
            return np.mean(merged_scores(threshold, merge_k, merge))

        finite = sorted(m for m in merges if np.isfinite(m))
        tried = [m for m in merges if not np.isfinite(m)]
        if finite:
            start = min(int(np.searchsorted(finite, peak[0])), len(finite) - 1)
            climbed = _climb(finite, start, mean)
            peak[0] = max(climbed, key=mean)
            tried += climbed
        # in the order of ``merges``, so that the earlier one wins ties
        merge = max((m for m in merges if m in tried), key=mean)
        return mean(merge), merge, merged_scores(threshold, merge_k, merge)

    own_k = search.n_neighbors if merge_n_neighbors is None else merge_n_neighbors
    if link_threshold is None:
        coarse = max(COARSE_LOGITS, key=lambda lg: best_merge(_sigmoid(lg), own_k)[0])
        fine = np.arange(-2, 3) * FINE_LOGIT_STEP + coarse
        link_threshold = _sigmoid(
            max(fine, key=lambda lg: best_merge(_sigmoid(lg), own_k)[0])
        )
    link_threshold = float(link_threshold)
    candidates = (
        [own_k]
        if merge_n_neighbors is not None or not merging
        else [search.n_neighbors * factor for factor in MERGE_NEIGHBOR_FACTORS]
    )
    # the hierarchy's own graph first, so that it wins ties
    merge_k = max(candidates, key=lambda k: best_merge(link_threshold, k)[0])
    _, merge, per_set = best_merge(link_threshold, merge_k)
    if np.isfinite(merge) and merge_threshold is None:
        # the coarse best first, so that it wins ties
        fine = np.r_[merge, merge * FINE_MERGE_FACTORS]
        _, merge, per_set = best_merge(link_threshold, merge_k, tuple(fine))
    return link_threshold, float(merge), int(merge_k), per_set


def class_sample(y: np.ndarray, fraction: float, random_state) -> np.ndarray:
    """Rows keeping ``fraction`` of each class (rounded up, so at least one),
    drawn at random, in their original order."""
    order = check_random_state(random_state).permutation(y.shape[0])
    order = order[np.argsort(y[order], kind="stable")]
    _, first, counts = np.unique(y[order], return_index=True, return_counts=True)
    rank = np.arange(y.shape[0]) - np.repeat(first, counts)
    kept = rank < np.repeat(np.ceil(fraction * counts), counts)
    return np.sort(order[kept])


def merge_threshold_curve(
    datasets: list,
    scorer: Scorer,
    *,
    search: GraphSearch,
    link_threshold: float,
    merge_threshold: float,
    merge_n_neighbors: int,
    max_levels: int = 10,
    early_stopping: bool = True,
) -> np.ndarray:
    """The merge threshold against the sampling similarity, measured on the
    labelled sets (see :class:`_decode.MergeThresholds`).

    ``merge_threshold`` is the best at the sets' own sampling; the sets are
    then cut to each of ``SPARSER_SAMPLINGS`` of every class and the merge
    threshold searched again, the link threshold and merge graph's neighbors
    kept. Every similarity is then lowered by ``SAMPLING_TOLERANCE`` times
    the root mean square difference between random halves of the classes,
    so that an input whose classes are as densely sampled keeps the
    labelled set's threshold although its similarity differs by as much.
    Returns rows ``(sampling similarity, merge threshold)`` ordered by
    similarity; one row when merging does not help at all.
    """
    datasets = _calibration_sets(datasets, search)

    def by_class(X, y):
        """Each class's summed farthest-neighbor similarity and count of
        distinct points, and the class (nothing below two distinct points)."""
        start = DistinctStart.of(X, search)
        if start.level is None:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        level = merge_level(start, search, merge_n_neighbors)
        values, classes = np.unique(y[start.keep], return_inverse=True)
        farthest = farthest_similarities(level)
        return np.bincount(classes, weights=farthest), np.bincount(classes), values

    def similarity(per_set):
        """The sampling similarity, averaged over the sets."""
        values = [s.sum() / counts.sum() for s, counts, _ in per_set if counts.size]
        return float(np.mean(values)) if values else 0.0

    full = [by_class(X, y) for X, y in datasets]
    rows = [(similarity(full), merge_threshold)]
    if not np.isfinite(merge_threshold):
        return MergeThresholds.from_curve(rows).as_curve()
    rng = check_random_state(search.random_state)
    # the spread between random halves of the classes, from each point's
    # similarity in the whole set's graph (a half's own graph loses the
    # other half's look-alikes on both sides alike)
    differences = []
    for sums, counts, values in full:
        # the unlabelled rows (class -1) are no class
        sums, counts = sums[values >= 0], counts[values >= 0]
        for _ in range(SPREAD_SPLITS if counts.size >= 2 else 0):
            half = rng.permutation(counts.size) < counts.size // 2
            differences.append(
                sums[half].sum() / counts[half].sum()
                - sums[~half].sum() / counts[~half].sum()
            )
    spread = float(np.sqrt(np.mean(np.square(differences)))) if differences else 0.0
    for fraction in SPARSER_SAMPLINGS:
        sparser = []
        for X, y in datasets:
            rows_kept = class_sample(y, fraction, rng)
            sparser.append((X[rows_kept], y[rows_kept]))
        _, merge, _, _ = calibrate_thresholds(
            sparser,
            scorer,
            search=search,
            max_levels=max_levels,
            early_stopping=early_stopping,
            link_threshold=link_threshold,
            merge_n_neighbors=merge_n_neighbors,
        )
        # no merging at all scored best: the grid's top merges almost nothing
        # and keeps the curve finite
        sampled = [by_class(X, y) for X, y in sparser]
        rows.append((similarity(sampled), min(merge, MERGE_THRESHOLDS[-1])))
    # at most MAX_TOLERANCE_STEPS steps to the half sampling, so that the
    # labelled set itself never lies beyond the curve (with a few classes
    # the halves' spread is one class against another and can be far larger)
    # a sampling that left every class as it was (classes of one point)
    # measured nothing new: the labelled set's own row stands
    rows = list({similarity_: t for similarity_, t in reversed(rows)}.items())
    if len(rows) < 2:
        return MergeThresholds.from_curve(rows).as_curve()
    steps = sorted(similarity_ for similarity_, _ in rows)
    step = max(steps[-1] - steps[-2], 0.0)
    tolerance = min(SAMPLING_TOLERANCE * spread, MAX_TOLERANCE_STEPS * step)
    return MergeThresholds.from_curve(
        [(similarity_ - tolerance, threshold) for similarity_, threshold in rows]
    ).as_curve()
