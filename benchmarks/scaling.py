"""Time and peak memory against the number of points, side by side.

For each size n (synthetic 128-d embeddings, about 20 points per class),
every method runs in a fresh subprocess, so that its peak resident memory is
its own, under a time limit:

- ``knn``: the kNN graph alone (k = 10), the floor any graph method pays;
- ``hilander``: ``HiLanderClustering().fit_predict`` with the bundled network
  (inference only: graph, network, decoding, and the label-free choice of
  the merge threshold);
- ``no-merge``: the same with ``merge_threshold=float("inf")``, which skips
  the merge and its threshold's choice;
- ``train``: meta-training ``fit(X, y)`` with ``max_iter=5`` epochs and a
  fixed threshold (the per-epoch cost is what grows with n);
- ``finch``: FINCH (cosine);
- ``hdbscan`` and ``dbscan``: scikit-learn's, as far as they finish;
- ``paired``: the kNN graph and inference timed alternately in one process
  (5 rounds); the 1.5x target is judged on the median of these ratios.

    python -m benchmarks.scaling                       # all sizes and methods
    python -m benchmarks.scaling --sizes 10000 30000   # a subset
    python -m benchmarks.scaling --sizes               # only rewrite the report

Results are merged into docs/scaling_results.json (so sizes can be run in
separate sessions), then docs/scaling_results.md and the log-log plots in
docs/images/ are regenerated from it, with the fitted growth exponents.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks._report import publish, publish_docs

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

RESULTS = os.path.join(ROOT, "docs", "scaling_results.json")
TABLE = os.path.join(ROOT, "docs", "scaling_results.md")
IMAGES = os.path.join(ROOT, "docs", "images")
SIZES = [10_000, 30_000, 100_000, 300_000, 1_000_000]
METHODS = ["knn", "hilander", "no-merge", "train", "finch", "hdbscan", "dbscan"]
LABELS = {
    "knn": "kNN graph alone (k=10)",
    "hilander": "HiLanderClustering inference",
    "no-merge": 'HiLanderClustering inference, merge_threshold=float("inf")',
    "train": "HiLanderClustering meta-training (5 epochs)",
    "finch": "FINCH",
    "hdbscan": "HDBSCAN",
    "dbscan": "DBSCAN",
}
N_FEATURES = 128
WARM_UP_SAMPLES = 2_000
# kNN graph and inference timed alternately in one process, this many times
PAIRED = "paired"
PAIRED_ROUNDS = 5
REPEATS = 3
REPEAT_BELOW_SECONDS = 60
# finch-clust's default use_ann_above_samples: pynndescent above this size
FINCH_EXACT_MAX_SAMPLES = 70_000


def make_data(n: int):
    from sklearn_hilander.datasets import make_embeddings

    X, y = make_embeddings(max(2, n // 15), N_FEATURES, random_state=0)
    keep = np.sort(np.random.RandomState(0).permutation(len(X))[:n])
    return X[keep], y[keep]


def run_method(method: str, X, y):
    """Run one method; return its labels (a list of partitions for FINCH),
    or None where there is no clustering to score."""
    if method == "knn":
        from sklearn_hilander._graph import knn_graph, normalize_rows

        knn_graph(normalize_rows(X), 10, random_state=0, n_jobs=-1)
        return None
    if method == "hilander":
        from sklearn_hilander import HiLanderClustering

        return HiLanderClustering(random_state=0, n_jobs=-1).fit_predict(X)
    if method == "no-merge":
        from sklearn_hilander import HiLanderClustering

        # the bundled network without its label-free merge: the fast path
        return HiLanderClustering(
            merge_threshold=float("inf"), random_state=0, n_jobs=-1
        ).fit_predict(X)
    if method == "train":
        from sklearn_hilander import HiLanderClustering

        HiLanderClustering(
            max_iter=5, link_threshold=0.8, max_levels=1, random_state=0, n_jobs=-1
        ).fit(X, y)
        return None
    if method == "finch":
        from finch import FINCH

        partitions = FINCH(X, distance="cosine", verbose=False)[0]
        return [partitions[:, i] for i in range(partitions.shape[1])]
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        return HDBSCAN(copy=True).fit(X).labels_
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=0.5, n_jobs=-1).fit(X).labels_


def bcubed_of(labels, y) -> float | None:
    """BCubed F of a clustering (noise as singletons); for a list of
    partitions, the best of them (an oracle choice, which favours FINCH)."""
    from benchmarks.baselines import singletons_for_noise
    from sklearn_hilander.metrics import bcubed_f_score

    if labels is None:
        return None
    if isinstance(labels, list):
        return max(bcubed_of(partition, y) for partition in labels)
    return float(bcubed_f_score(y, singletons_for_noise(np.asarray(labels))))


def _reset_peak_memory() -> None:
    """Make the kernel's peak-RSS counter start again from the current RSS,
    so that generating the data does not count towards the method's peak."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_memory_gib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def warm_up(method: str, n: int) -> float:
    """Run ``method`` once on a small set; return the seconds it took.

    This pays the one-off costs of a fresh process (imports, first torch
    calls, loading the bundled network) and, for sizes where the graph is
    approximate (ours above 30,000 points, FINCH's above 70,000), compiles
    pynndescent's numba code, so the timed run measures
    the work that grows with n and is the same for every method.
    """
    from sklearn_hilander._graph import (
        EXACT_SEARCH_MAX_SAMPLES,
        _approximate_knn,
        normalize_rows,
    )

    start = time.perf_counter()
    X, y = make_data(WARM_UP_SAMPLES)
    run_method(method, X, y)
    if n > EXACT_SEARCH_MAX_SAMPLES and method in (
        "knn",
        "hilander",
        "no-merge",
        "train",
    ):
        _approximate_knn(
            normalize_rows(X),
            n_neighbors=10,
            metric="cosine",
            random_state=0,
            n_jobs=-1,
            verbose=False,
        )
    if n > FINCH_EXACT_MAX_SAMPLES and method == "finch":
        from pynndescent import NNDescent

        # what FINCH itself builds above its exact-search limit
        NNDescent(X, n_neighbors=2, metric="cosine", random_state=0)
    return time.perf_counter() - start


def worker(method: str, n: int) -> None:
    warm_up_seconds = warm_up(method, n)
    X, y = make_data(n)
    _reset_peak_memory()
    start = time.perf_counter()
    labels = run_method(method, X, y)
    seconds = time.perf_counter() - start
    peak = _peak_memory_gib()
    record = {"seconds": seconds, "peak_gib": peak, "fb": bcubed_of(labels, y)}
    print(json.dumps({**record, "warm_up_seconds": warm_up_seconds}))


def paired_worker(n: int) -> None:
    """Time the kNN graph and inference alternately in one warmed-up process.

    Separate processes vary by a fifth or more from one to the next on a
    shared machine, which is as large as the margin the 1.5x target leaves;
    alternating the two in one process exposes both to the same conditions.
    """
    warm_up("hilander", n)
    X, y = make_data(n)
    knn_seconds, hilander_seconds = [], []
    for _ in range(PAIRED_ROUNDS):
        for method, times in (("knn", knn_seconds), ("hilander", hilander_seconds)):
            start = time.perf_counter()
            run_method(method, X, y)
            times.append(time.perf_counter() - start)
    ratios = [h / k for h, k in zip(hilander_seconds, knn_seconds)]
    record = {
        "ratio": float(np.median(ratios)),
        "ratios": ratios,
        "knn_seconds": knn_seconds,
        "hilander_seconds": hilander_seconds,
    }
    print(json.dumps(record))


def measure(method: str, n: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", method, str(n)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"over {timeout:.0f} s"}
    if done.returncode < 0:
        # SIGKILL with no message is the kernel's out-of-memory killer
        return {"status": f"killed by signal {-done.returncode} (out of memory?)"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return {"status": "failed: " + last[:120]}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}


def measure_median(method: str, n: int, timeout: float) -> dict:
    """``measure``, repeated for runs under ``REPEAT_BELOW_SECONDS``: short
    runs vary by a third from one process to the next on a shared machine,
    so they report the median time (and the largest peak) of three."""
    runs = [measure(method, n, timeout)]
    if runs[0]["status"] == "ok" and runs[0]["seconds"] < REPEAT_BELOW_SECONDS:
        runs += [measure(method, n, timeout) for _ in range(REPEATS - 1)]
    if any(run["status"] != "ok" for run in runs):
        return next(run for run in runs if run["status"] != "ok")
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    return {
        **median,
        "peak_gib": max(run["peak_gib"] for run in runs),
        "repeats": len(runs),
    }


def growth_exponent(sizes, values) -> float | None:
    """Slope of log(value) against log(n), where at least 3 points exist."""
    if len(sizes) < 3:
        return None
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def startup_summary(results: dict) -> str:
    parts = []
    for method in METHODS:
        seconds = [
            e["warm_up_seconds"]
            for e in results.get(method, {}).values()
            if "warm_up_seconds" in e
        ]
        if seconds:
            parts.append(f"{LABELS[method]} {min(seconds):.0f}-{max(seconds):.0f} s")
    return "; ".join(parts) if parts else "not recorded"


def report(results: dict) -> list[str]:
    sizes = sorted({int(n) for per in results.values() for n in per})
    lines = [
        "# Scaling: time and peak memory against n",
        "",
        f"Synthetic {N_FEATURES}-d embeddings (about 20 points per class), 2 CPU "
        "cores, each run in its own process (peak = the process's maximum "
        "resident memory while the method runs: the Python runtime and the "
        "input data, float32, included; generating the data is not). "
        "Produced by `python -m benchmarks.scaling`.",
        "",
        "## Seconds",
        "",
        "| method | " + " | ".join(f"n={n:,}" for n in sizes) + " | growth exponent |",
        "|---|" + "---|" * (len(sizes) + 1),
    ]
    memory = list(lines[-2:])
    for method in METHODS:
        per = results.get(method, {})
        cells_t, cells_m, ok_n, ok_t, ok_m = [], [], [], [], []
        for n in sizes:
            entry = per.get(str(n))
            if entry is None:
                cells_t.append("")
                cells_m.append("")
            elif entry["status"] != "ok":
                cells_t.append(entry["status"])
                cells_m.append("")
            else:
                cells_t.append(f"{entry['seconds']:.1f}")
                cells_m.append(f"{entry['peak_gib']:.2f}")
                ok_n.append(n)
                ok_t.append(entry["seconds"])
                ok_m.append(entry["peak_gib"])
        exp_t, exp_m = growth_exponent(ok_n, ok_t), growth_exponent(ok_n, ok_m)
        fmt = "{:.2f}".format
        lines.append(
            f"| {LABELS[method]} | "
            + " | ".join(cells_t)
            + f" | {fmt(exp_t) if exp_t else ''} |"
        )
        memory.append(
            f"| {LABELS[method]} | "
            + " | ".join(cells_m)
            + f" | {fmt(exp_m) if exp_m else ''} |"
        )
    ratio = ["", "## Inference time over kNN-graph time", ""]
    ratio.append("| n | " + " | ".join(f"{n:,}" for n in sizes) + " |")
    ratio.append("|---|" + "---|" * len(sizes))
    ratios = inference_over_knn(results, sizes)
    cells = [f"{ratios[n]:.2f}x" if n in ratios else "" for n in sizes]
    ratio.append(
        "| separate processes (the medians above) | " + " | ".join(cells) + " |"
    )
    cells = []
    for n in sizes:
        entry = _ok(results, PAIRED, n)
        rounds = ", ".join(f"{r:.2f}" for r in entry["ratios"]) if entry else ""
        cells.append(f"{entry['ratio']:.2f}x ({rounds})" if entry else "")
    ratio.append(
        f"| one process, alternating (median of {PAIRED_ROUNDS} pairs) | "
        + " | ".join(cells)
        + " |"
    )
    quality = ["", "## BCubed F of the clustering (sanity check of the fast path)", ""]
    quality.append("| method | " + " | ".join(f"n={n:,}" for n in sizes) + " |")
    quality.append("|---|" + "---|" * len(sizes))
    for method in METHODS:
        cells = [results.get(method, {}).get(str(n), {}).get("fb") for n in sizes]
        if any(c is not None for c in cells):
            quality.append(
                f"| {LABELS[method]} | "
                + " | ".join("" if c is None else f"{c:.3f}" for c in cells)
                + " |"
            )
    quality += [
        "",
        "Noise points count as singletons; FINCH is given the best of its "
        "partitions (an oracle choice in its favour). The bundled network was "
        "not trained on this generator's settings at these sizes.",
    ]
    lines += ["", "## Peak memory (GiB)", ""] + memory + ratio + quality
    lines += ["", "## Against the targets", ""] + verdict(results)
    lines += [
        "",
        "Growth exponents are least-squares slopes of log(value) on log(n) over "
        "the sizes that finished (at least 3). Plots: "
        "[time](images/scaling_time.png), [memory](images/scaling_memory.png).",
        "",
        f"Runs shorter than {REPEAT_BELOW_SECONDS} s are repeated in "
        f"{REPEATS} fresh processes and report the median time and the largest "
        "peak. Times of one method vary by 20 to 40% from one process to the "
        "next on this shared machine, so the inference/kNN ratio is also "
        f"measured by timing the two alternately, {PAIRED_ROUNDS} times each, "
        "in one warmed-up process. "
        "Reading the curves: up to 30,000 points our kNN graph is exact "
        "(blocked matrix products); above, pynndescent builds it. FINCH "
        "switches to pynndescent above 70,000 points, hence its drop at "
        "100,000 and its low growth exponent. Before the "
        "timed run, each process runs its method once on "
        f"{WARM_UP_SAMPLES:,} points (and, where the method's graph is "
        "approximate, compiles pynndescent's numba code), so the times "
        "leave out one-off start-up "
        "costs that do not grow with n: imports, first torch calls, loading "
        "the bundled network and, above all, the numba compilation (about "
        "half a minute in every fresh process, paid once by any pynndescent "
        "user). "
        f"Start-up, as measured by that warm-up: {startup_summary(results)}. "
        "Meta-training runs "
        "5 epochs over the ground-truth hierarchies of 3 neighbor counts, "
        "with a fixed threshold, and then clusters its training set once. "
        "DBSCAN (eps=0.5) and HDBSCAN run with fixed parameters, as timing "
        "references; their F-scores here are not tuned (the quality benchmark "
        "tunes every method).",
    ]
    return lines


def _ok(results: dict, method: str, n: int) -> dict | None:
    entry = results.get(method, {}).get(str(n))
    return entry if entry and entry["status"] == "ok" else None


def inference_over_knn(results: dict, sizes) -> dict[int, float]:
    """HiLanderClustering's time over the kNN graph's, where both finished."""
    return {
        n: _ok(results, "hilander", n)["seconds"] / _ok(results, "knn", n)["seconds"]
        for n in sizes
        if _ok(results, "hilander", n) and _ok(results, "knn", n)
    }


def paired_ratios(results: dict, sizes) -> dict[int, float]:
    """Median inference/kNN ratio of the alternating runs in one process."""
    entries = {n: _ok(results, PAIRED, n) for n in sizes}
    return {n: entry["ratio"] for n, entry in entries.items() if entry}


def verdict(results: dict) -> list[str]:
    """The issue's targets, each with what was measured against it."""
    sizes = sorted({int(n) for per in results.values() for n in per})
    lines = []
    # the alternating runs are the fairer comparison; separate ones otherwise
    ratios = paired_ratios(results, sizes) or inference_over_knn(results, sizes)
    if ratios:
        missed = [f"{n:,} ({r:.2f}x)" for n, r in ratios.items() if r > 1.5]
        closest = max(ratios, key=ratios.get)
        rounds = (_ok(results, PAIRED, closest) or {}).get("ratios", [])
        spread = (
            f"; its single rounds ranged from {min(rounds):.2f}x to "
            f"{max(rounds):.2f}x, so the margin is within this machine's noise"
            if rounds and max(rounds) > 1.5
            else ""
        )
        met = f"met (closest: {ratios[closest]:.2f}x at {closest:,}{spread})."
        lines.append(
            "- Inference within 1.5x of the kNN-graph time at every n "
            "(median of the alternating runs in one process): "
            + (met if not missed else "**missed** at " + ", ".join(missed) + ".")
            + " Beyond the graph of the points, inference pays the kNN graphs "
            "of the higher levels (their nodes are the clusters below), the "
            "network and, since the bundled network merges, the label-free "
            "choice of its merge threshold: three more clusterings of 80% of "
            "the input (of a 40,000-point sample above 40,000 points) and "
            "fifteen merges of each. "
            '`merge_threshold=float("inf")` skips the merge and that choice '
            "(its row above, and the bullet below); a meta-trained model "
            "reads its threshold from the fitted curve instead."
        )
    fast = {
        n: _ok(results, "no-merge", n)["seconds"] / _ok(results, "knn", n)["seconds"]
        for n in sizes
        if _ok(results, "no-merge", n) and _ok(results, "knn", n)
    }
    if fast:
        lines.append(
            '- Without merging (`merge_threshold=float("inf")`, separate '
            "processes): "
            + ", ".join(f"{r:.2f}x at {n:,}" for n, r in fast.items())
            + " the kNN graph's time; BCubed F "
            + ", ".join(f"{_ok(results, 'no-merge', n)['fb']:.3f}" for n in fast)
            + " against the default's "
            + ", ".join(
                f"{_ok(results, 'hilander', n)['fb']:.3f}"
                for n in fast
                if _ok(results, "hilander", n)
            )
            + "."
        )
    largest = max(sizes) if sizes else None
    entry = _ok(results, "hilander", largest) if largest else None
    if entry:
        within = entry["seconds"] < 900 and entry["peak_gib"] < 8
        lines.append(
            f"- {largest:,} points clustered in under 15 minutes and 8 GiB: "
            + ("met" if within else "**missed**")
            + f" ({entry['seconds']:.0f} s, {entry['peak_gib']:.2f} GiB peak)."
        )
    rivals = [
        n for n in sizes if _ok(results, "finch", n) and _ok(results, "hilander", n)
    ]
    faster = [
        n
        for n in rivals
        if _ok(results, "finch", n)["seconds"] < _ok(results, "hilander", n)["seconds"]
    ]
    if faster:
        n = max(faster)
        f, h = _ok(results, "finch", n), _ok(results, "hilander", n)
        lines.append(
            "- FINCH is faster at "
            + " and ".join(f"{m:,}" for m in faster)
            + f" points (at {n:,}, HiLanderClustering takes "
            f"{h['seconds'] / f['seconds']:.1f}x FINCH's time): it links each "
            "point to its single nearest neighbor, a cheaper search than a "
            f"10-neighbor graph. Its BCubed F there is {f['fb']:.3f} against "
            f"{h['fb']:.3f}."
        )
    return lines


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(IMAGES, exist_ok=True)
    for key, ylabel, name in [
        ("seconds", "seconds", "scaling_time.png"),
        ("peak_gib", "peak memory (GiB)", "scaling_memory.png"),
    ]:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        markers = iter("os^Dvx*")
        for method in METHODS:
            points = sorted(
                (int(n), e[key])
                for n, e in results.get(method, {}).items()
                if e["status"] == "ok"
            )
            if points:
                ax.loglog(
                    *zip(*points),
                    marker=next(markers),
                    fillstyle="none",
                    label=LABELS[method],
                )
        ax.set_xlabel("points (n)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        # outside the axes, so that no point (FINCH's lone memory point at
        # a million rows) hides behind it
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.tight_layout()
        fig.savefig(os.path.join(IMAGES, name), dpi=110)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES)
    parser.add_argument(
        "--methods", nargs="*", default=METHODS + [PAIRED], choices=METHODS + [PAIRED]
    )
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "N"))
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="re-render the plots, the table and the docs from the stored JSON",
    )
    args = parser.parse_args()
    if args.plot_only:
        with open(RESULTS) as handle:
            results = json.load(handle)
        publish(report(results), TABLE)
        publish_docs()
        plot(results)
        return
    if args.worker:
        if args.worker[0] == PAIRED:
            paired_worker(int(args.worker[1]))
        else:
            worker(args.worker[0], int(args.worker[1]))
        return
    results = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as handle:
            results = json.load(handle)
    for n in args.sizes:
        for method in args.methods:
            # a method that ran out of time at a smaller n will again
            smaller = [
                e
                for m, e in results.get(method, {}).items()
                if int(m) < n and e["status"] != "ok"
            ]
            if smaller:
                entry = {"status": "skipped (slower size timed out)"}
            elif method == PAIRED:
                entry = measure(method, n, args.timeout)
            else:
                entry = measure_median(method, n, args.timeout)
            results.setdefault(method, {})[str(n)] = entry
            print(f"{method:>9} n={n:>9,}: {entry}", flush=True)
            with open(RESULTS, "w") as handle:
                json.dump(results, handle, indent=1, sort_keys=True)
    publish(report(results), TABLE)
    publish_docs()  # README and docs quote these results
    plot(results)


if __name__ == "__main__":
    main()
