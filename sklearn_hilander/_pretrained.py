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
_FORMAT = 1


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
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"{path!r} has network file format {meta.get('format')!r}; this "
            f"version reads format {_FORMAT}."
        )
    return meta, state
