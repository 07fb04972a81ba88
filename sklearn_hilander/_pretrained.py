"""Network files: weights, architecture and link threshold in one ``.npz``.

Files are read with ``allow_pickle=False``: loading one never runs code, so a
network file from someone else is safe to open.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ._model import load_network

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
    return dict(_read(path)[0].get("params", {}))


def read_network(path) -> tuple[dict, dict, float]:
    """Read ``(config, numpy weights, threshold)`` from a network file.

    Raises ValueError with the reason when the file is not a network file,
    is truncated, or its weights do not fit its architecture.
    """
    meta, state = _read(path)
    load_network(meta["config"], state)  # checks the weights fit
    return meta["config"], state, float(meta["threshold"])


def _read(path) -> tuple[dict, dict]:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            state = {
                key.split("/", 1)[1]: data[key]
                for key in data.files
                if key.startswith("weight/")
            }
    except FileNotFoundError:
        raise
    except Exception as exc:  # zip, json and key errors all mean a bad file
        raise ValueError(
            f"{path!r} is not a readable HiLanderClustering network file "
            f"({type(exc).__name__}: {exc}). Save one with "
            "HiLanderClustering.save_network or re-download it."
        ) from exc
    if meta.get("format") == 1:
        meta, state = _upgrade_format_1(meta, state)
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"{path!r} has network file format {meta.get('format')!r}; this "
            f"version reads format {_FORMAT}."
        )
    return meta, state


def _upgrade_format_1(meta: dict, state: dict) -> tuple[dict, dict]:
    """Read a format 1 file as the format 2 file it would be today."""
    config = dict(meta["config"])
    config["hidden_size"] = config.pop("hidden")
    config.pop("n_pair_features", None)
    config["pair_features"] = _FORMAT_1_PAIR_FEATURES
    config["node_descriptors"] = _FORMAT_1_NODE_DESCRIPTORS
    state = {key.replace("neighbour_in", "neighbor_in"): v for key, v in state.items()}
    return {**meta, "format": _FORMAT, "config": config}, state
