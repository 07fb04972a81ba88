"""Shared output step of the benchmark scripts, and the published numbers.

Every number that README.md and the docs quote from a benchmark sits between
generated markers::

    <!-- begin: NAME -->  ...  <!-- end: NAME -->      (markdown)
    .. begin: NAME  ...  .. end: NAME                  (reStructuredText)

and is rendered by ``BLOCKS[NAME]`` from the benchmarks' JSON outputs
(``docs/*_results.json``). ``python -m benchmarks.publish`` re-renders every
marked block; the benchmark scripts call :func:`publish_docs` after writing
their JSON, and ``tests/test_docs.py`` fails when a page differs from what
the JSON gives.
"""

from __future__ import annotations

import json
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DOCS = os.path.join(ROOT, "docs")
# pages that carry generated blocks
PAGES = [
    "README.md",
    "docs/index.rst",
    "docs/benchmarks.rst",
    "docs/bertopic.rst",
    "docs/design.md",
    "docs/pretrained.md",
]


def publish(lines: list[str], path: str) -> str:
    """Join markdown ``lines``, print them and write them to ``path``."""
    text = "\n".join(lines) + "\n"
    print(text)
    with open(path, "w") as handle:
        handle.write(text)
    return text


def _load(name: str) -> dict:
    with open(os.path.join(DOCS, name)) as handle:
        return json.load(handle)


def earlier_results(name: str) -> dict:
    """``docs/NAME`` as written by an earlier run, or {} before the first:
    a rerun of some sets keeps the others' results."""
    return _load(name) if os.path.exists(os.path.join(DOCS, name)) else {}


# --------------------------------------------------------------- quality
OURS = "HiLanderClustering, meta-trained"
BUNDLED = "HiLanderClustering(), bundled, no labels"
TOLD_K = "HiLanderClustering, meta-trained, told the true number of classes"
LEIDEN = "Leiden on the kNN graph"
# rows quoted on the front pages: JSON method name -> shown name
FRONT_ROWS = {
    OURS: "HiLanderClustering, meta-trained",
    BUNDLED: "HiLanderClustering(), bundled, no labels",
    LEIDEN: "Leiden on the kNN graph (resolution and k tuned)",
    "Leiden on the kNN graph of whitened features (our fit's map)": (
        "Leiden on features whitened by our fit's map (tuned)"
    ),
    "Infomap on the kNN graph": "Infomap on the kNN graph (k tuned)",
    "HDBSCAN": "HDBSCAN (tuned)",
    "FINCH": "FINCH",
    "Agglomerative (average)": "agglomerative, average linkage (tuned)",
    "DBSCAN": "DBSCAN (tuned)",
    "k-means with the true k": "k-means told the true number of classes",
    TOLD_K: "HiLanderClustering, meta-trained, told the true number of classes",
}
SETS = {
    "omniglot": "Omniglot, unseen alphabets",
    "hwu64": "HWU64 intents, unseen scenarios",
    "synthetic-easier": "synthetic, easier",
    "synthetic-harder": "synthetic, harder",
    "synthetic-tiny": "synthetic, many tiny classes",
    "cross-domain": "cross-domain (train synthetic, test Omniglot)",
    "omniglot-to-hwu64": "cross-domain (train Omniglot, test HWU64)",
}


def _rows(entry: dict) -> dict:
    return {r["method"]: r for r in entry["rows"] if r["method"] in FRONT_ROWS}


def _cell(value: float, best: float, bold: str) -> str:
    text = f"{value:.3f}"
    return f"{bold}{text}{bold}" if round(value, 3) == round(best, 3) else text


def quality_table(results: dict) -> str:
    """README: Fb / Fp of each front-page method on each data set, the best
    of each column in bold."""
    lines = [
        "| method | " + " | ".join(SETS.values()) + " |",
        "|---|" + "---|" * len(SETS),
    ]
    for method, shown in FRONT_ROWS.items():
        cells = []
        for key in SETS:
            rows = _rows(results[key]) if key in results else {}
            r = rows.get(method)
            if r is None:  # a set or a method not run yet
                cells.append("not run")
                continue
            fb = _cell(r["Fb"], max(x["Fb"] for x in rows.values()), "**")
            fp = _cell(r["Fp"], max(x["Fp"] for x in rows.values()), "**")
            cells.append(f"{fb} / {fp}")
        lines.append(f"| {shown} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quality_verdict(results: dict) -> str:
    """README: where the meta-trained estimator is and is not the best of
    the front-page methods, and what Leiden's tuned resolution does across
    domains."""
    lines = []
    for key, title in SETS.items():
        if key not in results:
            continue
        rows = _rows(results[key])
        ours = rows[OURS]
        parts = []
        for score, name in (("Fb", "BCubed F"), ("Fp", "pairwise F")):
            rivals = {m: r for m, r in rows.items() if m not in (OURS, BUNDLED, TOLD_K)}
            best = max(rivals, key=lambda m: rivals[m][score])
            gap = ours[score] - rivals[best][score]
            verdict = "ahead of" if gap > 0 else "behind"
            parts.append(
                f"{name} {ours[score]:.3f}, {abs(gap):.3f} {verdict} "
                f"{FRONT_ROWS[best]} ({rivals[best][score]:.3f})"
            )
        n_classes = results[key]["test_classes"]
        parts.append(
            f"{ours['clusters']:,} clusters for {n_classes:,} classes "
            f"({ours['clusters'] / n_classes:.1f}x)"
        )
        lines.append(f"- {title}: " + "; ".join(parts) + ".")
    omniglot = _rows(results["omniglot"])[LEIDEN]["params"]["resolution"]
    synthetic = _rows(results["synthetic-easier"])[LEIDEN]["params"]["resolution"]
    cross = _rows(results["cross-domain"])
    lines += [
        "",
        f"Leiden's best resolution was {omniglot:.0f} on Omniglot but {synthetic:.0f} "
        "on the easier synthetic classes; carried from synthetic classes to "
        f"Omniglot it scores {cross[LEIDEN]['Fb']:.3f} BCubed F, against "
        f"{cross[OURS]['Fb']:.3f} for the meta-trained estimator and "
        f"{cross[BUNDLED]['Fb']:.3f} for the bundled network, which never saw "
        "a label.",
    ]
    return "\n".join(lines)


def omniglot_table(results: dict) -> str:
    """docs/index.rst: the Omniglot column as an RST list-table, best in bold."""
    rows = _rows(results["omniglot"])
    best = {s: max(r[s] for r in rows.values()) for s in ("Fp", "Fb", "NMI")}
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :class: results",
        "",
        "   * - method",
        "     - pairwise F",
        "     - BCubed F",
        "     - NMI",
        "     - clusters",
    ]
    for method, shown in FRONT_ROWS.items():
        if method not in rows:  # not run on this set yet
            continue
        r = rows[method]
        lines += [f"   * - {shown}"] + [
            f"     - {_cell(r[s], best[s], '**')}" for s in ("Fp", "Fb", "NMI")
        ]
        lines.append(f"     - {r['clusters']:,}")
    n = results["omniglot"]
    lines += [
        "",
        f"{n['n_test']:,} test images of {n['test_classes']} characters; the true "
        f"number of clusters is {n['test_classes']}.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------- scaling
def scaling_summary(results: dict) -> str:
    """README: the million-point run, the paired ratios, and the rivals."""
    ours = results["hilander"]["1000000"]
    paired = results["paired"]
    sizes = sorted(int(n) for n in paired if paired[n].get("status") == "ok")
    ratios = ", ".join(f"{paired[str(n)]['ratio']:.2f}x" for n in sizes)
    points = ", ".join(f"{n:,}" for n in sizes)
    finch = results["finch"]["1000000"]
    lines = [
        f"On 2 CPU cores, `HiLanderClustering().fit_predict` clusters a million "
        f"128-d points in {ours['seconds']:.0f} s with a {ours['peak_gib']:.1f} GiB "
        f"peak (input included), BCubed F {ours['fb']:.3f}. Timed alternately "
        "with the 10-neighbor kNN graph alone in one process (median of "
        f"{len(paired[str(sizes[0])]['ratios'])} rounds), it takes {ratios} the "
        f"graph's time at {points} points.",
        f"FINCH is faster at a million points ({finch['seconds']:.0f} s) but scores "
        f"BCubed F {finch['fb']:.3f} there.",
    ]
    for method, name in (("dbscan", "DBSCAN"), ("hdbscan", "HDBSCAN")):
        runs = results[method]
        done = [int(n) for n in runs if runs[n].get("status") == "ok"]
        failed = [int(n) for n in runs if runs[n].get("status") != "ok"]
        text = (
            f"{name} took {runs[str(max(done))]['seconds']:.0f} s at "
            f"{max(done):,} points"
        )
        if failed:
            first = min(failed)
            text += f" and did not finish {first:,} ({runs[str(first)]['status']})"
        lines.append(text + ".")
    return " ".join(lines[:2]) + "\n" + " ".join(lines[2:])


# --------------------------------------------------------------- BERTopic
# (title, cell) of each column of the BERTopic tables, markdown and RST
BERTOPIC_COLUMNS = [
    ("clustering step", lambda r: r["method"]),
    ("y", lambda r: "folds 1-3" if r["semi_supervised"] else "none"),
    ("topics (intents)", lambda r: f"{r['n_topics']} ({r['n_intents']})"),
    ("BCubed F", lambda r: f"{r['Fb']:.3f}"),
    ("pairwise F", lambda r: f"{r['Fp']:.3f}"),
    ("transform accuracy", lambda r: f"{r['transform_accuracy']:.3f}"),
    (
        "outliers, fit / new",
        lambda r: f"{r['outliers_fit']:.3f} / {r['outliers_new']:.3f}",
    ),
    ("fit_transform s", lambda r: f"{r['fit_seconds']:.1f}"),
    ("transform s", lambda r: f"{r['transform_seconds']:.1f}"),
]


def bertopic_markdown(results: dict) -> list[str]:
    """docs/bertopic_results.md: the BERTopic rows as a pipe table."""
    titles = [title for title, _ in BERTOPIC_COLUMNS]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for row in results["rows"]:
        lines.append(
            "| " + " | ".join(cell(row) for _, cell in BERTOPIC_COLUMNS) + " |"
        )
    return lines


def bertopic_table(results: dict) -> str:
    """docs/bertopic.rst: the BERTopic rows as an RST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", "   :class: results", ""]
    for i, (title, _) in enumerate(BERTOPIC_COLUMNS):
        lines.append(f"   {'*' if i == 0 else ' '} - {title}")
    for row in results["rows"]:
        for i, (_, cell) in enumerate(BERTOPIC_COLUMNS):
            lines.append(f"   {'*' if i == 0 else ' '} - {cell(row)}")
    sizes = results["documents"]
    rows = results["rows"]
    lines += [
        "",
        f"{sizes['fit']:,} documents fitted, {sizes['new']:,} transformed, "
        f"{rows[0]['n_intents']} intents; meta-training on {sizes['meta_train']:,} "
        f"utterances of other intents took {results['meta_train_seconds']:.1f} s.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------- ablation
def ablation_tables(results: dict) -> str:
    """docs/design.md: one markdown table per data set of the ablation."""
    sections = []
    for entry in results.values():
        lines = [
            f"### {entry['title']}",
            "",
            "| variant | Fb | Fp | edge AUC | threshold | merge threshold "
            "| merge graph neighbors | clusters | seconds |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in entry["rows"]:
            merge = r["merge threshold"]
            merge = "none" if merge is None else f"{merge:.2g}"
            # rows from before the merge graph was searched merged on level 0
            neighbors = r.get("merge neighbors") if r["merge threshold"] else None
            neighbors = "-" if neighbors is None else str(neighbors)
            lines.append(
                f"| {r['variant']} | {r['Fb']:.3f} | {r['Fp']:.3f} "
                f"| {r['edge AUC']:.3f} | {r['threshold']:.3f} | {merge} "
                f"| {neighbors} | {r['clusters']} | {r['seconds']:.0f} |"
            )
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


# ------------------------------------------------------------- no labels
NO_LABEL_METHODS = [
    "HiLanderClustering()",
    "DBSCAN()",
    "HDBSCAN()",
    "DBSCAN tuned with labels",
    "HDBSCAN tuned with labels",
]


def _pair(score: dict, best_fb: float | None = None) -> str:
    fb = f"{score['Fb']:.3f}"
    if best_fb is not None and round(score["Fb"], 3) == round(best_fb, 3):
        fb = f"**{fb}**"
    return f"{fb} / {score['Fp']:.3f}"


def _against_best_tuned(scores: dict, tuned_methods: list) -> str:
    """How far the bundled network's BCubed F is ahead of or behind the
    best of ``tuned_methods``, and that one's."""
    ours = scores["HiLanderClustering()"]["Fb"]
    tuned = max(tuned_methods, key=lambda m: scores[m]["Fb"])
    gap = ours - scores[tuned]["Fb"]
    return (
        f"{abs(gap):.3f} {'ahead of' if gap > 0 else 'behind'} {tuned} "
        f"({scores[tuned]['Fb']:.3f})"
    )


def no_label_defaults_table(results: dict) -> str:
    """docs/pretrained.md: the bundled network against DBSCAN and HDBSCAN,
    with defaults and tuned with labels, and a line per data set on where it
    wins."""
    if "defaults" not in results:
        return "Not run yet: `python -m benchmarks.no_labels --parts defaults`."
    lines = [
        "| data | " + " | ".join(NO_LABEL_METHODS) + " |",
        "|---|" + "---|" * len(NO_LABEL_METHODS),
    ]
    verdict = []
    for row in results["defaults"]:
        scores = row["scores"]
        best = max(s["Fb"] for s in scores.values())
        cells = [_pair(scores[m], best) for m in NO_LABEL_METHODS]
        lines.append(f"| {row['data']} | " + " | ".join(cells) + " |")
        ours = scores["HiLanderClustering()"]
        verdict.append(
            f"- {row['data']}: BCubed F {ours['Fb']:.3f}, "
            f"{_against_best_tuned(scores, NO_LABEL_METHODS[3:])}; pairwise F "
            f"{ours['Fp']:.3f} against "
            f"{max(scores[m]['Fp'] for m in NO_LABEL_METHODS[3:]):.3f} for the "
            "better tuned one."
        )
    return "\n".join(lines + [""] + verdict)


def no_label_dev_table(results: dict) -> str:
    """docs/pretrained.md: on the quality benchmark's dev sets, the bundled
    network against Leiden tuned on another dev set and DBSCAN/HDBSCAN tuned
    on this one, and whether it is ahead of each."""
    if "dev" not in results:
        return "Not run yet: `python -m benchmarks.no_labels --parts dev`."
    lines = [
        "| dev set | HiLanderClustering(), no labels | clusters (x true) "
        "| Leiden tuned on another set: best (from) | Leiden tuned on another "
        "set: worst | DBSCAN tuned here | HDBSCAN tuned here |",
        "|---|---|---|---|---|---|---|",
    ]
    verdict = []
    for key, entry in results["dev"].items():
        ours = entry["bundled"]
        leiden = entry["leiden_from"]
        best = max(leiden, key=lambda s: leiden[s]["Fb"] + leiden[s]["Fp"])
        worst = min(leiden, key=lambda s: leiden[s]["Fb"] + leiden[s]["Fp"])
        dbscan, hdbscan = entry["tuned_here"]["DBSCAN"], entry["tuned_here"]["HDBSCAN"]
        lines.append(
            f"| {SETS[key]} | {_pair(ours)} "
            f"| {ours['clusters']:,} ({ours['clusters'] / entry['classes']:.2f}x) "
            f"| {_pair(leiden[best])} ({SETS[best]}) | {_pair(leiden[worst])} "
            f"| {_pair(dbscan)} | {_pair(hdbscan)} |"
        )
        behind = [
            f"{name}'s {label} ({rival[score]:.3f} against our {ours[score]:.3f})"
            for name, rival in (
                ("the best transferred Leiden", leiden[best]),
                ("tuned DBSCAN", dbscan),
                ("tuned HDBSCAN", hdbscan),
            )
            for score, label in (("Fb", "BCubed F"), ("Fp", "pairwise F"))
            if ours[score] <= rival[score]
        ]
        ahead = sum(
            ours["Fb"] > r["Fb"] and ours["Fp"] > r["Fp"] for r in leiden.values()
        )
        verdict.append(
            f"- {SETS[key]}: ahead of {ahead} of the {len(leiden)} transferred "
            "Leiden tunings on both scores; "
            + (
                "behind " + ", ".join(behind)
                if behind
                else "ahead of tuned DBSCAN and HDBSCAN on both scores"
            )
            + "."
        )
    return "\n".join(lines + [""] + verdict)


FAMILY_METHODS = [
    "HiLanderClustering()",
    "no merging",
    "DBSCAN tuned with labels",
    "HDBSCAN tuned with labels",
]


def no_label_families_table(results: dict) -> str:
    """docs/pretrained.md: many tiny classes in families of look-alikes (as
    the dev set's are) and set apart; the bundled network with and without
    its merge beside DBSCAN/HDBSCAN tuned with labels, and the gap to the
    better tuned one."""
    if "families" not in results:
        return "Not run yet: `python -m benchmarks.no_labels --parts families`."
    lines = [
        "| angle between a class and its family's centre | merge threshold "
        "chosen | " + " | ".join(FAMILY_METHODS) + " |",
        "|---|---|" + "---|" * len(FAMILY_METHODS),
    ]
    verdict = []
    for row in results["families"]:
        scores = row["scores"]
        best = max(s["Fb"] for s in scores.values())
        cells = [
            f"{_pair(scores[m], best)} ({scores[m]['clusters']:,})"
            for m in FAMILY_METHODS
        ]
        threshold = row["merge_threshold"]
        if threshold == "none":
            threshold = "none (no merging)"
        lines.append(
            f"| {row['family_angle']} rad | {threshold} | " + " | ".join(cells) + " |"
        )
        ours = scores["HiLanderClustering()"]
        verdict.append(
            f"- {row['family_angle']} rad: BCubed F {ours['Fb']:.3f} with "
            f"{ours['clusters']:,} clusters for {row['classes']:,} classes, "
            f"{_against_best_tuned(scores, FAMILY_METHODS[2:])}."
        )
    return "\n".join(lines + [""] + verdict)


def no_label_markdown(results: dict) -> list[str]:
    """docs/no_label_results.md."""
    lines = [
        "# Clustering without labels",
        "",
        "BCubed F / pairwise F on held-out classes; noise points count as "
        "singletons. Produced by `python -m benchmarks.no_labels`.",
    ]
    if "defaults" in results:
        lines += [
            "",
            "## Against DBSCAN and HDBSCAN",
            "",
            "`HiLanderClustering()` and the `DBSCAN()`/`HDBSCAN()` columns use "
            "default parameters and no labels; the tuned columns get a grid "
            "search on labelled classes of the same source (synthetic: other "
            "seeds; Omniglot: the meta-training alphabets). Best BCubed F in "
            "bold.",
            "",
            no_label_defaults_table(results),
        ]
    if "dev" in results:
        lines += [
            "",
            "## On the dev sets, against Leiden tuned on another set",
            "",
            "The quality benchmark's test classes. Leiden's resolution and k "
            "come from its grid search on the labelled training classes of "
            "each *other* dev set (the best and the worst of those transfers "
            "by the mean of both scores); DBSCAN and HDBSCAN are tuned on "
            "this set's own labelled training classes "
            "(docs/quality_results.md).",
            "",
            no_label_dev_table(results),
        ]
    if "families" in results:
        lines += [
            "",
            "## Many tiny classes, in families of look-alikes and apart",
            "",
            "Classes of about three points (2,000 classes, 64-d), drawn with "
            "their centres at the given angle from their family's centre "
            "(families of about four classes; 0.6 rad, the generator's "
            "default, is the dev set above). Cells: BCubed F / pairwise F "
            "(clusters); best BCubed F in bold. The tuned rivals are tuned "
            "on 1,000 other classes drawn the same way.",
            "",
            no_label_families_table(results),
        ]
    return lines


# ------------------------------------------------------------- sampling
SAMPLING_OURS = "HiLanderClustering, meta-trained"
SAMPLING_ONE = "HiLanderClustering, one merge threshold (the labelled set's)"


def _sampling_cell(r: dict, best: float) -> str:
    fb = _cell(r["Fb"], best, "**")
    ratio = r["clusters"] / r["true_clusters"]
    return f"{fb} / {r['Fp']:.3f} ({ratio:.2f}x)"


def sampling_markdown(results: dict) -> list[str]:
    """docs/sampling_results.md: per set, each method's Fb / Fp and clusters
    per true class at each sampling of the unseen classes."""
    lines = [
        "# Quality on sparser batches of unseen classes",
        "",
        "Generated by `python -m benchmarks.sampling`. Every method is tuned "
        "once on the labelled training classes, whole; it then clusters the "
        "unseen classes with every class cut to a share of its points. Cells: "
        "BCubed F / pairwise F (clusters found per true class); the best "
        "BCubed F of each column in bold.",
        "",
    ]
    for entry in results.values():
        fractions = sorted({r["fraction"] for r in entry["rows"]}, reverse=True)
        per_class = {
            f: next(r["points_per_class"] for r in entry["rows"] if r["fraction"] == f)
            for f in fractions
        }
        lines += [
            f"## {entry['title']}",
            "",
            f"Labelled training classes: {entry['train_points_per_class']:.0f} "
            "points each on average.",
            "",
            "| method | "
            + " | ".join(f"{per_class[f]:.1f} points per class" for f in fractions)
            + " |",
            "|---|" + "---|" * len(fractions),
        ]
        methods = list(dict.fromkeys(r["method"] for r in entry["rows"]))
        for method in methods:
            cells = []
            for f in fractions:
                column = [r for r in entry["rows"] if r["fraction"] == f]
                r = next(x for x in column if x["method"] == method)
                cells.append(_sampling_cell(r, max(x["Fb"] for x in column)))
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def sampling_summary(results: dict) -> str:
    """README: at the two sparsest samplings, ours, ours with one merge
    threshold, and the best rival by BCubed F."""
    lines = [
        "| unseen set | points per class | HiLanderClustering | "
        "with one merge threshold | best rival |",
        "|---|---|---|---|---|",
    ]
    for entry in results.values():
        fractions = sorted({r["fraction"] for r in entry["rows"]})[:2]
        for f in fractions:
            column = {r["method"]: r for r in entry["rows"] if r["fraction"] == f}
            best = max(x["Fb"] for x in column.values())
            rivals = [
                r for m, r in column.items() if m not in (SAMPLING_OURS, SAMPLING_ONE)
            ]
            rival = max(rivals, key=lambda r: r["Fb"])
            ours, one = column[SAMPLING_OURS], column[SAMPLING_ONE]
            lines.append(
                f"| {entry['title'].split(' (')[0]} | {ours['points_per_class']:.1f} "
                f"| {_sampling_cell(ours, best)} | {_sampling_cell(one, best)} "
                f"| {rival['method']}: {_sampling_cell(rival, best)} |"
            )
    return "\n".join(lines)


# name -> (JSON file, renderer)
BLOCKS = {
    "quality-table": ("quality_results.json", quality_table),
    "quality-verdict": ("quality_results.json", quality_verdict),
    "omniglot-table": ("quality_results.json", omniglot_table),
    "scaling-summary": ("scaling_results.json", scaling_summary),
    "bertopic-table": ("bertopic_results.json", bertopic_table),
    "ablation-tables": ("ablation_results.json", ablation_tables),
    "sampling-summary": ("sampling_results.json", sampling_summary),
    "no-label-defaults": ("no_label_results.json", no_label_defaults_table),
    "no-label-dev": ("no_label_results.json", no_label_dev_table),
    "no-label-families": ("no_label_results.json", no_label_families_table),
}

_MARKERS = [
    # markdown: HTML comments; reStructuredText: comments, blank-line padded
    (r"(<!-- begin: ([\w-]+) -->\n)(.*?)(<!-- end: \2 -->)", "{}\n"),
    (r"(\.\. begin: ([\w-]+)\n\n)(.*?)(\.\. end: \2)", "{}\n\n"),
]


def render_page(text: str) -> str:
    """``text`` with every marked block rendered afresh from the JSON."""
    cache = {}

    def fill(template):
        def replace(match):
            name = match.group(2)
            if name not in BLOCKS:
                raise ValueError(f"unknown generated block {name!r}; see BLOCKS")
            source, render = BLOCKS[name]
            if source not in cache:
                cache[source] = _load(source)
            body = template.format(render(cache[source]))
            return match.group(1) + body + match.group(4)

        return replace

    for pattern, template in _MARKERS:
        text = re.sub(pattern, fill(template), text, flags=re.S)
    return text


def publish_docs(write: bool = True) -> dict[str, bool]:
    """Re-render every page in ``PAGES``; returns which ones changed."""
    changed = {}
    for page in PAGES:
        path = os.path.join(ROOT, page)
        with open(path) as handle:
            old = handle.read()
        new = render_page(old)
        changed[page] = new != old
        if write and changed[page]:
            with open(path, "w") as handle:
                handle.write(new)
    return changed
