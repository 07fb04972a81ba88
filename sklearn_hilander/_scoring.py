"""Running a trained network over a level: link probabilities and densities.

This is all that clustering, calibration and ``predict`` need of the network;
nothing here trains. A level is scored in blocks of nodes, each block an
independent joblib task carrying the network and its inputs (no global
state), so under a distributed joblib backend the blocks run on the workers
and by default they run here.
"""

from __future__ import annotations

import numpy as np
import torch
from joblib import Parallel, delayed

from ._level import Level
from ._model import BATCH_NODES, link_density, load_network, node_inputs

# Nodes per inference task: the unit a distributed joblib backend ships.
INFERENCE_NODES = 8192


def resolve_device(device: str) -> str:
    """The torch device for the estimator's ``device`` parameter.

    "auto" takes a CUDA GPU when torch sees one; "cuda" without one is an
    error rather than a silent change of device.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' but torch sees no CUDA device; use device='auto' "
            "to fall back to the CPU, or device='cpu'."
        )
    return device


def network_scorer(config: dict, state: dict, device: str = "cpu"):
    """Scorer for :func:`._decode.decode` running the network ``(config, state)``.

    Two rounds of tasks: per block of nodes, their centre and neighbor
    terms; then per block of nodes, the link probabilities of their in-edges
    from those terms (the neighbors' terms gathered here) and the pair
    features.
    """
    net = load_network(config, state, device)
    architecture = config["architecture"]

    def score(level: Level) -> tuple[np.ndarray, np.ndarray]:
        node_in = node_inputs(level, architecture)
        pair = level.pair_features()
        blocks = [
            slice(start, min(level.n_nodes, start + INFERENCE_NODES))
            for start in range(0, level.n_nodes, INFERENCE_NODES)
        ]
        terms = Parallel()(
            delayed(_node_terms_block)(net, node_in[sl], device) for sl in blocks
        )
        centre = np.concatenate([c for c, _ in terms])
        neighbor = np.concatenate([n for _, n in terms])
        scored = Parallel()(
            delayed(_score_block)(
                net,
                centre[sl],
                neighbor[level.indices[sl]],
                pair[sl],
                level.similarities[sl],
                device,
            )
            for sl in blocks
        )
        return (
            np.concatenate([p for p, _ in scored]),
            np.concatenate([d for _, d in scored]),
        )

    return score


@torch.no_grad()
def _node_terms_block(net, node_in, device):
    """Centre and neighbor terms of one block of nodes."""
    centre, neighbor = net.node_terms(torch.from_numpy(node_in).to(device))
    return centre.cpu().numpy(), neighbor.cpu().numpy()


@torch.no_grad()
def _score_block(net, centre, neighbor, pair, similarities, device):
    """Link probabilities and densities of one block of nodes, from the node
    terms of its centres (batch, hidden) and their neighbors (batch, k, hidden)."""
    probs = np.empty(similarities.shape, dtype=np.float32)
    density = np.empty(similarities.shape[0], dtype=np.float32)
    for start in range(0, similarities.shape[0], BATCH_NODES):
        rows = slice(start, start + BATCH_NODES)
        logits = net.edge_logits(
            torch.from_numpy(centre[rows]).to(device),
            torch.from_numpy(neighbor[rows]).to(device),
            torch.from_numpy(pair[rows]).to(device),
        )
        p = torch.sigmoid(logits)
        sims = torch.from_numpy(similarities[rows]).to(device)
        probs[rows] = p.cpu().numpy()
        density[rows] = link_density(sims, p).cpu().numpy()
    return probs, density
