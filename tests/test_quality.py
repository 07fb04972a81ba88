"""Quality on classes never seen: the meta-trained model against tuned rivals.

Every rival gets its parameters from a grid search on the meta-training
classes for the best mean of BCubed F and pairwise F, the objective
HiLanderClustering's calibration maximises; all are then scored once on
disjoint test classes (the protocol of benchmarks/quality.py). The asserted
margins are the ones measured here, minus headroom for numerical noise.

The sets are the quality benchmark's: Omniglot's unseen alphabets, HWU64's
unseen intents, two synthetic sets (harder, whose classes overlap, and
many tiny classes, where merging too much is the failure), and both
cross-domain pairs (synthetic to Omniglot, Omniglot to HWU64). The rivals'
scores are read from docs/quality_results.json (tuning them again took five
of make test's minutes; they are seeded and do not run our code); ours are
measured here and must also match the published ones, so a change that
moves our numbers fails here until the benchmark is regenerated.
"""

import copy
import json
import os

import numpy as np
import pytest

from benchmarks.baselines import (
    TunedAgglomerative,
    TunedCosineDecoder,
    TunedDBSCAN,
    TunedFINCH,
    TunedHDBSCAN,
)
from benchmarks.quality import (
    KMeansTrueK,
    MetaTrainedToldK,
    TunedInfomap,
    TunedLeiden,
    WhitenedLeiden,
    data_sets,
)
from sklearn_hilander import HiLanderClustering
from sklearn_hilander._calibrate import class_sample
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

from .conftest import cluster_new

pytest.importorskip("igraph")

RIVALS = {
    "cosine": TunedCosineDecoder,
    "dbscan": TunedDBSCAN,
    "hdbscan": TunedHDBSCAN,
    "finch": TunedFINCH,
    "agglomerative": TunedAgglomerative,
    "leiden": TunedLeiden,
    "leiden_whitened": WhitenedLeiden,
    "infomap": TunedInfomap,
}


PUBLISHED = os.path.join(
    os.path.dirname(__file__), "..", "docs", "quality_results.json"
)


def _published(data_set):
    """(BCubed F, pairwise F) of each method's row in the quality benchmark."""
    with open(PUBLISHED) as handle:
        rows = json.load(handle)[data_set]["rows"]
    return {row["method"]: (row["Fb"], row["Fp"]) for row in rows}


def _scores(data_set, est=None):
    data_set = data_set.replace("_", "-")
    """Ours on a quality benchmark set (fitted here, or ``est``), and each
    rival's published row."""
    ((_, _, X_train, y_train, X_test, y_test),) = data_sets([data_set])
    if est is None:
        est = HiLanderClustering(random_state=0).fit(X_train, y_train)
    labels = cluster_new(est, X_test)
    scores = {
        "hilander": (bcubed_f_score(y_test, labels), pairwise_f_score(y_test, labels))
    }
    n_classes = np.unique(y_test).size
    scores["clusters"] = np.unique(labels).size / n_classes
    # told the true number of classes, as k-means is in the benchmark
    told = HiLanderClustering(
        pretrained=est, n_clusters=n_classes, random_state=0
    ).fit_predict(X_test)
    scores["told_k"] = (
        bcubed_f_score(y_test, told),
        pairwise_f_score(y_test, told),
    )
    published = _published(data_set)
    scores["kmeans_told_k"] = published[KMeansTrueK.name]
    scores["told_k_published"] = published[MetaTrainedToldK.name]
    for name, rival in RIVALS.items():
        scores[name] = published[rival.name]
    print(data_set, {k: np.round(v, 3) for k, v in scores.items()})
    return scores


@pytest.fixture(scope="module")
def synthetic_harder_scores():
    return _scores("synthetic-harder")


@pytest.fixture(scope="module")
def synthetic_tiny_scores():
    return _scores("synthetic-tiny")


@pytest.fixture(scope="module")
def omniglot_model(omniglot):
    X_train, y_train, _, _ = omniglot
    return HiLanderClustering(random_state=0).fit(X_train, y_train)


@pytest.fixture(scope="module")
def omniglot_scores(omniglot_model):
    return _scores("omniglot", est=omniglot_model)


@pytest.fixture(scope="module")
def hwu64_scores():
    return _scores("hwu64")


@pytest.fixture(scope="module")
def cross_domain_scores():
    return _scores("cross-domain")


@pytest.fixture(scope="module")
def omniglot_to_hwu64_scores(omniglot_model):
    """The network meta-trained on Omniglot, lent to HWU64's embeddings (of
    another width): no fitted threshold applies there, so the merge
    threshold is chosen without labels, and the user is told."""
    ((_, _, _, _, X_test, y_test),) = data_sets(["omniglot-to-hwu64"])
    lent = HiLanderClustering(pretrained=omniglot_model, random_state=0)
    with pytest.warns(UserWarning, match="chosen without labels"):
        labels = lent.fit_predict(X_test)
    published = _published("omniglot-to-hwu64")
    scores = {
        "hilander": (bcubed_f_score(y_test, labels), pairwise_f_score(y_test, labels)),
        "clusters": np.unique(labels).size / np.unique(y_test).size,
    }
    for name, rival in RIVALS.items():
        if rival.name in published:
            scores[name] = published[rival.name]
    print("omniglot-to-hwu64", {k: np.round(v, 3) for k, v in scores.items()})
    return scores


# (BCubed F, pairwise F) margins of HiLanderClustering over each rival: the
# measured ones less about 0.01 of headroom (our own drift is caught
# separately, by the match with the published scores). "leiden_whitened" is
# Leiden on the features after our fit's within-class whitening: where fit
# chooses no map (every set but Omniglot) it is Leiden itself; on Omniglot
# it scored 0.633 / 0.606, a tie with ours that the bound keeps from
# turning into a deficit. Measured (Fb / Fp):
MARGINS = {
    # ours 0.853 / 0.857; cosine 0.609 / 0.562, DBSCAN 0.613 / 0.485,
    # HDBSCAN 0.642 / 0.468, FINCH 0.665 / 0.593, agglomerative
    # 0.691 / 0.587, Leiden 0.687 / 0.635, Infomap 0.746 / 0.681
    "synthetic_harder": {
        "cosine": (0.22, 0.27),
        "dbscan": (0.22, 0.35),
        "hdbscan": (0.19, 0.37),
        "finch": (0.17, 0.24),
        "agglomerative": (0.14, 0.25),
        "leiden": (0.15, 0.20),
        "leiden_whitened": (0.15, 0.20),
        "infomap": (0.09, 0.16),
    },
    # ours 0.865 / 0.794; cosine 0.762 / 0.554, DBSCAN 0.763 / 0.548,
    # HDBSCAN 0.836 / 0.678, FINCH 0.780 / 0.608, agglomerative
    # 0.800 / 0.663, Leiden 0.733 / 0.619, Infomap 0.432 / 0.293
    "synthetic_tiny": {
        "cosine": (0.09, 0.22),
        "dbscan": (0.09, 0.23),
        "hdbscan": (0.02, 0.10),
        "finch": (0.07, 0.17),
        "agglomerative": (0.05, 0.12),
        "leiden": (0.12, 0.16),
        "leiden_whitened": (0.12, 0.16),
        "infomap": (0.42, 0.49),
    },
    # ours 0.635 / 0.610 (0.604 / 0.581 before the within-class whitening,
    # behind Leiden); cosine 0.523 / 0.330, DBSCAN 0.378 / 0.131, HDBSCAN
    # 0.489 / 0.366, FINCH 0.526 / 0.423, agglomerative 0.547 / 0.450,
    # Leiden 0.609 / 0.585, Infomap 0.591 / 0.524
    "omniglot": {
        "cosine": (0.10, 0.26),
        "dbscan": (0.24, 0.46),
        "hdbscan": (0.13, 0.23),
        "finch": (0.09, 0.17),
        "agglomerative": (0.07, 0.14),
        "leiden": (0.015, 0.015),
        "leiden_whitened": (-0.01, -0.01),
        "infomap": (0.03, 0.07),
    },
    # ours 0.696 / 0.660; cosine 0.515 / 0.428, DBSCAN 0.453 / 0.396,
    # HDBSCAN 0.492 / 0.386, FINCH 0.554 / 0.479, agglomerative
    # 0.562 / 0.493, Leiden 0.676 / 0.657 (the pairwise F lead, 0.003, is
    # a tie: the bound keeps it from turning into a deficit), Infomap
    # 0.612 / 0.608
    "hwu64": {
        "cosine": (0.16, 0.21),
        "dbscan": (0.22, 0.25),
        "hdbscan": (0.19, 0.26),
        "finch": (0.12, 0.16),
        "agglomerative": (0.12, 0.15),
        "leiden": (0.01, -0.01),
        "leiden_whitened": (0.01, -0.01),
        "infomap": (0.07, 0.04),
    },
    # trained on synthetic classes, tested on Omniglot: the input lies beyond
    # the fitted merge-threshold curve, so the label-free rule chooses the
    # threshold. Ours 0.604 / 0.561 (0.532 / 0.450 with the
    # curve's end); cosine 0.240 / 0.045, DBSCAN 0.010 / 0.003, HDBSCAN
    # 0.432 / 0.354, FINCH 0.526 / 0.423, agglomerative 0.477 / 0.269,
    # Leiden (either) 0.459 / 0.363, Infomap 0.591 / 0.524
    "cross_domain": {
        "cosine": (0.35, 0.50),
        "dbscan": (0.58, 0.54),
        "hdbscan": (0.16, 0.19),
        "finch": (0.07, 0.12),
        "agglomerative": (0.11, 0.28),
        "leiden": (0.13, 0.18),
        "leiden_whitened": (0.13, 0.18),
        "infomap": (0.003, 0.025),
    },
    # trained on Omniglot, tested on HWU64 (another embedding, another
    # width): the label-free rule's threshold. Ours 0.623 / 0.555 (0.616 /
    # 0.526 with the rule until 2026-12-07; 0.147 / 0.134 with the labelled
    # set's own threshold); cosine 0.071 / 0.059, DBSCAN 0.033 / 0.023, HDBSCAN
    # 0.492 / 0.386, FINCH 0.299 / 0.273, agglomerative 0.107 / 0.094,
    # Leiden 0.087 / 0.076, Infomap 0.184 / 0.171 (whitened Leiden does not
    # apply: the whitening belongs to Omniglot's features)
    "omniglot_to_hwu64": {
        "cosine": (0.53, 0.45),
        "dbscan": (0.57, 0.49),
        "hdbscan": (0.11, 0.13),
        "finch": (0.30, 0.24),
        "agglomerative": (0.50, 0.42),
        "leiden": (0.52, 0.44),
        "infomap": (0.42, 0.34),
    },
}


# (BCubed F, pairwise F) margins of HiLanderClustering(n_clusters=true k)
# over k-means told the same k, the measured ones less about 0.01.
# Measured (Fb / Fp), ours against k-means: harder 0.861 / 0.851 against
# 0.646 / 0.563; tiny 0.862 / 0.790 against 0.775 / 0.629; Omniglot
# 0.621 / 0.579 against 0.519 / 0.476; HWU64 0.669 / 0.625 against
# 0.632 / 0.584; synthetic -> Omniglot 0.602 / 0.554 against 0.519 / 0.476
TOLD_K_MARGINS = {
    "synthetic_harder": (0.20, 0.27),
    "synthetic_tiny": (0.075, 0.15),
    "omniglot": (0.09, 0.09),
    "hwu64": (0.025, 0.03),
    "cross_domain": (0.07, 0.065),
}


@pytest.mark.parametrize(
    "data_set, rival",
    [(data_set, rival) for data_set in MARGINS for rival in sorted(MARGINS[data_set])],
)
def test_beats_every_tuned_rival_on_unseen_classes(data_set, rival, request):
    scores = request.getfixturevalue(f"{data_set}_scores")
    for i, score in enumerate(("BCubed F", "pairwise F")):
        margin = scores["hilander"][i] - scores[rival][i]
        assert margin > MARGINS[data_set][rival][i], (score, rival, scores)


@pytest.mark.parametrize("data_set", sorted(MARGINS))
def test_scores_match_the_published_benchmark(data_set, request):
    ours = request.getfixturevalue(f"{data_set}_scores")["hilander"]
    published = _published(data_set.replace("_", "-"))[
        "HiLanderClustering, meta-trained"
    ]
    # the same split, seed and code: only float summation order may differ
    assert np.allclose(ours, published, atol=0.005), (ours, published)


def test_absolute_floors_and_cluster_counts(
    synthetic_harder_scores, synthetic_tiny_scores, omniglot_scores, hwu64_scores
):
    assert synthetic_harder_scores["hilander"][0] > 0.84
    assert synthetic_tiny_scores["hilander"][0] > 0.85
    assert omniglot_scores["hilander"][0] > 0.62
    # clusters found per true class: measured 0.85, 1.03, 1.35 and 1.13; a
    # band either way catches a drift towards over-splitting or towards
    # merging more (HWU64's is wider: one cluster there is 0.04)
    assert synthetic_harder_scores["clusters"] == pytest.approx(0.85, abs=0.1)
    assert synthetic_tiny_scores["clusters"] == pytest.approx(1.03, abs=0.1)
    assert omniglot_scores["clusters"] == pytest.approx(1.35, abs=0.1)
    assert hwu64_scores["clusters"] == pytest.approx(1.13, abs=0.15)


def test_across_domains_the_cluster_count_stays_near_the_truth(
    omniglot_to_hwu64_scores,
):
    # measured 27 clusters for 24 intents (1.125; 21 with the label-free
    # rule until 2026-12-07); 370 (15.4x) with the labelled set's own
    # threshold (the band lies inside target 2's 1.5x either way)
    assert omniglot_to_hwu64_scores["clusters"] == pytest.approx(1.125, abs=0.15)


def test_the_fitted_thresholds_transfer_to_a_quarter_of_the_classes(
    omniglot, omniglot_model
):
    # the same fitted model clusters all unseen classes and a quarter of
    # them (whole classes): a stopping rule that learned the training set's
    # crowding would split one of the two much more than the other
    _, _, X_test, y_test = omniglot
    est = omniglot_model
    classes = np.unique(y_test)
    quarter = np.isin(y_test, np.random.RandomState(0).permutation(classes)[::4])
    ratios, fb = [], []
    for rows in (np.ones_like(quarter), quarter):
        labels = cluster_new(est, X_test[rows])
        ratios.append(np.unique(labels).size / np.unique(y_test[rows]).size)
        fb.append(bcubed_f_score(y_test[rows], labels))
    print("clusters per class, all and a quarter:", ratios, "Fb:", fb)
    # measured 1.35 and 1.24 clusters per class (1.09 times apart; 1.35 and
    # 1.08 before the merge threshold followed the sampling, whose
    # similarity drops a little with fewer classes; 2.12 and 1.59 when every
    # point weighed 1 in the merge), Fb 0.635 and 0.819: the quarter, less
    # crowded, is easier, but split about alike
    assert max(ratios) / min(ratios) < 1.45, ratios
    assert max(ratios) < 1.6, ratios
    assert fb[1] > fb[0] > 0.62, fb


def test_the_merge_threshold_follows_a_sparser_sampling_of_the_classes(
    omniglot, omniglot_model
):
    # a batch holding 5 of each unseen character's 20 drawings: each class's
    # links spread over fewer pairs, so the merge threshold chosen for 20
    # drawings merges characters; the fitted curve reads the sparser
    # sampling off the neighbors' similarities and raises it
    _, _, X_test, y_test = omniglot
    rows = class_sample(y_test, 0.25, random_state=0)
    X, y = X_test[rows], y_test[rows]
    est = omniglot_model
    labels = cluster_new(est, X)
    one_threshold = copy.deepcopy(est).set_params(
        merge_threshold=est.merge_threshold_curve_[-1, 1]
    )
    fixed = one_threshold.fit_predict(X)
    ratios = [np.unique(lab).size / np.unique(y).size for lab in (labels, fixed)]
    fb = [bcubed_f_score(y, lab) for lab in (labels, fixed)]
    print("clusters per class with the curve and one threshold:", ratios, "Fb:", fb)
    # measured 1.22 against 0.40 clusters per class, Fb 0.592 against 0.399
    # (the rows of docs/sampling_results.md at 5 points per class)
    # within 1.5 times the true number of classes, either way
    assert abs(np.log(ratios[0])) < np.log(1.5), ratios
    assert fb[0] > fb[1] + 0.15 and fb[0] > 0.55, fb


# (Omniglot->HWU64 told the count: the test after this one)
@pytest.mark.parametrize("data_set", sorted(TOLD_K_MARGINS))
def test_told_the_number_of_classes_it_beats_k_means_told_it_too(data_set, request):
    """``n_clusters`` set to the true number of test classes against k-means
    given the same number (the benchmark's two told-k rows)."""
    scores = request.getfixturevalue(f"{data_set}_scores")
    told, kmeans = scores["told_k"], scores["kmeans_told_k"]
    assert np.allclose(told, scores["told_k_published"], atol=0.005), scores
    for i, score in enumerate(("BCubed F", "pairwise F")):
        margin = told[i] - kmeans[i]
        assert margin > TOLD_K_MARGINS[data_set][i], (score, told, kmeans)


def test_told_the_number_of_intents_a_model_fitted_on_omniglot_beats_k_means(
    omniglot_model,
):
    """Cross-domain with the count given: the network meta-trained on
    Omniglot's characters (20 drawings each) clusters HWU64's unseen intents
    (about 180 utterances each) better than k-means told the same number;
    the count widens the merge graph to 30 neighbors. Without the count the
    merge threshold is chosen without labels (the margins test)."""
    ((_, _, _, _, X_test, y_test),) = data_sets(["omniglot-to-hwu64"])
    n_classes = np.unique(y_test).size
    told = HiLanderClustering(
        pretrained=omniglot_model, n_clusters=n_classes, random_state=0
    ).fit_predict(X_test)
    ours = bcubed_f_score(y_test, told), pairwise_f_score(y_test, told)
    published = _published("omniglot-to-hwu64")
    assert np.allclose(ours, published[MetaTrainedToldK.name], atol=0.005), ours
    # measured 0.678 / 0.629 against 0.632 / 0.584 (0.615 / 0.533 on the
    # fitted 10-neighbor merge graph)
    kmeans = published[KMeansTrueK.name]
    assert ours[0] > kmeans[0] + 0.035 and ours[1] > kmeans[1] + 0.035, (ours, kmeans)
