"""HiLanderClustering as BERTopic's clustering step, beside BERTopic's default.

    python -m benchmarks.bertopic_topics     # about a minute on 2 cores

Needs the ``bertopic`` extra (``pip install -e ".[bertopic]"``). Data: the
HWU64 intents bundled with the package (``datasets.load_hwu64``). The
clusterer is meta-trained on the 40 intents of 12 scenarios; BERTopic then
models the utterances of the 24 intents of the 6 other scenarios: folds 1-7
are the documents of ``fit_transform``, folds 8-10 arrive later through
``transform``. Each configuration is compared on:

- topic quality: BCubed F and pairwise F of the fitted topics against the
  intents (BERTopic's outlier topic -1 counts as one topic);
- transform accuracy: the share of new documents whose topic is the topic
  most of their intent's fitted documents got;
- outliers: the share of documents in topic -1, fitted and new;
- seconds for ``fit_transform`` and for ``transform``, in this process.

The semi-supervised rows pass ``y`` with the intent of the fold 1-3
documents and -1 for the rest, and score topic quality on the unlabelled
documents. Writes docs/bertopic_results.{md,json} and re-renders the pages
that quote them.
"""

from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np

from benchmarks._report import DOCS, bertopic_markdown, publish, publish_docs
from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_hwu64
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

FIT_FOLDS = 7  # folds 1-7 fitted, 8-10 transformed
LABELLED_FOLDS = 3  # semi-supervised: folds 1-3 carry their intent


def hwu64_split() -> dict:
    """The documents, embeddings and intents of each part of the protocol."""
    data = load_hwu64()
    evaluation, fold = data["evaluation"], data["fold"]
    parts = {
        "meta_train": data["meta_train"],
        "fit": evaluation & (fold <= FIT_FOLDS),
        "new": evaluation & (fold > FIT_FOLDS),
    }
    split = {
        name: dict(
            docs=[str(t) for t in data["text"][mask]],
            embeddings=data["features"][mask],
            intent=data["label"][mask],
            fold=fold[mask],
        )
        for name, mask in parts.items()
    }
    fit = split["fit"]
    fit["y_semi"] = np.where(fit["fold"] <= LABELLED_FOLDS, fit["intent"], -1)
    return split


def transform_accuracy(fit_topics, fit_intent, new_topics, new_intent) -> float:
    """Share of new documents given the topic most of their intent's fitted
    documents have (an intent's documents should land where its earlier
    documents did)."""
    fit_topics, new_topics = np.asarray(fit_topics), np.asarray(new_topics)
    majority = {}
    for intent in np.unique(fit_intent):
        topics, counts = np.unique(fit_topics[fit_intent == intent], return_counts=True)
        majority[intent] = topics[np.argmax(counts)]
    expected = np.array([majority.get(i, np.nan) for i in new_intent])
    return float(np.mean(new_topics == expected))


def topic_model(clusterer=None):
    """BERTopic with its default UMAP + HDBSCAN (UMAP seeded), or with
    ``clusterer`` on the embeddings themselves (no dimensionality reduction)."""
    from bertopic import BERTopic
    from bertopic.dimensionality import BaseDimensionalityReduction

    if clusterer is None:
        from umap import UMAP

        # BERTopic's own UMAP settings, seeded so that the rows repeat
        reduction = UMAP(
            n_neighbors=15,
            n_components=5,
            min_dist=0.0,
            metric="cosine",
            random_state=0,
        )
        return BERTopic(umap_model=reduction)
    return BERTopic(hdbscan_model=clusterer, umap_model=BaseDimensionalityReduction())


def run(name: str, model, split: dict, semi_supervised: bool = False) -> dict:
    """Fit ``model`` on the fit documents, transform the new ones, score."""
    fit, new = split["fit"], split["new"]
    y = fit["y_semi"] if semi_supervised else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        topics, probabilities = model.fit_transform(fit["docs"], fit["embeddings"], y=y)
        fitted = time.perf_counter()
        new_topics, _ = model.transform(new["docs"], new["embeddings"])
        done = time.perf_counter()
    topics, new_topics = np.asarray(topics), np.asarray(new_topics)
    scored = fit["y_semi"] == -1 if semi_supervised else slice(None)
    return dict(
        method=name,
        semi_supervised=semi_supervised,
        n_topics=int(len(set(topics.tolist()) - {-1})),
        n_intents=int(len(np.unique(fit["intent"]))),
        Fb=bcubed_f_score(fit["intent"][scored], topics[scored]),
        Fp=pairwise_f_score(fit["intent"][scored], topics[scored]),
        transform_accuracy=transform_accuracy(
            topics, fit["intent"], new_topics, new["intent"]
        ),
        outliers_fit=float(np.mean(topics == -1)),
        outliers_new=float(np.mean(new_topics == -1)),
        probabilities=None if probabilities is None else list(np.shape(probabilities)),
        fit_seconds=fitted - start,
        transform_seconds=done - fitted,
    )


def meta_trained(split: dict, random_state: int = 0) -> HiLanderClustering:
    """The clusterer meta-trained on the other scenarios' intents."""
    train = split["meta_train"]
    return HiLanderClustering(random_state=random_state).fit(
        train["embeddings"], train["intent"]
    )


def measure() -> dict:
    split = hwu64_split()
    start = time.perf_counter()
    network = meta_trained(split)
    meta_seconds = time.perf_counter() - start
    rows = [
        run("BERTopic default (UMAP + HDBSCAN)", topic_model(), split),
        run(
            "HiLanderClustering(), bundled network",
            topic_model(HiLanderClustering()),
            split,
        ),
        run(
            "HiLanderClustering(pretrained=meta-trained)",
            topic_model(HiLanderClustering(pretrained=network)),
            split,
        ),
        run("BERTopic default (UMAP + HDBSCAN)", topic_model(), split, True),
        run(
            "HiLanderClustering(), y meta-trains",
            topic_model(HiLanderClustering(random_state=0)),
            split,
            True,
        ),
    ]
    sizes = {name: len(part["docs"]) for name, part in split.items()}
    return dict(rows=rows, documents=sizes, meta_train_seconds=meta_seconds)


def report(results: dict) -> list[str]:
    sizes = results["documents"]
    lines = [
        "# BERTopic with HiLanderClustering",
        "",
        "Generated by `python -m benchmarks.bertopic_topics` (2 CPU cores). HWU64: "
        f"meta-training on {sizes['meta_train']:,} utterances of 40 intents; "
        f"BERTopic fits {sizes['fit']:,} utterances of 24 other intents and "
        f"transforms {sizes['new']:,} later ones of the same 24 intents. Meta-training "
        f"took {results['meta_train_seconds']:.1f} s and is not counted in the rows.",
        "",
    ]
    lines += bertopic_markdown(results)
    lines += [
        "",
        "Transform accuracy: the share of new documents given the topic that most "
        "fitted documents of their intent got. With `y`, topic quality is scored "
        "on the unlabelled documents only. Outliers are topic -1.",
    ]
    return lines


def main() -> None:
    results = measure()
    with open(os.path.join(DOCS, "bertopic_results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    publish(report(results), os.path.join(DOCS, "bertopic_results.md"))
    publish_docs()


if __name__ == "__main__":
    main()
