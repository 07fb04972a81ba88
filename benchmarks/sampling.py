"""Quality on batches that sample each unseen class more sparsely.

A fitted model is often asked to cluster a batch that holds a few points of
each class, fewer than the labelled set had: a day's support tickets, ten
photos of each person instead of fifty. Every method is tuned once, on the
labelled training classes whole (as in ``benchmarks/quality.py``), then
clusters the unseen classes with every class cut to a half, a quarter and an
eighth of its points (drawn at random, rounded up). Rows:

- HiLanderClustering, meta-trained: the merge threshold read off the curve
  fitted on the labelled classes (``merge_threshold_curve_``);
- the same fitted model with one merge threshold, the labelled set's own
  (what fit did before the curve);
- Leiden, Infomap and HDBSCAN on the kNN graph, tuned on the labelled set.

Writes ``docs/sampling_results.{json,md}`` and
``docs/images/sampling_fb.png``, and re-renders the pages that quote them.
Run: ``python -m benchmarks.sampling`` (about 20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import os

import numpy as np

from sklearn_hilander import HiLanderClustering
from sklearn_hilander._calibrate import class_sample
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

from ._report import (
    DOCS,
    earlier_results,
    publish,
    publish_docs,
    sampling_markdown,
)
from .baselines import TunedHDBSCAN
from .quality import TunedInfomap, TunedLeiden, data_sets

SETS = ("omniglot", "hwu64", "synthetic-harder")
# the share of each unseen class's points that a batch keeps
FRACTIONS = (1.0, 0.5, 0.25, 0.125)
OURS = "HiLanderClustering, meta-trained"
ONE_THRESHOLD = "HiLanderClustering, one merge threshold (the labelled set's)"


class _Ours:
    name = OURS

    def tune(self, X, y):
        self.model_ = HiLanderClustering(random_state=0).fit(X, y)
        return self

    def cluster(self, X):
        # a copy: the model clusters every batch as fitted
        return copy.deepcopy(self.model_).fit_predict(X)


class _OneThreshold(_Ours):
    name = ONE_THRESHOLD

    def tune(self, X, y, fitted=None):
        model = fitted.model_ if fitted is not None else None
        if model is None:
            model = HiLanderClustering(random_state=0).fit(X, y)
        self.model_ = copy.deepcopy(model).set_params(
            merge_threshold=float(model.merge_threshold_curve_[-1, 1])
        )
        return self


def run_set(key, X_train, y_train, X_test, y_test) -> list[dict]:
    ours = _Ours().tune(X_train, y_train)
    methods = [
        ours,
        _OneThreshold().tune(X_train, y_train, fitted=ours),
        TunedLeiden().tune(X_train, y_train),
        TunedInfomap().tune(X_train, y_train),
        TunedHDBSCAN().tune(X_train, y_train),
    ]
    rows = []
    for fraction in FRACTIONS:
        kept = class_sample(y_test, fraction, random_state=0)
        X, y = X_test[kept], y_test[kept]
        for method in methods:
            labels = np.asarray(method.cluster(X))
            row = {
                "method": method.name,
                "fraction": fraction,
                "points_per_class": float(y.size / np.unique(y).size),
                "Fb": bcubed_f_score(y, labels),
                "Fp": pairwise_f_score(y, labels),
                "clusters": int(np.unique(labels).size),
                "true_clusters": int(np.unique(y).size),
            }
            print(f"{key}: {row}", flush=True)
            rows.append(row)
    return rows


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.8))
    for ax, entry in zip(np.atleast_1d(axes), results.values()):
        methods = list(dict.fromkeys(r["method"] for r in entry["rows"]))
        for name in methods:
            rows = [r for r in entry["rows"] if r["method"] == name]
            ax.plot(
                [r["points_per_class"] for r in rows],
                [r["Fb"] for r in rows],
                marker="o",
                label=name,
            )
        ax.set_xscale("log")
        ax.set_title(entry["title"].split(",")[0], fontsize=9)
        ax.set_xlabel("points per unseen class in the batch")
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("BCubed F")
    np.atleast_1d(axes)[0].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.join(DOCS, "images"), exist_ok=True)
    fig.savefig(os.path.join(DOCS, "images", "sampling_fb.png"), dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    args = parser.parse_args()
    path = os.path.join(DOCS, "sampling_results.json")
    results = earlier_results("sampling_results.json")
    for key, title, X_train, y_train, X_test, y_test in data_sets(args.sets):
        results[key] = {
            "title": title,
            "train_points_per_class": float(y_train.size / np.unique(y_train).size),
            "rows": run_set(key, X_train, y_train, X_test, y_test),
        }
        with open(path, "w") as handle:
            json.dump(results, handle, indent=1)
    ordered = {k: results[k] for k in SETS if k in results}
    publish(sampling_markdown(ordered), os.path.join(DOCS, "sampling_results.md"))
    plot(ordered)
    publish_docs()


if __name__ == "__main__":
    main()
