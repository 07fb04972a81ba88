"""Command line: ``python -m sklearn_hilander fit|predict|evaluate|demo``.

Data files are ``.npy`` (features only), ``.npz`` (features under ``X``,
optionally labels under ``y``) or ``.csv`` (one row per point, an optional
header; the label column is named with ``--labels``). Models are network
files written by :meth:`HiLanderClustering.save_network`: numpy arrays and
JSON, read without pickle.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from ._estimator import HiLanderClustering
from ._pretrained import read_network_params
from .metrics import bcubed_precision_recall_f, pairwise_precision_recall_f


class CommandError(ValueError):
    """A problem with the command's input, reported without a traceback."""


# ------------------------------------------------------------------ reading
def _read_csv(path: str, label_column: str | None):
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise CommandError(f"{path} is empty.")
    header = None
    if not all(_is_number(cell) for cell in rows[0]):
        header, rows = rows[0], rows[1:]
    width = len(rows[0]) if rows else 0
    if any(len(row) != width for row in rows):
        raise CommandError(f"{path}: rows have different numbers of columns.")
    columns = header or [str(i) for i in range(width)]
    label_index = None
    if label_column is not None:
        if label_column in columns:
            label_index = columns.index(label_column)
        elif label_column.lstrip("-").isdigit() and header is None:
            label_index = int(label_column) % width
        else:
            raise CommandError(
                f"{path} has no column {label_column!r}; its columns are "
                f"{', '.join(columns)}."
            )
    feature_index = [i for i in range(width) if i != label_index]
    try:
        X = np.array([[float(row[i]) for i in feature_index] for row in rows])
    except ValueError as exc:
        raise CommandError(
            f"{path}: a feature column holds a non-number ({exc}); name the label "
            "column with --labels."
        ) from None
    y = None if label_index is None else np.array([row[label_index] for row in rows])
    return X.reshape(len(rows), len(feature_index)), y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_array(path: str, key: str | None) -> np.ndarray:
    """One array from a .npy, .npz or single-column .csv file."""
    if path.endswith(".csv"):
        X, _ = _read_csv(path, None)
        return X.ravel() if X.shape[1] == 1 else X
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as data:
        name = key or ("X" if "X" in data.files else data.files[0])
        if name not in data.files:
            raise CommandError(f"{path} has no array {name!r}; it has {data.files}.")
        return data[name]


def read_data(path: str, labels: str | None = None):
    """Features and labels (or None) from a data file.

    ``labels`` is the label column of a CSV file, the key of the labels in an
    ``.npz`` file (``y`` is used when present), or the path of a separate
    ``.npy``/``.csv`` file holding one label per row.
    """
    if not os.path.exists(path):
        raise CommandError(f"no such file: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise CommandError(
            f"{path}: unknown format {suffix!r}; use .npy, .npz or .csv."
        )
    separate = labels is not None and os.path.exists(labels)
    if suffix == ".csv":
        X, y = _read_csv(path, None if separate else labels)
    else:
        X = _read_array(path, None)
        y = None
        if suffix == ".npz" and not separate:
            with np.load(path, allow_pickle=False) as data:
                name = labels or ("y" if "y" in data.files else None)
                if name is not None and name not in data.files:
                    raise CommandError(f"{path} has no labels under {name!r}.")
                y = None if name is None else data[name]
        elif labels is not None and not separate:
            raise CommandError(f"--labels {labels!r}: no such file.")
    if separate:
        y = _read_array(labels, None)
    if y is not None and len(y) != len(X):
        raise CommandError(
            f"{len(y)} labels for {len(X)} rows of features; they must match."
        )
    return X, y


def write_labels(path: str, labels: np.ndarray) -> None:
    if path.endswith(".npy"):
        np.save(path, labels)
    else:
        np.savetxt(path, labels, fmt="%d", header="label", comments="")


# ----------------------------------------------------------------- commands
def _estimator(args, pretrained="default") -> HiLanderClustering:
    stored = {}
    if isinstance(pretrained, str) and pretrained != "default":
        stored = read_network_params(pretrained)

    def chosen(name, default):
        given = getattr(args, name)
        return given if given is not None else stored.get(name, default)

    return HiLanderClustering(
        n_neighbors=chosen("n_neighbors", 10),
        metric=chosen("metric", "cosine"),
        link_threshold=args.link_threshold,
        min_cluster_size=args.min_cluster_size,
        pretrained=pretrained,
        max_iter=getattr(args, "max_iter", 30),
        device=args.device,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=args.verbose,
    )


def _report(y, labels, seconds, out) -> None:
    fp = pairwise_precision_recall_f(y, labels)
    fb = bcubed_precision_recall_f(y, labels)
    rows = [
        ("points", f"{len(labels)}"),
        ("classes", f"{np.unique(y).size}"),
        ("clusters", f"{np.unique(labels[labels >= 0]).size}"),
        ("pairwise P / R / F", "{:.3f} / {:.3f} / {:.3f}".format(*fp)),
        ("BCubed P / R / F", "{:.3f} / {:.3f} / {:.3f}".format(*fb)),
        ("NMI", f"{normalized_mutual_info_score(y, labels):.3f}"),
        ("seconds", f"{seconds:.1f}"),
    ]
    for name, value in rows:
        print(f"{name:<20} {value}", file=out)


def cmd_fit(args, out) -> None:
    X, y = read_data(args.data, args.labels)
    if y is None:
        raise CommandError(
            "fit meta-trains on labelled data: name the labels with --labels "
            "(a CSV column, an .npz key, or a file with one label per row)."
        )
    start = time.perf_counter()
    est = _estimator(args).fit(X, y)
    est.save_network(args.model)
    print(
        f"meta-trained on {len(X)} points of {est.n_train_classes_} classes in "
        f"{time.perf_counter() - start:.1f} s ({est.n_iter_} epochs); "
        f"threshold {est.threshold_:.3f}; network written to {args.model}",
        file=out,
    )


def cmd_predict(args, out) -> None:
    X, y = read_data(args.data, args.labels)
    start = time.perf_counter()
    labels = _estimator(args, args.model).fit_predict(X)
    seconds = time.perf_counter() - start
    write_labels(args.output, labels)
    n_noise = int((labels < 0).sum())
    print(
        f"{labels.max() + 1} clusters ({n_noise} noise points) for {len(X)} points "
        f"in {seconds:.1f} s; labels written to {args.output}",
        file=out,
    )
    if y is not None:
        _report(y, labels, seconds, out)


def cmd_evaluate(args, out) -> None:
    X, y = read_data(args.data, args.labels)
    if y is None:
        raise CommandError("evaluate needs the true classes: pass --labels.")
    start = time.perf_counter()
    labels = _estimator(args, args.model).fit_predict(X)
    _report(y, labels, time.perf_counter() - start, out)
    if args.output:
        write_labels(args.output, labels)


def cmd_demo(args, out) -> None:
    from .datasets import load_omniglot_features

    data = load_omniglot_features()
    X, y = data["features"], data["label"]
    train, test = data["meta_train"], data["evaluation"]
    print(
        f"Omniglot: meta-train on {np.unique(y[train]).size} characters, cluster "
        f"{test.sum()} images of {np.unique(y[test]).size} unseen characters",
        file=out,
    )
    start = time.perf_counter()
    est = _estimator(args).fit(X[train], y[train])
    labels = est.fit_predict(X[test])
    print("\nmeta-trained HiLanderClustering", file=out)
    _report(y[test], labels, time.perf_counter() - start, out)
    start = time.perf_counter()
    labels = _estimator(args).fit_predict(X[test])
    print("\nbundled pretrained network, no labels", file=out)
    _report(y[test], labels, time.perf_counter() - start, out)


# ------------------------------------------------------------------ parsing
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_hilander",
        description="Learn to cluster with Hi-LANDER (scikit-learn estimator).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--n-neighbors", type=int, default=None)
    common.add_argument("--metric", choices=["cosine", "euclidean"], default=None)
    common.add_argument(
        "--link-threshold",
        default="auto",
        type=lambda text: text if text == "auto" else float(text),
        help="'auto' (the model's calibrated value) or a probability",
    )
    common.add_argument("--min-cluster-size", type=int, default=1)
    common.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    common.add_argument("--n-jobs", type=int, default=None)
    common.add_argument("--random-state", type=int, default=0)
    common.add_argument("-v", "--verbose", action="count", default=0)
    labels_help = "label column (CSV), key (.npz) or file with one label per row"

    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser(
        "fit", parents=[common], help="meta-train on labelled data, save the network"
    )
    fit.add_argument("data")
    fit.add_argument("--labels", help=labels_help)
    fit.add_argument("--model", required=True, help="network file to write (.npz)")
    fit.add_argument("--max-iter", type=int, default=30)
    fit.set_defaults(run=cmd_fit)

    for name, run, text in [
        ("predict", cmd_predict, "cluster data and write its labels"),
        ("evaluate", cmd_evaluate, "cluster labelled data and print metrics"),
    ]:
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument("data")
        sub.add_argument("--labels", help=labels_help)
        sub.add_argument(
            "--model",
            default="default",
            help="network file from `fit` (default: the bundled network)",
        )
        sub.add_argument(
            "--output", required=name == "predict", help="labels file (.npy or .csv)"
        )
        sub.set_defaults(run=run)

    demo = commands.add_parser(
        "demo", parents=[common], help="cluster unseen Omniglot characters"
    )
    demo.set_defaults(run=cmd_demo, max_iter=30)
    return parser


def main(argv=None, out=None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.run(args, out)
    except (CommandError, ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
