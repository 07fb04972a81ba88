"""Cluster Omniglot characters never seen, beside tuned DBSCAN and HDBSCAN.

The whole learn-to-cluster pipeline on real data:

1. a small CNN encoder, trained with a softmax on 15 background alphabets,
   turns images into 64-d features (its weights ship with the package;
   ``examples/train_omniglot_encoder.py`` retrains it, ``--retrain-encoder``
   does it here);
2. HiLanderClustering is meta-trained on the features of the *other* 15
   background alphabets (482 characters): features of the encoder's own
   classes are much tighter than those of new classes, and a clusterer
   meta-trained on them learns thresholds that shatter unseen classes;
3. the 659 characters of the 20 evaluation alphabets, never seen by either
   model, are clustered;
4. DBSCAN and HDBSCAN (and the other baselines) get their parameters by a
   grid search for the best BCubed F on the same meta-training classes.

Run with ``make demo`` or, from the repository root,
``PYTHONPATH=. python examples/omniglot_demo.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from benchmarks.baselines import (
    TunedAgglomerative,
    TunedCosineDecoder,
    TunedDBSCAN,
    TunedFINCH,
    TunedHDBSCAN,
)
from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_omniglot_features
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score


def omniglot_features(retrain: bool) -> dict:
    if not retrain:
        return load_omniglot_features()
    from train_omniglot_encoder import train_encoder

    from sklearn_hilander import _omniglot

    arrays = _omniglot.load_omniglot_arrays()
    rows = np.isin(arrays["alphabet"], _omniglot.ENCODER_ALPHABETS)
    state = train_encoder(arrays["images"][rows], arrays["label"][rows])
    data = load_omniglot_features()
    data["features"] = _omniglot.encode(arrays["images"], state)
    return data


def cluster_unseen(X_train, y_train, X_test, random_state=0):
    """Meta-train on the labelled classes, then cluster the unseen ones.

    The test rows are new classes, so they are clustered among themselves
    (``fit_predict``); ``predict`` would assign them to the training
    classes' clusters instead.
    """
    # verbose: a progress bar through meta-training, the demo's longest step
    est = HiLanderClustering(random_state=random_state, verbose=1).fit(X_train, y_train)
    return est, est.fit_predict(X_test)


def row(name, labels, y, seconds, params=""):
    scores = (
        bcubed_f_score(y, labels),
        pairwise_f_score(y, labels),
        normalized_mutual_info_score(y, labels),
    )
    cells = [name, *(f"{s:.3f}" for s in scores), len(np.unique(labels))]
    return "| " + " | ".join(map(str, cells)) + f" | {seconds:.1f} | {params} |"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrain-encoder", action="store_true")
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = omniglot_features(args.retrain_encoder)
    X, y = data["features"], data["label"]
    X_train, y_train = X[data["meta_train"]], y[data["meta_train"]]
    X_test, y_test = X[data["evaluation"]], y[data["evaluation"]]
    print(
        f"features: {time.perf_counter() - start:.1f}s; meta-train "
        f"{len(X_train)} images / {len(set(y_train))} characters; test "
        f"{len(X_test)} images / {len(set(y_test))} unseen characters"
    )

    lines = [
        "| method | Fb | Fp | NMI | clusters | seconds (tune/fit + cluster) | params |",
        "|---|---|---|---|---|---|---|",
    ]
    # each row is printed as it comes (meta-training, the first, takes the
    # longest), then the whole table once more
    print("\nmeta-training on the labelled alphabets, then each rival's grid search:")
    print("\n".join(lines), flush=True)
    t0 = time.perf_counter()
    est, labels = cluster_unseen(X_train, y_train, X_test, args.random_state)
    lines.append(
        row(
            "HiLanderClustering (meta-trained)",
            labels,
            y_test,
            time.perf_counter() - t0,
            f"threshold_={est.threshold_:.3f}",
        )
    )
    print(lines[-1], flush=True)
    for baseline in (
        TunedCosineDecoder(),
        TunedDBSCAN(),
        TunedHDBSCAN(),
        TunedFINCH(),
        TunedAgglomerative(),
    ):
        t0 = time.perf_counter()
        labels = baseline.tune(X_train, y_train).cluster(X_test)
        params = ", ".join(f"{k}={v}" for k, v in baseline.params_.items())
        lines.append(
            row(baseline.name, labels, y_test, time.perf_counter() - t0, params)
        )
        print(lines[-1], flush=True)

    print("\nOmniglot evaluation alphabets (659 characters never seen):\n")
    print("\n".join(lines))
    print(f"\ntotal {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
