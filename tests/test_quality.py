"""Quality on classes never seen: the meta-trained model against tuned rivals.

Every rival gets its parameters from a grid search on the meta-training
classes for the best mean of BCubed F and pairwise F, the objective
HiLanderClustering's calibration maximises; all are then scored once on
disjoint test classes (the protocol of benchmarks/quality.py). The asserted
margins are the ones measured here, minus headroom for numerical noise;
where we lose or tie (Leiden on Omniglot, and on HWU64's pairwise F), the
test bounds the measured deficit so that it cannot grow unnoticed.

On the synthetic set every rival is tuned here. On Omniglot and HWU64,
whose splits are the quality benchmark's, the rivals' scores are read from
docs/quality_results.json (tuning them again took four of make test's
minutes; they are seeded and do not run our code), and our fresh scores
must also match the published ones: a change that moves our numbers fails
here until the benchmark is regenerated.
"""

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
from benchmarks.quality import TunedInfomap, TunedLeiden
from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_hwu64, make_embeddings
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


def _scores(X_train, y_train, X_test, y_test, est=None, published=None):
    """Our scores, and each rival's: tuned here, or the published row."""
    if est is None:
        est = HiLanderClustering(random_state=0).fit(X_train, y_train)
    labels = cluster_new(est, X_test)
    scores = {
        "hilander": (bcubed_f_score(y_test, labels), pairwise_f_score(y_test, labels))
    }
    scores["clusters"] = np.unique(labels).size / np.unique(y_test).size
    for name, rival in RIVALS.items():
        if published is not None:
            scores[name] = published[rival.name]
            continue
        labels = rival().tune(X_train, y_train).cluster(X_test)
        scores[name] = (
            bcubed_f_score(y_test, labels),
            pairwise_f_score(y_test, labels),
        )
    print({k: np.round(v, 3) for k, v in scores.items()})
    return scores


@pytest.fixture(scope="module")
def synthetic_scores():
    # twice as many test classes as training classes: a more crowded test set
    X_train, y_train = make_embeddings(200, 32, random_state=10)
    X_test, y_test = make_embeddings(400, 32, random_state=11)
    return _scores(X_train, y_train, X_test, y_test)


@pytest.fixture(scope="module")
def omniglot_model(omniglot):
    X_train, y_train, _, _ = omniglot
    return HiLanderClustering(random_state=0).fit(X_train, y_train)


@pytest.fixture(scope="module")
def omniglot_scores(omniglot, omniglot_model):
    return _scores(*omniglot, est=omniglot_model, published=_published("omniglot"))


@pytest.fixture(scope="module")
def hwu64_scores():
    data = load_hwu64()
    X, y = data["features"], data["label"]
    train, test = data["meta_train"], data["evaluation"]
    return _scores(X[train], y[train], X[test], y[test], published=_published("hwu64"))


# (BCubed F, pairwise F) margins of HiLanderClustering over each rival: the
# measured ones minus 0.01 to 0.02 of headroom. Measured (Fb / Fp):
# synthetic: ours 0.866 / 0.888; cosine 0.737 / 0.684, DBSCAN 0.678 / 0.554,
# HDBSCAN 0.741 / 0.698, FINCH 0.668 / 0.601, agglomerative 0.769 / 0.740,
# Infomap 0.831 / 0.829, Leiden 0.789 / 0.789
SYNTHETIC_MARGINS = {
    "cosine": (0.11, 0.18),
    "dbscan": (0.17, 0.31),
    "hdbscan": (0.11, 0.17),
    "finch": (0.18, 0.27),
    "agglomerative": (0.08, 0.13),
    "leiden": (0.06, 0.08),
    "infomap": (0.02, 0.04),
}
# Omniglot: ours 0.604 / 0.581; cosine 0.523 / 0.330, DBSCAN 0.378 / 0.131,
# HDBSCAN 0.489 / 0.366, FINCH 0.526 / 0.423, agglomerative 0.547 / 0.450,
# Leiden 0.609 / 0.585 (ahead on both, by 0.005 and 0.004), Infomap
# 0.591 / 0.524; negative margins bound the deficit we still have
OMNIGLOT_MARGINS = {
    "cosine": (0.06, 0.22),
    "dbscan": (0.20, 0.42),
    "hdbscan": (0.09, 0.19),
    "finch": (0.06, 0.13),
    "agglomerative": (0.04, 0.11),
    "leiden": (-0.015, -0.015),
    "infomap": (0.0, 0.04),
}
# HWU64: ours 0.694 / 0.660; cosine 0.515 / 0.428, DBSCAN 0.453 / 0.396,
# HDBSCAN 0.492 / 0.386, FINCH 0.554 / 0.479, agglomerative 0.562 / 0.493,
# Leiden 0.676 / 0.657 (we lead by 0.018 and 0.003, the second a tie that
# the bound keeps from turning into a deficit), Infomap 0.612 / 0.608
HWU64_MARGINS = {
    "cosine": (0.14, 0.20),
    "dbscan": (0.20, 0.23),
    "hdbscan": (0.16, 0.24),
    "finch": (0.10, 0.15),
    "agglomerative": (0.09, 0.14),
    "leiden": (0.005, -0.01),
    "infomap": (0.06, 0.035),
}


def _check(scores, rival, margins):
    for i, score in enumerate(("BCubed F", "pairwise F")):
        margin = scores["hilander"][i] - scores[rival][i]
        assert margin > margins[rival][i], (score, rival, scores)


@pytest.mark.parametrize("rival", sorted(SYNTHETIC_MARGINS))
def test_beats_tuned_rival_on_unseen_synthetic_classes(synthetic_scores, rival):
    _check(synthetic_scores, rival, SYNTHETIC_MARGINS)


@pytest.mark.parametrize("rival", sorted(OMNIGLOT_MARGINS))
def test_beats_tuned_rival_on_unseen_omniglot_alphabets(omniglot_scores, rival):
    _check(omniglot_scores, rival, OMNIGLOT_MARGINS)


@pytest.mark.parametrize("rival", sorted(HWU64_MARGINS))
def test_against_graph_communities_on_unseen_intents(hwu64_scores, rival):
    _check(hwu64_scores, rival, HWU64_MARGINS)


@pytest.mark.parametrize("data_set", ["omniglot", "hwu64"])
def test_scores_match_the_published_benchmark(data_set, request):
    ours = request.getfixturevalue(f"{data_set}_scores")["hilander"]
    published = _published(data_set)["HiLanderClustering, meta-trained"]
    # the same split, seed and code: only float summation order may differ
    assert np.allclose(ours, published, atol=0.005), (ours, published)


def test_absolute_floors_and_cluster_counts(
    synthetic_scores, omniglot_scores, hwu64_scores
):
    assert synthetic_scores["hilander"][0] > 0.85
    assert omniglot_scores["hilander"][0] > 0.58
    # clusters found per true class: measured 0.84, 1.40 and 1.21 (1.35 and
    # 2.12 on the first two when every point weighed 1 in the merge); a
    # band either way catches a drift towards over-splitting or towards
    # merging more (HWU64's is wider: one cluster there is 0.04)
    assert synthetic_scores["clusters"] == pytest.approx(0.84, abs=0.1)
    assert omniglot_scores["clusters"] == pytest.approx(1.40, abs=0.1)
    assert hwu64_scores["clusters"] == pytest.approx(1.21, abs=0.15)


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
    # measured 1.40 and 1.07 clusters per class (1.31 times apart; 2.12 and
    # 1.59 when every point weighed 1 in the merge), Fb 0.604 and 0.791: the
    # quarter, less crowded, is easier, but split about alike
    assert max(ratios) / min(ratios) < 1.45, ratios
    assert max(ratios) < 1.6, ratios
    assert fb[1] > fb[0] > 0.58, fb
