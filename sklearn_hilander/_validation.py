"""Checks of user input shared by the estimator, the metrics and the CLI.

Each check raises a one-line ValueError or TypeError that names the argument
and says how to fix it, instead of letting numpy fail deep inside.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target

# dtype kinds that hold class labels: bool, integers, floats (finite ones),
# text, bytes, dates and durations, and objects (checked element by element)
_LABEL_KINDS = "biufUSMmO"


def _object_kind(value) -> str | None:
    """The kind of one label in an object array: "number", "str" or "bytes"."""
    if isinstance(value, (bool, np.bool_, numbers.Real)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes):
        return "bytes"
    return None


def check_cluster_labels(y, name: str, n_samples: int | None = None) -> np.ndarray:
    """Integer codes ``0..n_classes-1`` of one label per point.

    Labels may be numbers, strings or bytes, but all of one kind: mixing
    kinds, ``None``, NaN or infinite values, other objects, or arrays that
    are not 1-d raise a ValueError or TypeError naming ``name``.
    ``n_samples``, when given, is the number of labels required. Codes follow
    the sorted order of the distinct labels, as ``np.unique`` gives them.
    """
    try:
        labels = np.asarray(y)
    except ValueError:  # ragged nested sequences
        raise ValueError(
            f"{name} must be a 1-d sequence of labels, one per point; got nested "
            "sequences of different lengths."
        ) from None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-d (one label per point); got an array of shape "
            f"{labels.shape}."
        )
    if n_samples is not None and labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {labels.shape[0]} labels for {n_samples} points; pass one "
            "label per point."
        )
    if labels.dtype.kind not in _LABEL_KINDS:
        raise TypeError(
            f"{name} has dtype {labels.dtype}, which does not hold class labels; "
            "use integers or strings."
        )
    if labels.dtype.kind == "O":
        labels = _check_object_labels(labels, name)
    elif labels.dtype.kind in "US" and not isinstance(y, np.ndarray):
        # numpy turns [1, "1"] into ["1", "1"]: check the elements as given
        _check_object_labels(np.asarray(y, dtype=object).reshape(-1), name)
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        index = int(np.flatnonzero(~np.isfinite(labels))[0])
        raise ValueError(
            f"{name} holds {labels[index]} at index {index}; every point needs a "
            "finite label" + _missing_hint(name) + "."
        )
    if labels.dtype.kind in "Mm" and np.isnat(labels).any():
        index = int(np.flatnonzero(np.isnat(labels))[0])
        raise ValueError(
            f"{name} holds NaT at index {index}; every point needs a label."
        )
    _, codes = np.unique(labels, return_inverse=True)
    return codes.ravel().astype(np.int64, copy=False)


def check_class_kind(labels: np.ndarray, name: str, hint: str = "") -> None:
    """Refuse labels that are not classes (continuous values, several
    columns), which would otherwise each count as a class of their own."""
    kind = type_of_target(labels)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type {kind!r} for {name}: it must hold one class label "
            f"per row{hint}; pass class ids such as integers or strings."
        )


def non_finite_features_message(X) -> str:
    """One line for features holding NaN, infinity or values beyond float32
    (which become infinite there): the first such entry, when ``X`` reads as
    a float array, and how to get rid of them."""
    where = "X contains NaN, infinity or values too large for float32"
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):  # sparse or odd input: no position
        values = None
    if values is not None and values.ndim == 2:
        with np.errstate(invalid="ignore"):
            bad = np.argwhere(~(np.abs(values) <= np.finfo(np.float32).max))
        if bad.size:
            row, column = (int(i) for i in bad[0])
            value = values[row, column]
            if np.isnan(value):
                shown = "NaN"
            elif np.isinf(value):
                shown = "infinity" if value > 0 else "-infinity"
            else:
                shown = f"{value:g}, too large for float32,"
            where = f"X contains {shown} at row {row}, column {column}"
    return (
        f"{where}; features must be finite and fit in float32: drop those rows "
        "or fill them in first (e.g. sklearn.impute.SimpleImputer in a pipeline)."
    )


def _missing_hint(name: str) -> str:
    """How to mark a point without a class: in ``fit``'s ``y`` it is left
    unlabelled, in a clustering's labels it is noise."""
    if name == "y":
        return " (for rows without a label, pass integer class ids with -1 there)"
    return " (use -1 for noise in predicted labels)"


def _check_object_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Object labels of one kind, as an array numpy can sort."""
    kinds = {}
    for index, value in enumerate(labels.tolist()):
        if value is None:
            raise ValueError(
                f"{name} holds None at index {index}; every point needs a label"
                + _missing_hint(name)
                + "."
            )
        kind = _object_kind(value)
        if kind is None:
            raise TypeError(
                f"{name} holds a {type(value).__name__} at index {index}; labels "
                "must be numbers or strings."
            )
        if (
            kind == "number"
            and not isinstance(value, numbers.Integral)
            and not math.isfinite(value)
        ):
            raise ValueError(
                f"{name} holds {value!r} at index {index}; every point needs a "
                "finite label" + _missing_hint(name) + "."
            )
        kinds.setdefault(kind, (index, value))
    if len(kinds) > 1:
        (a, (i, u)), (b, (j, v)) = sorted(kinds.items(), key=lambda kv: kv[1][0])[:2]
        raise TypeError(
            f"{name} mixes {a} and {b} labels ({u!r} at index {i}, {v!r} at "
            f"index {j}); use one type for all labels, e.g. all strings."
        )
    if not kinds:
        return labels
    kind = next(iter(kinds))
    if kind == "number":
        return labels  # ints stay exact (float64 would merge big ones)
    return np.array(labels.tolist(), dtype=str if kind == "str" else bytes)
