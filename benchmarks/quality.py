"""Clustering quality on unseen classes: HiLanderClustering against the field.

Every method gets the same protocol: its parameters are chosen on labelled
*training* classes (HiLanderClustering meta-trains there and calibrates its
thresholds; every competitor grid-searches its parameters there; all for the
best mean of BCubed F and pairwise F), then it clusters the *unseen* test
classes once. Scores on the test classes: pairwise F (Fp), BCubed F (Fb),
NMI, the number of clusters (with the true number beside it), the largest
cluster's size and purity, and the seconds taken to cluster the test set
(tuning or training time in its own column).

Data sets:

- Omniglot: features of the bundled encoder; training = the meta-training
  background alphabets, test = the 20 evaluation alphabets;
- synthetic, easier and harder: ``make_embeddings`` with tighter or looser
  classes and nearer or farther sibling classes (300 training classes, 600
  test classes, 64-d, other seeds);
- HWU64: MiniLM embeddings of intent utterances; training = the intents of
  12 scenarios, test = the intents of 6 other scenarios;
- synthetic, many tiny classes: classes of about three points (1,000
  training, 2,000 test classes), where over-merging is the failure;
- cross-domain: training on synthetic classes, test on Omniglot; and
  training on Omniglot, test on HWU64.

Methods: HiLanderClustering meta-trained (defaults), the paper-faithful
LANDER network (raw features, as in the paper), the bundled no-label network
(``HiLanderClustering()``, no tuning at all), the same decoder on raw cosine
similarity (no network), DBSCAN, HDBSCAN, FINCH, average-linkage
agglomerative, Leiden and Infomap on the kNN graph (igraph), Leiden on the
features after the within-class whitening our fit learns (how much of a lead
is that map alone) and k-means told the true number of test classes. OPTICS
ran here until 11b76ab (its numbers are in that commit's
docs/quality_results.md); it took more than half of the benchmark's time and
led on no set.

    python -m benchmarks.quality            # all sets, about 50 minutes on 2 cores
    python -m benchmarks.quality --sets omniglot
    python -m benchmarks.quality --methods meta-trained   # rerun our rows only

``--methods`` reruns the named methods and keeps every other row from
docs/quality_results.json: after a change to HiLanderClustering, the rivals,
which it does not touch, need not be tuned again (they are seeded and give
the same rows).

Writes docs/quality_results.md, docs/quality_results.json and
docs/images/quality_fb.png.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from benchmarks._report import earlier_results, publish, publish_docs
from benchmarks.baselines import (
    Tuned,
    TunedAgglomerative,
    TunedCosineDecoder,
    TunedDBSCAN,
    TunedFINCH,
    TunedHDBSCAN,
)
from sklearn_hilander import HiLanderClustering
from sklearn_hilander._calibrate import calibrate_thresholds
from sklearn_hilander._decode import decode
from sklearn_hilander._graph import knn_graph, normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander._scoring import network_scorer
from sklearn_hilander._train import meta_train
from sklearn_hilander._whitening import apply_whitening, learn_whitening
from sklearn_hilander.datasets import (
    load_hwu64,
    load_omniglot_features,
    make_embeddings,
)
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

DOCS = os.path.join(ROOT, "docs")
K = 10
SYNTHETIC = {
    "easier": {"spread": 0.6, "family_angle": 0.8},
    "harder": {"spread": 0.9, "family_angle": 0.45},
}


def _json_threshold(threshold: float):
    """A merge threshold for the results file (JSON has no infinity)."""
    return round(threshold, 4) if np.isfinite(threshold) else "none"


class MetaTrained:
    """HiLanderClustering with its defaults, meta-trained on the training set."""

    name = "HiLanderClustering, meta-trained"

    def tune(self, X, y):
        self.model_ = HiLanderClustering(random_state=0).fit(X, y)
        # what fit chose, reported beside the rivals' tuned parameters
        self.params_ = {
            "link_threshold": self.model_.threshold_,
            "merge_threshold": _json_threshold(self.model_.merge_threshold_),
            "merge_n_neighbors": self.model_.merge_n_neighbors_,
            "whitening_shrinkage": self.model_.whitening_shrinkage_,
        }
        return self

    def cluster(self, X):
        # pretrained= lends the network to features of another width too
        # (the cross-domain sets)
        est = HiLanderClustering(pretrained=self.model_, random_state=0)
        labels = est.fit_predict(X)
        # the merge threshold the test set got: read off fit's curve at its
        # sampling, or chosen without labels where the curve cannot tell
        self.params_ = dict(
            self.params_, merge_threshold_applied=_json_threshold(est.merge_threshold_)
        )
        return labels


class MetaTrainedToldK(MetaTrained):
    """The meta-trained model told the true number of test classes
    (``n_clusters``), beside k-means told it too."""

    name = "HiLanderClustering, meta-trained, told the true number of classes"

    def cluster_with_k(self, X, n_clusters):
        est = HiLanderClustering(
            pretrained=self.model_, n_clusters=n_clusters, random_state=0
        )
        labels = est.fit_predict(X)
        # the merge that the count chose, not fit's
        self.params_ = dict(
            self.params_,
            merge_threshold=round(est.merge_threshold_, 4),
            merge_n_neighbors=est.merge_graph_n_neighbors_,
        )
        return labels


class PaperLander:
    """The paper-faithful network: raw own and cluster features, 256 wide."""

    name = "paper-faithful LANDER"
    # reads raw coordinates: cannot cluster features of another width
    needs_same_width = True

    def tune(self, X, y):
        X = normalize_rows(X)
        config, state, _ = meta_train(
            X,
            y,
            metric="cosine",
            train_n_neighbors=(K, K // 2, K // 3),
            train_levels=3,
            architecture="paper",
            hidden_size=256,
            max_iter=30,
            learning_rate=3e-3,
            weight_decay=1e-4,
            random_state=0,
        )
        self.scorer_ = network_scorer(config, state)
        # the paper's decoding: the hierarchy alone, no merging step
        self.threshold_ = calibrate_thresholds(
            [(X, y)],
            self.scorer_,
            search=GraphSearch(K, "cosine", 0),
            merge_threshold=float("inf"),
        )[0]
        return self

    def cluster(self, X):
        return decode(
            normalize_rows(X),
            self.scorer_,
            threshold=self.threshold_,
            search=GraphSearch(K, "cosine", 0),
        ).labels


class Bundled:
    """``HiLanderClustering()``: the bundled network, no labels, no tuning."""

    name = "HiLanderClustering(), bundled, no labels"

    def tune(self, X, y):
        return self

    def cluster(self, X):
        return HiLanderClustering(random_state=0).fit_predict(X)


class TunedLeiden(Tuned):
    """Leiden communities (modularity) of the weighted kNN graph (igraph);
    the resolution and the number of neighbors are tuned."""

    name = "Leiden on the kNN graph"
    grid = [
        {"resolution": float(r), "n_neighbors": k}
        for k in (5, 10, 20, 30)
        for r in np.round(np.logspace(-1, 3, 17), 3)
    ]

    def prepare(self, X):
        k = max(p["n_neighbors"] for p in self.grid)
        return knn_graph(X, k, metric="cosine", random_state=0)

    def run(self, graph, resolution, n_neighbors):
        import igraph

        indices, sims = graph[0][:, :n_neighbors], graph[1][:, :n_neighbors]
        n = indices.shape[0]
        rows = np.repeat(np.arange(n), indices.shape[1])
        g = igraph.Graph(n=n, edges=np.column_stack([rows, indices.ravel()]).tolist())
        # igraph draws from Python's random module
        random.seed(0)
        partition = g.community_leiden(
            objective_function="modularity",
            weights=np.maximum(sims.ravel(), 1e-6).tolist(),
            resolution=resolution,
            n_iterations=-1,
        )
        return np.asarray(partition.membership)


class WhitenedLeiden(TunedLeiden):
    """Leiden as above, on the features after the within-class whitening
    that HiLanderClustering's fit learns: how much of our lead on a set is
    that map, which a Leiden user could learn too."""

    name = "Leiden on the kNN graph of whitened features (our fit's map)"
    # the map is learned on the training features' width
    needs_same_width = True

    def tune(self, X, y):
        X = normalize_rows(X)
        self.whitening_, shrinkage = learn_whitening(
            X, y, metric="cosine", n_neighbors=10, random_state=0
        )
        super().tune(apply_whitening(X, "cosine", self.whitening_), y)
        self.params_ = dict(self.params_, whitening_shrinkage=shrinkage)
        return self

    def cluster(self, X):
        X = apply_whitening(normalize_rows(X), "cosine", self.whitening_)
        # params_ also reports the shrinkage, which Leiden does not take
        params = {k: v for k, v in self.params_.items() if k != "whitening_shrinkage"}
        return self.run(self.prepare(normalize_rows(X)), **params)


class TunedInfomap(Tuned):
    """Infomap (map equation) on the weighted kNN graph (igraph); the number
    of neighbors is tuned."""

    name = "Infomap on the kNN graph"
    grid = [{"n_neighbors": k} for k in (5, 10, 15, 20, 30)]

    def prepare(self, X):
        k = max(p["n_neighbors"] for p in self.grid)
        return knn_graph(X, k, metric="cosine", random_state=0)

    def run(self, graph, n_neighbors):
        import igraph

        indices, sims = graph[0][:, :n_neighbors], graph[1][:, :n_neighbors]
        n = indices.shape[0]
        rows = np.repeat(np.arange(n), indices.shape[1])
        g = igraph.Graph(n=n, edges=np.column_stack([rows, indices.ravel()]).tolist())
        random.seed(0)
        partition = g.community_infomap(
            edge_weights=np.maximum(sims.ravel(), 1e-6).tolist(), trials=2
        )
        return np.asarray(partition.membership)


class KMeansTrueK:
    """k-means told the true number of test classes (an oracle, untuned)."""

    name = "k-means with the true k"

    def tune(self, X, y):
        return self

    def cluster_with_k(self, X, n_clusters):
        return KMeans(n_clusters=n_clusters, random_state=0).fit_predict(
            normalize_rows(X)
        )


# variants of our own method; every other row is a competitor
OWN_METHODS = (
    MetaTrained,
    MetaTrainedToldK,
    PaperLander,
    Bundled,
    TunedCosineDecoder,
)
METHODS = OWN_METHODS + (
    TunedDBSCAN,
    TunedHDBSCAN,
    TunedFINCH,
    TunedAgglomerative,
    TunedLeiden,
    WhitenedLeiden,
    TunedInfomap,
    KMeansTrueK,
)


# many classes of two to four points, as identities with one or two photos
# each are: merging too much is the failure there
TINY_CLASSES = {"mean_class_size": 3.0, "size_dispersion": 0.4}


def data_sets(names):
    if "omniglot" in names or "cross-domain" in names or "omniglot-to-hwu64" in names:
        data = load_omniglot_features()
        X, y = data["features"], data["label"]
        train, test = data["meta_train"], data["evaluation"]
    if "omniglot" in names:
        yield (
            "omniglot",
            "Omniglot, unseen alphabets",
            X[train],
            y[train],
            X[test],
            y[test],
        )
    if "hwu64" in names or "omniglot-to-hwu64" in names:
        hwu = load_hwu64()
        Xh, yh = hwu["features"], hwu["label"]
        train_h, test_h = hwu["meta_train"], hwu["evaluation"]
    if "hwu64" in names:
        yield (
            "hwu64",
            "HWU64 intents, unseen scenarios (MiniLM sentence embeddings)",
            Xh[train_h],
            yh[train_h],
            Xh[test_h],
            yh[test_h],
        )
    for difficulty, knobs in SYNTHETIC.items():
        if f"synthetic-{difficulty}" in names:
            X_tr, y_tr = make_embeddings(300, 64, random_state=0, **knobs)
            X_te, y_te = make_embeddings(600, 64, random_state=1, **knobs)
            knob_text = ", ".join(f"{k}={v}" for k, v in knobs.items())
            title = f"Synthetic, {difficulty} ({knob_text})"
            yield f"synthetic-{difficulty}", title, X_tr, y_tr, X_te, y_te
    if "synthetic-tiny" in names:
        X_tr, y_tr = make_embeddings(1000, 64, random_state=0, **TINY_CLASSES)
        X_te, y_te = make_embeddings(2000, 64, random_state=1, **TINY_CLASSES)
        title = "Synthetic, many tiny classes (mean_class_size=3, size_dispersion=0.4)"
        yield "synthetic-tiny", title, X_tr, y_tr, X_te, y_te
    if "cross-domain" in names:
        X_tr, y_tr = make_embeddings(300, X.shape[1], random_state=0)
        title = "Cross-domain: trained on synthetic classes, tested on Omniglot"
        yield "cross-domain", title, X_tr, y_tr, X[test], y[test]
    if "omniglot-to-hwu64" in names:
        title = "Cross-domain: trained on Omniglot, tested on HWU64 unseen intents"
        yield "omniglot-to-hwu64", title, X[train], y[train], Xh[test_h], yh[test_h]


def evaluate(method_class, X_train, y_train, X_test, y_test) -> dict:
    method = method_class()
    start = time.perf_counter()
    method.tune(X_train, y_train)
    tuning = time.perf_counter() - start
    start = time.perf_counter()
    if hasattr(method, "cluster_with_k"):
        labels = method.cluster_with_k(X_test, len(np.unique(y_test)))
    else:
        labels = method.cluster(X_test)
    seconds = time.perf_counter() - start
    labels = np.asarray(labels)
    return {
        "method": method.name,
        "Fp": pairwise_f_score(y_test, labels),
        "Fb": bcubed_f_score(y_test, labels),
        "NMI": normalized_mutual_info_score(y_test, labels),
        "clusters": int(np.unique(labels).size),
        "true_clusters": int(np.unique(y_test).size),
        **largest_cluster(y_test, labels),
        "seconds": seconds,
        "tuning_seconds": tuning,
        "params": {k: _plain(v) for k, v in getattr(method, "params_", {}).items()},
    }


def largest_cluster(y_true, labels) -> dict:
    """Size of the largest cluster and the share of its majority class (a
    few huge chained clusters show here, whatever BCubed F says)."""
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    largest = np.unique(labels)[np.argmax(sizes)]
    members = y_true[labels == largest]
    purity = (
        np.bincount(np.unique(members, return_inverse=True)[1]).max() / members.size
    )
    return {"largest_size": int(members.size), "largest_purity": float(purity)}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def report(results: dict) -> list[str]:
    lines = [
        "# Quality on unseen classes",
        "",
        "Each method's parameters are chosen on labelled training classes "
        "(competitors: grid search; HiLanderClustering: meta-training and "
        "threshold calibration; both for the best mean of BCubed F and pairwise "
        "F), then it clusters the unseen test classes once. Fp = pairwise F, "
        "Fb = BCubed F; noise points count "
        "as singletons. *seconds* = clustering the test set; *tuning s* = "
        "training or grid search on the training set. 2 CPU cores. Produced by "
        "`python -m benchmarks.quality`.",
        "",
        "![BCubed F per method and data set](images/quality_fb.png)",
    ]
    for entry in results.values():
        rows = entry["rows"]
        best_fb = max(r["Fb"] for r in rows)
        best_fp = max(r["Fp"] for r in rows)
        lines += [
            "",
            f"## {entry['title']}",
            "",
            f"{entry['n_train']:,} training points ({entry['train_classes']} classes); "
            f"{entry['n_test']:,} test points ({entry['test_classes']} classes).",
            "",
            "| method | Fp | Fb | NMI | clusters (x true) | largest cluster: size, "
            "purity | seconds | tuning s | chosen parameters |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            fp = f"{r['Fp']:.3f}"
            fb = f"{r['Fb']:.3f}"
            params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
            lines.append(
                f"| {r['method']} | {f'**{fp}**' if r['Fp'] == best_fp else fp} "
                f"| {f'**{fb}**' if r['Fb'] == best_fb else fb} | {r['NMI']:.3f} "
                f"| {r['clusters']:,} ({r['clusters'] / entry['test_classes']:.2f}x) "
                f"| {r['largest_size']:,}, {r['largest_purity']:.2f} "
                f"| {r['seconds']:.1f} | {r['tuning_seconds']:.0f} "
                f"| {params} |"
            )
    return lines + verdict(results)


def verdict(results: dict) -> list[str]:
    """Where HiLanderClustering (meta-trained) wins and where it does not."""
    own = {m.name for m in OWN_METHODS}
    lines = [
        "",
        "## Where HiLanderClustering is and is not the best",
        "",
        "HiLanderClustering meta-trained on the training classes against the best "
        "competitor (any method other than our own variants) on each score. "
        "Each set is one split scored with one seed, so differences under about "
        "0.01 are ties; k-means is told the true number of test classes, which "
        "no other method is.",
        "",
        "| data set | score | HiLanderClustering | best competitor | difference |",
        "|---|---|---|---|---|",
    ]
    for entry in results.values():
        ours = next(r for r in entry["rows"] if r["method"] == MetaTrained.name)
        rivals = [r for r in entry["rows"] if r["method"] not in own]
        for score in ("Fb", "Fp"):
            best = max(rivals, key=lambda r: r[score])
            gap = ours[score] - best[score]
            outcome = "best" if gap > 0 else "**not best**"
            lines.append(
                f"| {entry['title']} | {score} | {ours[score]:.3f} ({outcome}) "
                f"| {best['method']}, {best[score]:.3f} | {gap:+.3f} |"
            )
    return lines


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    methods = [r["method"] for r in results[keys[0]]["rows"]]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(methods)
    cmap = plt.get_cmap("tab20")
    for m, name in enumerate(methods):
        values = [
            next((r["Fb"] for r in results[k]["rows"] if r["method"] == name), 0)
            for k in keys
        ]
        ax.bar(
            np.arange(len(keys)) + (m - len(methods) / 2 + 0.5) * width,
            values,
            width,
            label=name,
            color=cmap(m),
        )
    ax.set_xticks(
        np.arange(len(keys)),
        [results[k]["title"].split(":")[0].split(" (")[0] for k in keys],
    )
    ax.set_ylabel("BCubed F on unseen classes")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.join(DOCS, "images"), exist_ok=True)
    fig.savefig(os.path.join(DOCS, "images", "quality_fb.png"), dpi=110)
    plt.close(fig)


def _key(method_class) -> str:
    """A method's name on the command line: 'meta-trained', 'leiden', ..."""
    names = {
        MetaTrained: "meta-trained",
        MetaTrainedToldK: "meta-trained-told-k",
        PaperLander: "paper",
        Bundled: "bundled",
    }
    return names.get(method_class, method_class.__name__.removeprefix("Tuned").lower())


def main() -> None:
    all_sets = [
        "omniglot",
        "hwu64",
        "synthetic-easier",
        "synthetic-harder",
        "synthetic-tiny",
        "cross-domain",
        "omniglot-to-hwu64",
    ]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=all_sets, choices=all_sets)
    keys = {_key(m): m for m in METHODS}
    parser.add_argument("--methods", nargs="*", default=list(keys), choices=list(keys))
    args = parser.parse_args()
    path = os.path.join(DOCS, "quality_results.json")
    results = earlier_results("quality_results.json")
    for key, title, X_train, y_train, X_test, y_test in data_sets(args.sets):
        kept = {r["method"]: r for r in results.get(key, {}).get("rows", [])}
        rows = []
        for method_class in METHODS:
            if getattr(method_class, "needs_same_width", False) and (
                X_train.shape[1] != X_test.shape[1]
            ):
                continue
            if _key(method_class) not in args.methods and method_class.name in kept:
                rows.append(kept[method_class.name])
                continue
            row = evaluate(method_class, X_train, y_train, X_test, y_test)
            print(f"{key}: {row}", flush=True)
            rows.append(row)
        results[key] = {
            "title": title,
            "n_train": int(len(y_train)),
            "n_test": int(len(y_test)),
            "train_classes": int(np.unique(y_train).size),
            "test_classes": int(np.unique(y_test).size),
            "rows": rows,
        }
        with open(path, "w") as handle:
            json.dump(results, handle, indent=1)
    ordered = {k: results[k] for k in all_sets if k in results}
    publish(report(ordered), os.path.join(DOCS, "quality_results.md"))
    plot(ordered)
    publish_docs()  # README and docs quote these results


if __name__ == "__main__":
    main()
