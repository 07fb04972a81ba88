"""Ablation: each design choice of HiLanderClustering against the paper's.

For each data set (synthetic with twice as many test classes as training
classes; Omniglot with features from the bundled encoder), every variant is
meta-trained on the training classes and scored once on the unseen test
classes:

- the no-network control: the same decoder on raw cosine similarity;
- the paper-faithful LANDER (raw own and cluster features, summed source and
  destination projections), threshold picked on held-out training classes
  as the paper's recipe would, and picked on the whole training set;
- our edge scorer on pair features only (node terms removed);
- our full network with the threshold picked on held-out training classes,
  and on the whole (more crowded) training set;
- the merging step after the hierarchy (``_decode.merge_clusters``): its
  threshold chosen after the link threshold, and both chosen together; the
  same with every point weighing 1 in the merge's price of a pair (the
  constant Potts model); and the same after a within-class whitening of the
  features learned on the training classes (``_whitening``), which is what
  ``fit`` does;
- two ways to get better link scores into that pipeline: the bundled
  no-label network fine-tuned on the training classes instead of a network
  trained from scratch, and the link probabilities of three networks
  (three seeds) averaged;
- what ``fit`` does with the merge threshold chosen on the *test* classes'
  labels: not a method, the ceiling of the merge threshold's calibration;
- what ``fit`` does without the Hi-LANDER hierarchy: no link between points
  before the merge, whose threshold is chosen for that start.

Every threshold is chosen for the best mean of BCubed F and pairwise F on
the labelled classes; "no merging" rows decode with the hierarchy alone.

Writes ``docs/ablation_results.{md,json}`` and re-renders the pages that
quote them (docs/design.md). Run: ``python -m benchmarks.ablation``.
"""

from __future__ import annotations

import json
import os
import time
from unittest import mock

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from benchmarks._report import _load, ablation_tables, publish, publish_docs
from benchmarks.baselines import TunedCosineDecoder
from sklearn_hilander import _decode, _train
from sklearn_hilander._calibrate import calibrate_thresholds
from sklearn_hilander._decode import MERGE_THRESHOLD_GRID, decode
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander._pretrained import PRETRAINED_PATH, read_network
from sklearn_hilander._scoring import network_scorer
from sklearn_hilander._train import meta_train
from sklearn_hilander._whitening import apply_whitening, learn_whitening
from sklearn_hilander.datasets import (
    load_hwu64,
    load_omniglot_features,
    make_embeddings,
)
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

K = 10
EPOCHS = 30
HELD_OUT_FRACTION = 0.2
# Fine-tuning the bundled network: fewer epochs at a third of the learning
# rate, so that it starts from what the bundled network knows (the full
# schedule from its weights scored as training from scratch did)
FINE_TUNING_EPOCHS = 10
FINE_TUNING_LEARNING_RATE = 1e-3
ENSEMBLE_SEEDS = (0, 1, 2)
# A link threshold no probability reaches: the hierarchy links no two points
# (copies aside) and the merge starts from every point alone
NO_LINKS = 1.5
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")


def trained_scorer(
    X, y, architecture, hidden, seed=0, max_iter=EPOCHS, learning_rate=3e-3
):
    config, state, _ = meta_train(
        X,
        y,
        metric="cosine",
        train_n_neighbors=(K, K // 2, K // 3),
        train_levels=3,
        architecture=architecture,
        hidden_size=hidden,
        max_iter=max_iter,
        learning_rate=learning_rate,
        weight_decay=1e-4,
        random_state=seed,
    )
    return network_scorer(config, state)


def fine_tuned_scorer(X, y):
    """The bundled network trained further on labelled ``X``: training
    starts from its weights instead of a random draw."""
    bundled_config, bundled_state, _ = read_network(PRETRAINED_PATH)
    build_network = _train.build_network

    def from_bundled(config, generator=None):
        net = build_network(config, generator)
        if config != bundled_config:
            raise ValueError("the bundled network reads other inputs than ours")
        net.load_state_dict(
            {
                name: torch.as_tensor(np.asarray(weights, dtype=np.float32))
                for name, weights in bundled_state.items()
            }
        )
        return net

    with mock.patch.object(_train, "build_network", from_bundled):
        return trained_scorer(
            X,
            y,
            "lander",
            64,
            max_iter=FINE_TUNING_EPOCHS,
            learning_rate=FINE_TUNING_LEARNING_RATE,
        )


def ensemble_scorer(scorers):
    """Link probabilities and densities averaged over several networks."""

    def score(level):
        scored = [scorer(level) for scorer in scorers]
        probabilities = np.mean([p for p, _ in scored], axis=0)
        densities = np.mean([d for _, d in scored], axis=0)
        return probabilities.astype(np.float32), densities.astype(np.float32)

    return score


def test_label_merge_threshold(X_test, y_test, scorer, thresholds):
    """``thresholds`` with the merge threshold of ``MERGE_THRESHOLD_GRID``
    that scores best on the test labels (the calibration's ceiling)."""
    threshold, _, merge_n_neighbors = thresholds

    def test_score(merge_threshold):
        result = evaluate(
            X_test, y_test, scorer, (threshold, merge_threshold, merge_n_neighbors)
        )
        return result["Fb"] + result["Fp"]

    best = max(MERGE_THRESHOLD_GRID, key=test_score)
    return threshold, float(best), merge_n_neighbors


def thresholds_for(
    X, y, scorer, link_threshold=None, merge=False, merge_n_neighbors=None
):
    """(link threshold, merge threshold, merge graph's neighbors) chosen on
    labelled ``X``; without ``merge``, the hierarchy alone (merge threshold
    inf)."""
    threshold, merge_threshold, merge_n_neighbors, _ = calibrate_thresholds(
        [(X, y)],
        scorer,
        search=GraphSearch(K, "cosine"),
        link_threshold=link_threshold,
        merge_threshold=None if merge else float("inf"),
        merge_n_neighbors=merge_n_neighbors,
    )
    return threshold, merge_threshold, merge_n_neighbors


def evaluate(X_test, y_test, scorer, thresholds):
    threshold, merge_threshold, merge_n_neighbors = thresholds
    labels = decode(
        X_test,
        scorer,
        threshold=threshold,
        search=GraphSearch(K, "cosine"),
        merge_threshold=merge_threshold,
        merge_n_neighbors=merge_n_neighbors,
    ).labels
    level0 = GraphSearch(K, "cosine").first_level(X_test)
    scores, _ = scorer(level0)
    same = (y_test[level0.indices] == y_test[:, None]).ravel()
    return {
        "Fb": bcubed_f_score(y_test, labels),
        "Fp": pairwise_f_score(y_test, labels),
        "edge AUC": roc_auc_score(same, scores.ravel()),
        "threshold": threshold,
        "merge threshold": merge_threshold,
        "merge neighbors": merge_n_neighbors,
        "clusters": len(np.unique(labels)),
    }


def unit_point_weights():
    """The merge with every point weighing 1 in the price of a pair (the
    constant Potts model), in place of ``_decode.point_weights``."""
    return mock.patch.object(
        _decode, "point_weights", lambda strength: np.ones(strength.size)
    )


def held_out_split(y, seed=0):
    classes = np.unique(y)
    rng = np.random.RandomState(seed)
    held = rng.choice(classes, int(len(classes) * HELD_OUT_FRACTION), replace=False)
    return ~np.isin(y, held)


def run(name, X_train, y_train, X_test, y_test):
    X_train, X_test = normalize_rows(X_train), normalize_rows(X_test)
    train_rows = held_out_split(y_train)
    rows = []

    def record(variant, result, seconds):
        result = dict(result, variant=variant, seconds=seconds)
        rows.append(result)
        print(name, result, flush=True)

    def record_merged(variant, scorer, X_fit, X_scored, started, **fixed):
        """Record ``scorer`` with both thresholds and the merge graph chosen
        on ``X_fit`` (but those in ``fixed``), scored on ``X_scored``."""
        thresholds = thresholds_for(X_fit, y_train, scorer, merge=True, **fixed)
        record(
            variant,
            evaluate(X_scored, y_test, scorer, thresholds),
            time.perf_counter() - started,
        )

    t0 = time.perf_counter()
    control = TunedCosineDecoder(K).tune(X_train, y_train)
    labels = control.cluster(X_test)
    level0 = GraphSearch(K, "cosine").first_level(X_test)
    same = (y_test[level0.indices] == y_test[:, None]).ravel()
    record(
        "no network: decoder on cosine, threshold tuned on training classes",
        {
            "Fb": bcubed_f_score(y_test, labels),
            "Fp": pairwise_f_score(y_test, labels),
            "edge AUC": roc_auc_score(same, level0.similarities.ravel()),
            "threshold": control.params_["threshold"],
            "merge threshold": float("inf"),
            "clusters": len(np.unique(labels)),
        },
        time.perf_counter() - t0,
    )
    for architecture, hidden, label in (
        ("paper", 256, "paper-faithful LANDER (raw features, src+dst head)"),
        ("lander", 64, "ours (pair features + class-blind node terms)"),
    ):
        t0 = time.perf_counter()
        scorer = trained_scorer(
            X_train[train_rows], y_train[train_rows], architecture, hidden
        )
        held = ~train_rows
        record(
            f"{label}, threshold on held-out 20% of training classes, no merging",
            evaluate(
                X_test,
                y_test,
                scorer,
                thresholds_for(X_train[held], y_train[held], scorer),
            ),
            time.perf_counter() - t0,
        )
        t0 = time.perf_counter()
        scorer = trained_scorer(X_train, y_train, architecture, hidden)
        alone = thresholds_for(X_train, y_train, scorer)
        record(
            f"{label}, threshold on the whole training set, no merging",
            evaluate(X_test, y_test, scorer, alone),
            time.perf_counter() - t0,
        )
    t0 = time.perf_counter()
    record(
        "ours + merging, merge threshold chosen after the link threshold",
        evaluate(
            X_test,
            y_test,
            scorer,
            thresholds_for(
                X_train, y_train, scorer, link_threshold=alone[0], merge=True
            ),
        ),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    record(
        f"ours + merging on the hierarchy's own {K}-neighbor graph, both "
        "thresholds chosen together",
        evaluate(
            X_test,
            y_test,
            scorer,
            thresholds_for(X_train, y_train, scorer, merge=True, merge_n_neighbors=K),
        ),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    record(
        "ours + merging, both thresholds and the merge graph chosen together, "
        "no whitening",
        evaluate(
            X_test, y_test, scorer, thresholds_for(X_train, y_train, scorer, merge=True)
        ),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    whitening, shrinkage = learn_whitening(
        X_train, y_train, metric="cosine", n_neighbors=K, random_state=0
    )
    X_train_w, X_test_w = (
        apply_whitening(X, "cosine", whitening) for X in (X_train, X_test)
    )
    # no map chosen: the same features, the same network
    scorer_w = (
        scorer
        if whitening is None
        else trained_scorer(X_train_w, y_train, "lander", 64)
    )
    fitted = thresholds_for(X_train_w, y_train, scorer_w, merge=True)
    record(
        "ours + merging after a within-class whitening learned on the training "
        f"classes (shrinkage chosen: {shrinkage}; what fit does)",
        evaluate(X_test_w, y_test, scorer_w, fitted),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    record(
        "what fit does, with the merge threshold chosen on the test classes' "
        "labels (the ceiling of its calibration, not a method)",
        evaluate(
            X_test_w,
            y_test,
            scorer_w,
            test_label_merge_threshold(X_test_w, y_test, scorer_w, fitted),
        ),
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    record_merged(
        "what fit does without the hierarchy: no link before the merge, which "
        "starts from every point alone",
        scorer_w,
        X_train_w,
        X_test_w,
        t0,
        link_threshold=NO_LINKS,
    )
    t0 = time.perf_counter()
    scorer_tuned = fine_tuned_scorer(X_train_w, y_train)
    record_merged(
        "what fit does, from the bundled no-label network fine-tuned on the "
        f"training classes ({FINE_TUNING_EPOCHS} epochs at learning rate "
        f"{FINE_TUNING_LEARNING_RATE:g}) instead of a network trained from scratch",
        scorer_tuned,
        X_train_w,
        X_test_w,
        t0,
    )
    t0 = time.perf_counter()
    scorer_ensemble = ensemble_scorer(
        [scorer_w]
        + [
            trained_scorer(X_train_w, y_train, "lander", 64, seed=seed)
            for seed in ENSEMBLE_SEEDS[1:]
        ]
    )
    record_merged(
        f"what fit does, with the link probabilities of {len(ENSEMBLE_SEEDS)} "
        "networks (seeds) averaged",
        scorer_ensemble,
        X_train_w,
        X_test_w,
        t0,
    )
    t0 = time.perf_counter()
    with unit_point_weights():
        record_merged(
            "ours + merging with every point weighing 1 (CPM), both thresholds "
            "and the merge graph chosen together",
            scorer,
            X_train,
            X_test,
            t0,
        )
    t0 = time.perf_counter()
    scorer = trained_scorer(X_train, y_train, "pairs", 64)
    record(
        "ours without node terms (pair features only), whole-set threshold, no merging",
        evaluate(X_test, y_test, scorer, thresholds_for(X_train, y_train, scorer)),
        time.perf_counter() - t0,
    )
    return rows


def main():
    results = {}
    X_train, y_train = make_embeddings(300, 64, random_state=0)
    X_test, y_test = make_embeddings(600, 64, random_state=1)
    results["synthetic"] = {
        "title": "Synthetic: 300 training classes, 600 unseen test classes (64-d)",
        "rows": run("synthetic", X_train, y_train, X_test, y_test),
    }
    # real sets split into meta-training and evaluation classes by the loader
    for key, title, load in (
        (
            "omniglot",
            "Omniglot: 482 meta-training characters, 659 unseen evaluation characters",
            load_omniglot_features,
        ),
        (
            "hwu64",
            "HWU64: 40 meta-training intents, 24 unseen intents of other scenarios",
            load_hwu64,
        ),
    ):
        data = load()
        X, y = data["features"], data["label"]
        train, test = data["meta_train"], data["evaluation"]
        results[key] = {
            "title": title,
            "rows": run(key, X[train], y[train], X[test], y[test]),
        }
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "ablation_results.json"), "w") as handle:
        # JSON has no infinity: "no merging" is stored as null
        json.dump(
            {
                key: dict(
                    entry,
                    rows=[
                        {k: (None if v == float("inf") else v) for k, v in r.items()}
                        for r in entry["rows"]
                    ],
                )
                for key, entry in results.items()
            },
            handle,
            indent=1,
        )
    text = ablation_tables(_load("ablation_results.json"))
    publish(
        ["Generated by `python -m benchmarks.ablation`.", "", text],
        os.path.join(DOCS, "ablation_results.md"),
    )
    publish_docs()


if __name__ == "__main__":
    main()
