"""How well the bundled network's label-free merge rule picks its threshold,
and how alternative rules would have done.

The bundled network merges each input at a threshold chosen without labels
(``_decode.reproducible_threshold``: of the unbroken run of candidate
thresholds, the grid and then no merging, around the most reproducible one,
in adjusted Rand index over three resamples of 80% of the points, the one
whose partition explains the links best). This script records, on every
input, what that rule sees: the partition at each candidate, its agreement
with each resample, the two parts of its likelihood gain (the clusters'
part, or significance, and the part across clusters) and, with the labels
the rule never sees, its BCubed and pairwise F. It then replays the shipped
rule and alternatives on those records and reports each rule's *regret*:
the best mean of BCubed F and pairwise F among the candidates less the one
of the candidate it picks.

Inputs: the 17 training sets of the bundled network
(``examples/train_pretrained_model.py``), on which any rule must be chosen,
the five dev sets of ``benchmarks/quality.py``, which no rule may be tuned
on alone, and the tiny-class dev set drawn with its look-alike families set
apart (``benchmarks/no_labels.py``, families part), where no merging is the
rule's pick. Writes ``docs/merge_rule_results.{json,md}``.

    python -m benchmarks.merge_rule            # a few minutes on 2 cores
    python -m benchmarks.merge_rule --render   # the page from the stored results
"""

from __future__ import annotations

import argparse
import json
import os
from unittest import mock

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from examples.train_pretrained_model import training_sets
from sklearn_hilander import HiLanderClustering, _decode
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

from ._report import DOCS, publish
from .no_labels import FAMILY_ANGLES
from .quality import TINY_CLASSES, data_sets

DEV_SETS = (
    "omniglot",
    "hwu64",
    "synthetic-easier",
    "synthetic-harder",
    "synthetic-tiny",
)
# what the rule chooses from: the grid, and no merging at all after it
CANDIDATES = _decode.LABEL_FREE_CANDIDATES
NO_MERGE = CANDIDATES.size - 1


def record(X, y) -> dict:
    """Cluster ``X`` with the bundled network and record, per threshold of
    ``CANDIDATES``, what the label-free rule sees and what the labels say."""
    seen = {}
    rule = _decode.reproducible_threshold

    def recorder(links, labels, *, resample, random_state=None, n_jobs=None):
        seen.update(links=links, labels=labels, resample=resample)
        seen["random_state"] = random_state
        return rule(
            links, labels, resample=resample, random_state=random_state, n_jobs=n_jobs
        )

    with mock.patch.object(_decode, "reproducible_threshold", recorder):
        model = HiLanderClustering()
        model.fit_predict(X)
    links, labels = seen["links"], seen["labels"]
    if labels.size != len(y):
        raise ValueError("the records assume inputs without duplicate rows")

    def merged(graph, start, threshold):
        if np.isinf(threshold):
            return start
        return _decode.merge_linked(graph, start, threshold)

    partitions = [merged(links, labels, t) for t in CANDIDATES]
    # the same subsets the rule drew, in the same order
    rng = check_random_state(
        0 if seen["random_state"] is None else seen["random_state"]
    )
    n_rows = int(_decode.RESAMPLE_SHARE * labels.size)
    agreement = []
    for _ in range(_decode.REPRODUCIBILITY_RESAMPLES):
        rows = np.sort(rng.choice(labels.size, n_rows, replace=False))
        graph, start = seen["resample"](rows)
        agreement.append(
            [
                adjusted_rand_score(p[rows], merged(graph, start, t))
                for p, t in zip(partitions, CANDIDATES)
            ]
        )
    likelihood = [_decode._likelihood_parts(links, p) for p in partitions]
    return {
        "n": int(labels.size),
        # JSON has no infinity: no merging is stored as null
        "chosen": (
            float(model.merge_threshold_)
            if np.isfinite(model.merge_threshold_)
            else None
        ),
        "n_clusters": [int(p.max()) + 1 for p in partitions],
        "nearly_trivial": [
            _decode.nearly_trivial(np.unique(p, return_inverse=True)[1])
            for p in partitions
        ],
        "agreement": agreement,
        "significance": [parts[0] for parts in likelihood],
        "across": [parts[1] for parts in likelihood],
        "bcubed_f": [bcubed_f_score(y, p) for p in partitions],
        "pairwise_f": [pairwise_f_score(y, p) for p in partitions],
    }


def _gain(entry, across_weight=_decode.ACROSS_PART_WEIGHT):
    return np.array(entry["significance"]) + across_weight * np.array(entry["across"])


def _best_of(keep, criterion):
    return int(np.argmax(np.where(keep, criterion, -np.inf)))


def _agreement(entry, resamples=None, until_2026_12_08=False):
    agreement = np.array(entry["agreement"])[:resamples].mean(axis=0)
    k = np.array(entry["n_clusters"])
    if until_2026_12_08:
        # the rules before always merged, and refused one cluster only
        agreement[(k <= 1) | (k >= entry["n"])] = -np.inf
        agreement[NO_MERGE] = -np.inf
        return agreement
    # as the rule: nearly one cluster, or nearly every point alone, says
    # nothing
    agreement[np.array(entry["nearly_trivial"])] = -np.inf
    return agreement


def shipped(
    entry,
    resamples=None,
    across_weight=_decode.ACROSS_PART_WEIGHT,
    until_2026_12_08=False,
):
    agreement = _agreement(entry, resamples, until_2026_12_08)
    run = _decode.reproducible_run(agreement, _decode.REPRODUCIBILITY_TOLERANCE)
    return _best_of(run, _gain(entry, across_weight))


def within(entry, tolerance, criterion, until_2026_12_08=False):
    """Every candidate within ``tolerance`` of the most reproducible one,
    run or not, then the best ``criterion``."""
    agreement = _agreement(entry, until_2026_12_08=until_2026_12_08)
    keep = agreement >= agreement.max() - tolerance
    return _best_of(keep, criterion)


def scalarized(entry, weight):
    """Agreement plus ``weight`` times significance over its maximum."""
    significance = np.array(entry["significance"]) / max(entry["significance"])
    return int(np.argmax(_agreement(entry) + weight * significance))


def _score(entry):
    return (np.array(entry["bcubed_f"]) + np.array(entry["pairwise_f"])) / 2


# small synthetic sets in 16 dimensions, where look-alike families blur
# into a few blobs: (classes, seed) of make_embeddings
SMALL_SETS = [(n_classes, seed) for n_classes in (30, 100) for seed in range(5)]
TOLERANCE = _decode.REPRODUCIBILITY_TOLERANCE
WEIGHT = _decode.ACROSS_PART_WEIGHT
RULES = {
    f"shipped: the run of agreement within {TOLERANCE} of the best, then the "
    f"highest likelihood gain (pairs across clusters weighted {WEIGHT})": shipped,
    "the best candidate (needs labels)": lambda e: int(np.argmax(_score(e))),
    "no merging": lambda e: NO_MERGE,
    "shipped, two resamples instead of three": lambda e: shipped(e, resamples=2),
    "shipped, pairs across clusters weighted 0 (the significance)": lambda e: shipped(
        e, across_weight=0.0
    ),
    "shipped, pairs across clusters weighted 1 (the plain likelihood)": lambda e: (
        shipped(e, across_weight=1.0)
    ),
    f"every candidate within {TOLERANCE}, not the run, then the likelihood gain": (
        lambda e: within(e, TOLERANCE, _gain(e))
    ),
    "until 2026-12-08: shipped, but no merging was no candidate and nearly one "
    "cluster was": lambda e: shipped(e, until_2026_12_08=True),
    "until 2026-12-07: every threshold within 0.05, then the most significant": (
        lambda e: within(e, 0.05, np.array(e["significance"]), until_2026_12_08=True)
    ),
    "agreement + significance / its maximum": lambda e: scalarized(e, 1.0),
}


def _threshold(index):
    return "none" if index == NO_MERGE else f"{CANDIDATES[index]:.4g}"


def markdown(results: dict) -> list[str]:
    lines = [
        "# The bundled network's merge rule, replayed",
        "",
        "Made by `python -m benchmarks.merge_rule`. On each input the bundled",
        "network's hierarchy is merged at every threshold of the rule's grid",
        "and not at all; each rule picks one of those without labels. Regret:",
        "the best mean of BCubed F and pairwise F among them less the one",
        "picked. Rules are chosen on the training sets; where several were about",
        "equal there, the dev sets decided (the comment on",
        "`_decode.REPRODUCIBILITY_TOLERANCE` says how). Two more groups: the",
        "tiny-class dev set drawn with its families of look-alike classes set",
        "apart (family_angle 1.0 and 1.5 rad), and small sets in 16 dimensions",
        "(30 and 100 classes, seeds 0 to 4 of `make_embeddings`). Cells: mean /",
        "max regret.",
        "",
        "| rule | training sets | dev sets | tiny classes, families apart "
        "| small sets, 16 dimensions |",
        "|---|---|---|---|---|",
    ]
    groups = {
        "train": results["training"],
        "dev": results["dev"],
        "apart": results["families apart"],
        "small": results["small"],
    }
    for name, rule in RULES.items():
        cells = []
        for entries in groups.values():
            regret = [_score(e).max() - _score(e)[rule(e)] for e in entries.values()]
            cells.append(f"{np.mean(regret):.3f} / {np.max(regret):.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per dev set: the threshold each rule picks, BCubed F / pairwise F, and",
        "the number of clusters.",
        "",
        "| rule | " + " | ".join(results["dev"]) + " |",
        "|---|" + "---|" * len(results["dev"]),
    ]
    for name, rule in RULES.items():
        cells = []
        for entry in results["dev"].values():
            i = rule(entry)
            cells.append(
                f"{_threshold(i)}: {entry['bcubed_f'][i]:.3f} / "
                f"{entry['pairwise_f'][i]:.3f} ({entry['n_clusters'][i]})"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per training set: the threshold the shipped rule picks, the best one and",
        "no merging, each with its mean of BCubed F and pairwise F.",
        "",
        "| training set | points | shipped | best | no merging |",
        "|---|---|---|---|---|",
    ]
    for set_name, entry in results["training"].items():
        i, best = shipped(entry), int(np.argmax(_score(entry)))
        lines.append(
            f"| {set_name} | {entry['n']} | {_threshold(i)}: {_score(entry)[i]:.3f} "
            f"| {_threshold(best)}: {_score(entry)[best]:.3f} "
            f"| {_score(entry)[NO_MERGE]:.3f} |"
        )
    return lines


RESULTS = os.path.join(DOCS, "merge_rule_results.json")
PAGE = os.path.join(DOCS, "merge_rule_results.md")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite the page from the stored results without clustering",
    )
    if parser.parse_args(argv).render:
        with open(RESULTS) as handle:
            publish(markdown(json.load(handle)), PAGE)
        return
    results = {"training": {}, "dev": {}, "families apart": {}, "small": {}}
    for name, X, y in training_sets():
        results["training"][name] = record(X, np.asarray(y))
        print(name, flush=True)
    for name, _, _, _, X, y in data_sets(DEV_SETS):
        results["dev"][name] = record(X, np.asarray(y))
        print(name, flush=True)
    for family_angle in FAMILY_ANGLES[1:]:
        X, y = make_embeddings(
            2000, 64, random_state=1, family_angle=family_angle, **TINY_CLASSES
        )
        name = f"family_angle={family_angle}"
        results["families apart"][name] = record(X, np.asarray(y))
        print(name, flush=True)
    for n_classes, seed in SMALL_SETS:
        X, y = make_embeddings(n_classes, 16, random_state=seed)
        name = f"{n_classes} classes, seed {seed}"
        results["small"][name] = record(X, np.asarray(y))
        print(name, flush=True)
    for entries in results.values():
        for entry in entries.values():
            # the replay must be the rule itself
            chosen = np.inf if entry["chosen"] is None else entry["chosen"]
            if not np.isclose(CANDIDATES[shipped(entry)], chosen):
                raise RuntimeError("the replayed rule differs from the shipped one")
    with open(RESULTS, "w") as handle:
        json.dump(results, handle, indent=1, allow_nan=False)
    publish(markdown(results), PAGE)


if __name__ == "__main__":
    main()
