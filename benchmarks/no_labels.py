"""Clustering with no labels: the bundled network against rivals that had some.

Three comparisons, written to docs/no_label_results.{json,md} and quoted in
docs/pretrained.md:

* **synthetic sets and Omniglot**: ``HiLanderClustering()`` with its
  defaults (the bundled network; no labels anywhere) beside ``DBSCAN()`` and
  ``HDBSCAN()`` with their defaults, and beside DBSCAN and HDBSCAN *tuned
  with labels* of other classes from the same source (the grid search of
  ``benchmarks/baselines.py``). Data: synthetic sets of 200 classes at five
  dimensions (tuning sets use other seeds) and the Omniglot evaluation
  alphabets (tuning on the meta-training alphabets).
* **the quality benchmark's dev sets**: the bundled network beside Leiden
  whose resolution and k were tuned on *another* dev set's labelled classes
  (each other set in turn, and the best of them for Leiden), and beside
  DBSCAN and HDBSCAN tuned with labels of the same set. The tuned
  parameters and the tuned DBSCAN/HDBSCAN scores are read from
  docs/quality_results.json, so run ``python -m benchmarks.quality`` first.
* **tiny classes, in families and apart**: why the bundled network trails
  on the dev set of many tiny classes. The same kind of set (classes of
  about three points, 64-d) drawn with its classes in families of
  look-alikes, as that dev set's are, and with the families set further
  apart; the bundled network with and without its merge, beside DBSCAN and
  HDBSCAN tuned with labels of other classes drawn the same way.

Noise points count as singleton clusters.

    python -m benchmarks.no_labels                 # every part
    python -m benchmarks.no_labels --parts dev     # the dev-set part only
    python -m benchmarks.no_labels --parts families
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN

from benchmarks._report import (
    DOCS,
    NO_LABEL_METHODS,
    earlier_results,
    no_label_markdown,
    publish,
    publish_docs,
)
from benchmarks.baselines import (
    TunedDBSCAN,
    TunedHDBSCAN,
    singletons_for_noise,
)
from benchmarks.quality import TINY_CLASSES, TunedLeiden, _json_threshold
from benchmarks.quality import data_sets as quality_data_sets
from sklearn_hilander import HiLanderClustering
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander.datasets import (
    load_omniglot_features,
    make_embeddings,
)
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

METHODS = NO_LABEL_METHODS
# the quality benchmark's in-domain dev sets; each lends its tuned Leiden
# parameters to the others
DEV_SETS = [
    "omniglot",
    "hwu64",
    "synthetic-easier",
    "synthetic-harder",
    "synthetic-tiny",
]
# the tiny-class dev set's classes come in families of look-alikes (the
# generator's default family_angle, 0.6 rad); wider angles set them apart
FAMILY_ANGLES = (0.6, 1.0, 1.5)


def data_sets():
    for dim in (16, 32, 64, 128, 256):
        X, y = make_embeddings(200, dim, random_state=dim)
        X_tune, y_tune = make_embeddings(200, dim, random_state=1000 + dim)
        yield f"synthetic d={dim}", X, y, X_tune, y_tune
    data = load_omniglot_features()
    X, y = data["features"], data["label"]
    train, test = data["meta_train"], data["evaluation"]
    yield "Omniglot evaluation", X[test], y[test], X[train], y[train]


def cluster_all(X, X_tune, y_tune):
    yield HiLanderClustering().fit_predict(X)
    yield singletons_for_noise(DBSCAN().fit_predict(X))
    yield singletons_for_noise(HDBSCAN(copy=True).fit_predict(X))
    yield TunedDBSCAN().tune(X_tune, y_tune).cluster(X)
    yield TunedHDBSCAN().tune(X_tune, y_tune).cluster(X)


def _scores(y, labels) -> dict:
    labels = np.asarray(labels)
    return {
        "Fb": bcubed_f_score(y, labels),
        "Fp": pairwise_f_score(y, labels),
        "clusters": int(np.unique(labels).size),
    }


def defaults_part() -> list[dict]:
    rows = []
    for name, X, y, X_tune, y_tune in data_sets():
        scores = [_scores(y, labels) for labels in cluster_all(X, X_tune, y_tune)]
        rows.append({"data": name, "scores": dict(zip(METHODS, scores))})
        print(name, " ".join(f"{s['Fb']:.3f}/{s['Fp']:.3f}" for s in scores))
    return rows


def dev_part() -> dict:
    with open(os.path.join(DOCS, "quality_results.json")) as handle:
        quality = json.load(handle)
    tuned = {key: {r["method"]: r for r in quality[key]["rows"]} for key in DEV_SETS}
    results = {}
    for key, _, _, _, X, y in quality_data_sets(DEV_SETS):
        entry = {
            "classes": int(np.unique(y).size),
            "bundled": _scores(y, HiLanderClustering(random_state=0).fit_predict(X)),
            "tuned_here": {
                name: {s: tuned[key][name][s] for s in ("Fb", "Fp", "clusters")}
                for name in ("DBSCAN", "HDBSCAN")
            },
            "leiden_from": {},
        }
        leiden = TunedLeiden()
        graph = leiden.prepare(normalize_rows(X))
        for source in DEV_SETS:
            if source == key:
                continue
            params = tuned[source][TunedLeiden.name]["params"]
            entry["leiden_from"][source] = dict(
                _scores(y, leiden.run(graph, **params)), params=params
            )
        results[key] = entry
        print(key, json.dumps(entry, default=float))
    return results


def families_part() -> list[dict]:
    """Many tiny classes, in families of look-alikes and apart: the bundled
    network (with its label-free merge and without merging) beside DBSCAN
    and HDBSCAN tuned with labels of other classes drawn the same way."""
    rows = []
    for angle in FAMILY_ANGLES:
        X, y = make_embeddings(
            2000, 64, random_state=1, family_angle=angle, **TINY_CLASSES
        )
        X_tune, y_tune = make_embeddings(
            1000, 64, random_state=0, family_angle=angle, **TINY_CLASSES
        )
        bundled = HiLanderClustering(random_state=0)
        scores = {"HiLanderClustering()": _scores(y, bundled.fit_predict(X))}
        unmerged = HiLanderClustering(merge_threshold=float("inf"), random_state=0)
        scores["no merging"] = _scores(y, unmerged.fit_predict(X))
        scores["DBSCAN tuned with labels"] = _scores(
            y, TunedDBSCAN().tune(X_tune, y_tune).cluster(X)
        )
        scores["HDBSCAN tuned with labels"] = _scores(
            y, TunedHDBSCAN().tune(X_tune, y_tune).cluster(X)
        )
        rows.append(
            {
                "family_angle": angle,
                "classes": int(np.unique(y).size),
                "merge_threshold": _json_threshold(bundled.merge_threshold_),
                "scores": scores,
            }
        )
        print(angle, json.dumps(rows[-1], default=float), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["defaults", "dev", "families"]
    parser.add_argument("--parts", nargs="*", default=parts, choices=parts)
    args = parser.parse_args()
    results = earlier_results("no_label_results.json")
    if "defaults" in args.parts:
        results["defaults"] = defaults_part()
    if "dev" in args.parts:
        results["dev"] = dev_part()
    if "families" in args.parts:
        results["families"] = families_part()
    with open(os.path.join(DOCS, "no_label_results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    publish(no_label_markdown(results), os.path.join(DOCS, "no_label_results.md"))
    publish_docs()


if __name__ == "__main__":
    main()
