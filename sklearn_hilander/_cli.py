"""Command line: ``python -m sklearn_hilander fit|predict|evaluate|demo``.

Data files are ``.npy`` (features only), ``.npz`` (features under ``X``,
optionally labels under ``y``) or ``.csv`` (one row per point, an optional
header; the label column is named with ``--labels``). Models are network
files written by :meth:`HiLanderClustering.save_network`: numpy arrays and
JSON, read without pickle.

Every option and every output path is checked before any work starts, and
torch (through the estimator) is imported only after the arguments are
parsed, so ``--help`` and argument errors come back at once.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import zipfile

import numpy as np

LABEL_FORMATS = {
    ".npy": "numpy array",
    ".csv": "a 'label' header, then one label per line",
    ".txt": "one label per line",
}


class CommandError(ValueError):
    """A problem with the command's input, reported without a traceback."""


# ------------------------------------------------------------------ reading
def _read_csv(path: str, label_column: str | None):
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise CommandError(f"{path} is empty; it needs one row per point.")
    header = None
    if not all(_is_number(cell) for cell in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise CommandError(f"{path} has a header but no rows of data.")
    width = len(rows[0])
    for number, row in enumerate(rows, start=2 if header else 1):
        if len(row) != width:
            raise CommandError(
                f"{path}: line {number} has {len(row)} columns, the first row "
                f"{width}; every row needs the same columns."
            )
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
                f"{_names(columns)}."
            )
    feature_index = [i for i in range(width) if i != label_index]
    try:
        X = np.array([[float(row[i]) for i in feature_index] for row in rows])
    except ValueError as exc:
        raise CommandError(
            f"{path}: a feature column holds a non-number ({exc}); name the label "
            "column with --labels."
        ) from None
    X = X.reshape(len(rows), len(feature_index))
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise CommandError(
            f"{path}: line {row + (2 if header else 1)}, column "
            f"{columns[feature_index[col]]!r} holds {X[row, col]}; every feature "
            "must be a finite number (drop or fill such rows)."
        )
    y = None if label_index is None else np.array([row[label_index] for row in rows])
    return X, y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _names(names, limit=8) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _load_npy(path: str) -> np.ndarray:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY":
        what = "empty" if not magic else "not a .npy array file"
        raise CommandError(f"{path} is {what}; save arrays with numpy.save.")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays, a truncated file
        raise CommandError(f"{path} cannot be read: {_first_line(exc)}") from None


def _open_npz(path: str):
    if not zipfile.is_zipfile(path):
        what = "empty" if os.path.getsize(path) == 0 else "not an .npz (zip) archive"
        raise CommandError(f"{path} is {what}; save arrays with numpy.savez.")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path} cannot be read: {_first_line(exc)}") from None
    if not data.files:
        data.close()
        raise CommandError(f"{path} holds no arrays; save the features under 'X'.")
    return data


def _npz_array(data, path: str, name: str, what: str) -> np.ndarray:
    if name not in data.files:
        raise CommandError(
            f"{path} has no array {name!r} ({what}); it has {_names(data.files)}."
        )
    try:
        return data[name]
    except ValueError as exc:  # object arrays
        raise CommandError(
            f"{path}: {name!r} cannot be read: {_first_line(exc)}"
        ) from None


def _read_array(path: str) -> np.ndarray:
    """One array from a .npy or .npz (its ``X``, or its only array) or a .csv."""
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        X, _ = _read_csv(path, None)
        return X.ravel() if X.shape[1] == 1 else X
    if suffix == ".npy":
        return _load_npy(path)
    if suffix == ".npz":
        with _open_npz(path) as data:
            name = "X" if "X" in data.files or len(data.files) > 1 else data.files[0]
            return _npz_array(data, path, name, "the array to read")
    raise CommandError(f"{path}: unknown format {suffix!r}; use .npy, .npz or .csv.")


def _check_features(X: np.ndarray, path: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise CommandError(
            f"{path}: the features are of type {X.dtype}, not numbers; pass a "
            "numeric array (or name a label column with --labels)."
        )
    if X.ndim != 2:
        raise CommandError(
            f"{path}: the features have shape {X.shape}; pass a 2-d array with "
            "one row per point."
        )
    if X.size and not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise CommandError(
            f"{path}: row {row}, column {col} of the features holds {X[row, col]}; "
            "every feature must be a finite number (drop or fill such rows)."
        )
    return X


def read_data(path: str, labels: str | None = None):
    """Features and labels (or None) from a data file.

    ``labels`` is the label column of a CSV file, the key of the labels in an
    ``.npz`` file (``y`` is used when present), or the path of a separate
    ``.npy``/``.csv`` file holding one label per row.
    """
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise CommandError(
            f"{path}: unknown format {suffix!r}; use .npy, .npz or .csv."
        )
    separate = labels is not None and os.path.isfile(labels)
    y = None
    if suffix == ".csv":
        X, y = _read_csv(path, None if separate else labels)
    elif suffix == ".npy":
        if labels is not None and not separate:
            raise CommandError(f"--labels {labels!r}: no such file.")
        X = _load_npy(path)
    else:
        with _open_npz(path) as data:
            X = _npz_array(data, path, "X", "the features")
            if not separate:
                name = labels or ("y" if "y" in data.files else None)
                if name is not None:
                    y = _npz_array(data, path, name, "the labels")
    X = _check_features(X, path)
    if separate:
        y = _read_array(labels)
    if y is not None:
        from ._validation import check_cluster_labels

        check_cluster_labels(y, f"the labels of {labels or path}")
        if len(y) != len(X):
            raise CommandError(
                f"{len(y)} labels for {len(X)} rows of features; they must match."
            )
    return X, y


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------- output checks
def _check_writable(path: str, option: str, suffixes) -> None:
    """Refuse an output path before any work starts: wrong extension, a
    missing or read-only folder, or an existing folder of that name."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in suffixes:
        raise CommandError(
            f"{option} {path}: unknown extension {suffix!r}; use "
            f"{', '.join(sorted(suffixes))}."
        )
    if os.path.isdir(path):
        raise CommandError(f"{option} {path} is a folder; name a file.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(
            f"{option} {path}: the folder {folder} does not exist; create it first."
        )
    if not os.access(folder, os.W_OK) or (
        os.path.exists(path) and not os.access(path, os.W_OK)
    ):
        raise CommandError(f"{option} {path}: not writable; choose another path.")


def write_labels(path: str, labels: np.ndarray, out=None) -> None:
    """Write labels by the extension of ``path`` (see ``LABEL_FORMATS``);
    ``-`` writes one label per line to ``out``."""
    if path == "-":
        out.write("".join(f"{label}\n" for label in labels.tolist()))
        return
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        np.save(path, labels)
    elif suffix == ".csv":
        np.savetxt(path, labels, fmt="%d", header="label", comments="")
    elif suffix == ".txt":
        np.savetxt(path, labels, fmt="%d")
    else:
        raise CommandError(f"--output {path}: unknown extension {suffix!r}.")


# ----------------------------------------------------------------- commands
def _verbosity(args) -> int:
    if args.quiet:
        return 0
    if args.verbose:
        return args.verbose
    return int(args.progress_default)


def _estimator(args, pretrained="default"):
    """The estimator the options describe, its parameters checked."""
    from ._estimator import HiLanderClustering
    from ._pretrained import read_network_params

    stored = {}
    if pretrained != "default":
        stored = read_network_params(pretrained)  # checks the whole file

    def chosen(name, default):
        given = getattr(args, name)
        return given if given is not None else stored.get(name, default)

    est = HiLanderClustering(
        n_neighbors=chosen("n_neighbors", 10),
        metric=chosen("metric", "cosine"),
        link_threshold=args.link_threshold,
        min_cluster_size=args.min_cluster_size,
        n_clusters=getattr(args, "n_clusters", None),
        pretrained=pretrained,
        max_iter=getattr(args, "max_iter", 30),
        device=args.device,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=_verbosity(args),
    )
    est._validate_params()
    return est


def _report(y, labels, seconds, out) -> None:
    from sklearn.metrics import normalized_mutual_info_score

    from .metrics import bcubed_precision_recall_f, pairwise_precision_recall_f

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
    _check_writable(args.model, "--model", {".npz"})
    est = _estimator(args)
    X, y = read_data(args.data, args.labels)
    if y is None:
        raise CommandError(
            "fit meta-trains on labelled data: name the labels with --labels "
            "(a CSV column, an .npz key, or a file with one label per row)."
        )
    start = time.perf_counter()
    est.fit(X, y)
    est.save_network(args.model)
    print(
        f"meta-trained on {len(X)} points of {est.n_train_classes_} classes in "
        f"{time.perf_counter() - start:.1f} s ({est.n_iter_} epochs); "
        f"threshold {est.threshold_:.3f}; network written to {args.model}",
        file=out,
    )


def _check_output(args) -> None:
    if args.output is not None and args.output != "-":
        _check_writable(args.output, "--output", set(LABEL_FORMATS))


def cmd_predict(args, out) -> None:
    _check_output(args)
    est = _estimator(args, args.model)
    X, y = read_data(args.data, args.labels)
    start = time.perf_counter()
    labels = est.fit_predict(X)
    seconds = time.perf_counter() - start
    # with --output -, stdout holds the labels alone and the summary goes
    # to stderr
    summary = sys.stderr if args.output == "-" else out
    write_labels(args.output, labels, out)
    n_noise = int((labels < 0).sum())
    where = "stdout" if args.output == "-" else args.output
    print(
        f"{labels.max() + 1} clusters ({n_noise} noise points) for {len(X)} points "
        f"in {seconds:.1f} s; labels written to {where}",
        file=summary,
    )
    if y is not None:
        _report(y, labels, seconds, summary)


def cmd_evaluate(args, out) -> None:
    _check_output(args)
    est = _estimator(args, args.model)
    X, y = read_data(args.data, args.labels)
    if y is None:
        raise CommandError("evaluate needs the true classes: pass --labels.")
    start = time.perf_counter()
    labels = est.fit_predict(X)
    seconds = time.perf_counter() - start
    if args.output:
        write_labels(args.output, labels, out)
    _report(y, labels, seconds, sys.stderr if args.output == "-" else out)


def cmd_demo(args, out) -> None:
    meta_trained, bundled = _estimator(args), _estimator(args)
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
    labels = meta_trained.fit(X[train], y[train]).fit_predict(X[test])
    print("\nmeta-trained HiLanderClustering", file=out)
    _report(y[test], labels, time.perf_counter() - start, out)
    start = time.perf_counter()
    labels = bundled.fit_predict(X[test])
    print("\nbundled pretrained network, no labels", file=out)
    _report(y[test], labels, time.perf_counter() - start, out)


# ------------------------------------------------------------------ parsing
def _at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def _threshold(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither 'auto' nor a number"
        ) from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {text}")
    return value


def _n_jobs(text):
    value = _at_least(-(2**31))(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 workers cannot run; use 1, or -1 for all")
    return value


PROGRESS_HELP = (
    "progress bars go to stderr by default when it is a terminal; -v shows "
    "them anywhere (-vv adds detail), -q hides them"
)


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line, without the usage block."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sklearn_hilander",
        description="Learn to cluster with Hi-LANDER (scikit-learn estimator).",
        epilog=PROGRESS_HELP + ".",
    )
    common = _Parser(add_help=False)
    common.add_argument(
        "--n-neighbors",
        type=_at_least(1),
        default=None,
        help="neighbors per point in the kNN graph (default: the value stored "
        "with --model, else 10)",
    )
    common.add_argument(
        "--metric",
        choices=["cosine", "euclidean"],
        default=None,
        help="how neighbors are ranked (default: the value stored with --model, "
        "else cosine)",
    )
    common.add_argument(
        "--link-threshold",
        default="auto",
        type=_threshold,
        help="'auto' (the model's calibrated value) or a probability from 0 to 1 "
        "(default: %(default)s)",
    )
    common.add_argument(
        "--min-cluster-size",
        type=_at_least(1),
        default=1,
        help="smaller clusters become noise, label -1 (default: %(default)s)",
    )
    common.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="where the network runs (default: %(default)s)",
    )
    common.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="threads for the approximate kNN search, -1 for all (default: 1)",
    )
    common.add_argument(
        "--random-state",
        type=_at_least(0),
        default=0,
        help="seed of training and of the approximate search (default: %(default)s)",
    )
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show progress bars even when stderr is not a terminal; -vv adds "
        "detail (default: bars on a terminal only)",
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="hide the progress bars"
    )
    labels_help = (
        "the labels: a CSV column name, an .npz key, or a file with one label "
        "per row (default: the .npz key 'y' when present)"
    )
    data_help = (
        "features: .npy, .npz (array 'X') or .csv (one row per point, optional header)"
    )
    output_help = (
        "labels file: .npy, .csv (with a 'label' header) or .txt (one label per "
        "line); '-' writes one label per line to stdout"
    )

    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser(
        "fit",
        parents=[common],
        help="meta-train on labelled data, save the network",
        description="Meta-train on labelled data and save the network. "
        + PROGRESS_HELP
        + ".",
    )
    fit.add_argument("data", help=data_help)
    fit.add_argument("--labels", help=labels_help)
    fit.add_argument(
        "--model",
        required=True,
        help="network file to write (.npz; its folder must exist)",
    )
    fit.add_argument(
        "--max-iter",
        type=_at_least(1),
        default=30,
        help="training epochs (default: %(default)s)",
    )
    fit.set_defaults(run=cmd_fit)

    for name, run, text in [
        (
            "predict",
            cmd_predict,
            "cluster data among itself (the API's fit_predict, not its predict) "
            "and write its labels",
        ),
        ("evaluate", cmd_evaluate, "cluster labelled data and print metrics"),
    ]:
        sub = commands.add_parser(
            name, parents=[common], help=text, description=text.capitalize() + "."
        )
        sub.add_argument("data", help=data_help)
        sub.add_argument("--labels", help=labels_help)
        sub.add_argument(
            "--model",
            default="default",
            help="network file from `fit` (default: the bundled network)",
        )
        sub.add_argument(
            "--n-clusters",
            type=_at_least(1),
            default=None,
            help="about how many clusters to find, when you know it (default: "
            "the model chooses)",
        )
        if name == "predict":
            sub.add_argument("--output", required=True, help=output_help)
        else:
            sub.add_argument(
                "--output", help=output_help + " (default: labels not written)"
            )
        sub.set_defaults(run=run)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="cluster unseen Omniglot characters",
        description="Meta-train on Omniglot's background alphabets, cluster its "
        "unseen evaluation alphabets, and compare with the bundled network. "
        + PROGRESS_HELP
        + ".",
    )
    demo.set_defaults(run=cmd_demo, max_iter=30)
    return parser


def main(argv=None, out=None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    args.progress_default = sys.stderr.isatty()
    try:
        args.run(args, out)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: {_first_line(exc)}", file=sys.stderr)
        return 2
    return 0
