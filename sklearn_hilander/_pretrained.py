"""Network files: weights, architecture and link threshold in one ``.npz``.

Files are read with ``allow_pickle=False``: loading one never runs code, so a
network file from someone else is safe to open.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ._level import NODE_DESCRIPTORS
from ._model import ARCHITECTURES, check_inputs_match, check_weights

PRETRAINED_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "data", "pretrained_network.npz"
)
_FORMAT = 2
# Format 1 predates the named network inputs: its networks read these, in
# this order, and called their width "hidden" and one layer "neighbour_in".
_FORMAT_1_PAIR_FEATURES = [
    "similarity",
    "gap_to_nearest",
    "above_centre_mean",
    "above_neighbor_mean",
    "rank",
    "reverse_rank",
    "shared_neighbors",
    "smoothed_similarity",
    "cluster_similarity",
]
_FORMAT_1_NODE_DESCRIPTORS = [
    "mean_similarity",
    "nearest_similarity",
    "farthest_similarity",
    "similarity_spread",
    "similarity_to_neighbor_mean",
    "similarity_to_cluster_mean",
    "cohesion",
    "log_size",
    "in_degree",
]


def save_network(
    path, config: dict, state: dict, threshold: float, params: dict | None = None
) -> None:
    """Write a network file (see :func:`read_network`).

    ``params`` records the estimator settings the threshold was chosen with
    (``n_neighbors``, ``metric``), so tools can reuse them.
    """
    meta = {
        "format": _FORMAT,
        "config": config,
        "threshold": threshold,
        "params": params or {},
    }
    np.savez_compressed(
        path,
        __meta__=np.array(json.dumps(meta)),
        **{f"weight/{name}": value for name, value in state.items()},
    )


def read_network_params(path) -> dict:
    """Estimator settings stored with a network file (may be empty)."""
    return dict(_read(path)[3])


def read_network(path) -> tuple[dict, dict, float]:
    """Read ``(config, numpy weights, threshold)`` from a network file.

    Raises ValueError naming the file and the reason when it is not a
    network file, is truncated, or any field of its metadata or any weight is
    unusable (see :func:`_check_network_file`).
    """
    config, state, threshold, _ = _read(path)
    return config, state, threshold


def _read(path) -> tuple[dict, dict, float, dict]:
    """``(config, weights, threshold, params)`` of a checked network file."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no such network file: {path!r}; pass the path of a file written "
            'by save_network, or pretrained="default" for the bundled network.'
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a readable HiLanderClustering network file: it is "
            "not an .npz (zip) archive. Save one with "
            "HiLanderClustering.save_network or re-download it."
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if "__meta__" not in data.files:
                raise ValueError("it has no __meta__ entry")
            raw = data["__meta__"]
            if raw.dtype.kind != "U" or raw.ndim != 0:
                raise ValueError("its __meta__ entry is not a JSON text")
            meta = json.loads(str(raw))
            state = {
                key.split("/", 1)[1]: data[key]
                for key in data.files
                if key.startswith("weight/")
            }
    except Exception as exc:  # zip, npy, json and key errors all mean a bad file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"{path!r} is not a readable HiLanderClustering network file "
            f"({reason}). Save one with HiLanderClustering.save_network or "
            "re-download it."
        ) from None
    return _check_network_file(meta, state, path)


# ------------------------------------------------------------------ checks
# Each check returns None for a valid value, else what is wrong with it.
_MAX_WIDTH = 1 << 16


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(low: int, high: int):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, not {_short(value)}"
        if not low <= value <= high:
            return f"must be from {low} to {high}, not {value}"
        return None

    return check


def _one_of(options):
    def check(value):
        if not isinstance(value, str) or value not in options:
            return f"must be one of {sorted(options)}, not {_short(value)}"
        return None

    return check


def _names(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"must be a list of names, not {_short(value)}"
    return None


def _probability(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number, not {_short(value)}"
    if not 0.0 <= value <= 1.0:  # False for NaN too
        return f"must be a probability from 0 to 1, not {value}"
    return None


def _link_density(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number, not {_short(value)}"
    if not 0.0 <= value < float("inf"):  # False for NaN too
        return f"must be a finite number >= 0, not {value}"
    return None


def _threshold_curve(value):
    # an empty curve: no measurement in the space of the features the file
    # names (its network was lent to them), the threshold chosen without labels
    rows_ok = isinstance(value, list) and all(
        isinstance(row, list)
        and len(row) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
        for row in value
    )
    if not rows_ok:
        return f"must be a list of [similarity, threshold] pairs, not {_short(value)}"
    similarities = sorted(row[0] for row in value)
    if any(a == b for a, b in zip(similarities, similarities[1:])):
        return "must hold each similarity once"
    for similarity, threshold in value:
        if not -1e6 < similarity < 1e6:  # False for NaN too
            return f"must hold finite similarities, not {similarity}"
        problem = _link_density(threshold)
        if problem is not None:
            return "thresholds " + problem
    return None


# Required metadata and config fields, and the optional stored estimator
# settings: one line per field.
_META_CHECKS = {"threshold": _probability}
_CONFIG_CHECKS = {
    "architecture": _one_of(ARCHITECTURES),
    "n_node_inputs": _integer(1, _MAX_WIDTH),
    "hidden_size": _integer(1, _MAX_WIDTH),
    "pair_features": _names,
    "node_descriptors": _names,
}
_PARAM_CHECKS = {
    "n_neighbors": _integer(1, 1 << 30),
    "metric": _one_of({"cosine", "euclidean"}),
    # the merge threshold as an average link per pair of points; files of
    # the release before stored another rule's value as "merge_threshold",
    # which is ignored (no merging) rather than misread
    "merge_link_density": _link_density,
    # the merge threshold against the sampling similarity (see
    # _decode.MergeThresholds); files without it keep merge_link_density
    "merge_threshold_curve": _threshold_curve,
    # the width of the features the curve was measured on: on another width
    # none of it applies (the threshold is chosen without labels)
    "n_features": _integer(1, 1 << 30),
    # neighbors per point of the graph the merge threshold was chosen on
    "merge_n_neighbors": _integer(1, 1 << 30),
}
# Input widths fixed by the architecture (the paper's network reads raw
# coordinates, whose width is the data's).
_FIXED_WIDTHS = {
    "lander": {"n_node_inputs": 2 * len(NODE_DESCRIPTORS)},
    "pairs": {"n_node_inputs": 1},
}


def _check_network_file(meta, state: dict, path) -> tuple[dict, dict, float, dict]:
    """Validate every field of a network file's metadata and every weight.

    Returns ``(config, weights as native float32, threshold, params)`` or
    raises a one-line ValueError naming ``path`` and the field.
    """

    def refuse(reason):
        raise ValueError(
            f"{path!r} is not a valid HiLanderClustering network file: {reason}. "
            "Save one with HiLanderClustering.save_network or re-download it."
        )

    def check_fields(where, fields, checks, required=True):
        for key, check in checks.items():
            if key not in fields:
                if required:
                    refuse(f"{where} has no {key!r}")
                continue
            problem = check(fields[key])
            if problem:
                refuse(f"{where} {key!r} {problem}")

    if not isinstance(meta, dict):
        refuse(f"its metadata is a JSON {type(meta).__name__}, not an object")
    if type(meta.get("format")) is int and meta["format"] == 1:
        meta, state = _upgrade_format_1(meta, state)
    if type(meta.get("format")) is not int or meta["format"] != _FORMAT:
        raise ValueError(
            f"{path!r} has network file format {_short(meta.get('format'))}; this "
            f"version reads format {_FORMAT}."
        )
    if "config" not in meta:
        refuse("its metadata has no 'config'")
    config = meta["config"]
    if not isinstance(config, dict):
        refuse(f"its 'config' is a JSON {type(config).__name__}, not an object")
    check_fields("its metadata", meta, _META_CHECKS)
    check_fields("its config", config, _CONFIG_CHECKS)
    for key, width in _FIXED_WIDTHS.get(config["architecture"], {}).items():
        if config[key] != width:
            refuse(
                f"its config {key!r} is {config[key]}, but the "
                f"{config['architecture']!r} architecture reads {width}"
            )
    params = meta.get("params", {})
    if not isinstance(params, dict):
        refuse(f"its 'params' is a JSON {type(params).__name__}, not an object")
    check_fields("its params", params, _PARAM_CHECKS, required=False)
    weights = {}
    for name, value in state.items():
        if value.dtype.kind != "f":
            refuse(f"weight {name!r} is stored as {value.dtype}, not as floats")
        value = value.astype(np.float32)  # native byte order
        if not np.isfinite(value).all():
            refuse(f"weight {name!r} holds NaN or infinite values")
        weights[name] = value
    try:
        check_inputs_match(config)
        check_weights(config, weights)
    except ValueError as exc:
        refuse(str(exc))
    return dict(config), weights, float(meta["threshold"]), dict(params)


def _upgrade_format_1(meta: dict, state: dict) -> tuple[dict, dict]:
    """Read a format 1 file as the format 2 file it would be today."""
    config = meta.get("config")
    if not isinstance(config, dict):
        return {**meta, "format": _FORMAT}, state  # refused by the checks
    config = dict(config)
    if "hidden" in config:
        config["hidden_size"] = config.pop("hidden")
    config.pop("n_pair_features", None)
    config["pair_features"] = _FORMAT_1_PAIR_FEATURES
    config["node_descriptors"] = _FORMAT_1_NODE_DESCRIPTORS
    state = {key.replace("neighbour_in", "neighbor_in"): v for key, v in state.items()}
    return {**meta, "format": _FORMAT, "config": config}, state
