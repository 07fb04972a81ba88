"""The LANDER network in plain torch: graph conv, edge head, density head.

Both networks score the ``k`` in-edges of a batch of centre nodes. The graph
conv is one layer with affinity-weighted mean aggregation; since it is linear
before its ReLU, the aggregation is done once per level outside the network
(see :mod:`._level`) and the conv reads ``[own input, neighborhood mean]``.

- :class:`LanderNet` (ours) reads class-blind node descriptors and per-edge
  pair features, so it cannot memorise which classes it was trained on.
- :class:`PaperLanderNet` is the Hi-LANDER architecture (raw own and cluster
  features, summed source and destination projections); it is kept as the
  control of the ablation study.

Both split into ``node_terms`` (per node) and ``edge_logits`` (per edge), so
that inference projects every node once rather than once per in-edge.

The weights travel as a dict of numpy arrays plus a JSON-able config, so a
fitted estimator pickles without torch objects and loads on any device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._level import NODE_DESCRIPTORS, PAIR_FEATURES, Level

# Nodes per network call, in training (seed nodes per optimisation step) and
# at inference: memory per call is bounded by this times k, whatever the size
# of the graph, and at k = 10 each (edges, hidden) activation stays near
# 2.6 MB, in cache (8,192-node calls ran the same network 1.5 to 2 times
# slower on 300k points).
BATCH_NODES = 1024


def _init_linear(layer: nn.Linear, generator: torch.Generator) -> None:
    """PyTorch's default uniform init, drawn from a local generator."""
    bound = 1.0 / np.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)


def _per_edge(head: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Apply ``head`` to (batch, k, features) edge rows; PReLU wants 2-D input."""
    batch, k, width = z.shape
    return head(z.reshape(batch * k, width)).reshape(batch, k)


def _edge_mlp(hidden_size: int) -> nn.Sequential:
    """The paper's edge head after its first layer: PReLU-Linear-PReLU-Linear."""
    return nn.Sequential(
        nn.PReLU(hidden_size),
        nn.Linear(hidden_size, hidden_size),
        nn.PReLU(hidden_size),
        nn.Linear(hidden_size, 1),
    )


class LanderNet(nn.Module):
    """Edge scorer over pair geometry and class-blind node terms."""

    def __init__(self, n_node_inputs: int, n_pair_features: int, hidden_size: int):
        super().__init__()
        self.conv = nn.Linear(n_node_inputs, hidden_size)
        # The edge head's first layer reads [pair, h_centre, h_neighbor]; it
        # is split in three so node terms are projected once per node, not
        # once per edge.
        self.pair_in = nn.Linear(n_pair_features, hidden_size)
        self.centre_in = nn.Linear(hidden_size, hidden_size)
        self.neighbor_in = nn.Linear(hidden_size, hidden_size)
        self.edge_head = _edge_mlp(hidden_size)

    def forward(self, centre_in, neighbor_in, pair_features):
        """Link logits of shape (batch, k).

        centre_in : (batch, n_node_inputs); neighbor_in : (batch, k,
        n_node_inputs); pair_features : (batch, k, n_pair_features).
        """
        h_centre = torch.relu(self.conv(centre_in))
        h_neighbor = torch.relu(self.conv(neighbor_in))
        return self.edge_logits(
            self.centre_in(h_centre), self.neighbor_in(h_neighbor), pair_features
        )

    def node_terms(self, node_in):
        """Each node's contribution as a centre and as a neighbor, (m, hidden_size)
        each: computed once per node at inference instead of once per edge."""
        h = torch.relu(self.conv(node_in))
        return self.centre_in(h), self.neighbor_in(h)

    def edge_logits(self, centre_term, neighbor_term, pair_features):
        """Link logits (batch, k) from node terms of shape (batch, hidden_size) and
        (batch, k, hidden_size) and the pair features."""
        z = self.pair_in(pair_features) + centre_term.unsqueeze(1) + neighbor_term
        return _per_edge(self.edge_head, z)


class PaperLanderNet(nn.Module):
    """Hi-LANDER's LANDER: conv on raw features, edge head on summed projections."""

    def __init__(self, n_node_inputs: int, n_pair_features: int, hidden_size: int):
        super().__init__()
        self.conv = nn.Linear(n_node_inputs, hidden_size)
        self.src = nn.Linear(hidden_size, hidden_size)
        self.dst = nn.Linear(hidden_size, hidden_size)
        self.edge_head = _edge_mlp(hidden_size)

    def forward(self, centre_in, neighbor_in, pair_features):
        h_centre = torch.relu(self.conv(centre_in))
        h_neighbor = torch.relu(self.conv(neighbor_in))
        return self.edge_logits(self.dst(h_centre), self.src(h_neighbor), None)

    def node_terms(self, node_in):
        h = torch.relu(self.conv(node_in))
        return self.dst(h), self.src(h)

    def edge_logits(self, centre_term, neighbor_term, pair_features):
        return _per_edge(self.edge_head, neighbor_term + centre_term.unsqueeze(1))


@dataclass(frozen=True)
class Architecture:
    """A network class and what it reads of a level."""

    network: type[nn.Module]
    node_inputs: Callable[[Level], np.ndarray]


def _constant_node_inputs(level: Level) -> np.ndarray:
    return np.zeros((level.n_nodes, 1), dtype=np.float32)


ARCHITECTURES = {
    "lander": Architecture(LanderNet, Level.node_descriptors),
    # the ablation without node terms: LanderNet fed a constant node input
    "pairs": Architecture(LanderNet, _constant_node_inputs),
    "paper": Architecture(PaperLanderNet, Level.coordinate_inputs),
}


def node_inputs(level: Level, architecture: str) -> np.ndarray:
    """What the graph conv of ``architecture`` reads at ``level``."""
    return ARCHITECTURES[architecture].node_inputs(level)


def build_network(config: dict, generator: torch.Generator | None = None) -> nn.Module:
    """Instantiate the network described by ``config`` (see :func:`network_config`).

    Layers are created on the meta device, so torch's default initialisation
    never draws from the global random generator; the weights are then drawn
    from ``generator``, or left to be loaded when it is None.
    """
    net = _meta_network(config).to_empty(device="cpu")
    if generator is not None:
        for module in net.modules():
            if isinstance(module, nn.Linear):
                _init_linear(module, generator)
            elif isinstance(module, nn.PReLU):
                with torch.no_grad():
                    module.weight.fill_(0.25)
    return net


def _meta_network(config: dict) -> nn.Module:
    """The network of ``config`` on the meta device: shapes, no memory."""
    network = ARCHITECTURES[config["architecture"]].network
    with torch.device("meta"):
        return network(
            config["n_node_inputs"], len(config["pair_features"]), config["hidden_size"]
        )


def check_weights(config: dict, state: dict) -> None:
    """Raise a one-line ValueError unless ``state`` holds exactly the weights
    of ``config``'s network, each of its shape (checked before any memory
    is allocated, so a huge config costs nothing)."""
    expected = {
        k: tuple(v.shape) for k, v in _meta_network(config).state_dict().items()
    }
    found = {k: tuple(np.shape(v)) for k, v in state.items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [k for k in expected if k in found and expected[k] != found[k]]
    if missing or unexpected or wrong:
        if wrong:
            name = wrong[0]
            detail = f"weight {name!r} has shape {found[name]}, not {expected[name]}"
        elif missing:
            detail = f"weight {missing[0]!r} is missing ({len(missing)} missing)"
        else:
            detail = f"weight {unexpected[0]!r} is not part of the network"
        raise ValueError(
            "the stored weights do not match the network architecture "
            f"{config['architecture']!r}: {detail}; the model was saved by an "
            "incompatible version, re-fit it"
        )


def network_config(architecture: str, n_node_inputs: int, hidden_size: int) -> dict:
    """The JSON-able description of a network: enough to rebuild it, and the
    names of the inputs it was trained on, so a mismatch is caught on load."""
    return {
        "architecture": architecture,
        "n_node_inputs": int(n_node_inputs),
        "hidden_size": int(hidden_size),
        "pair_features": list(PAIR_FEATURES),
        "node_descriptors": list(NODE_DESCRIPTORS),
    }


def check_inputs_match(config: dict) -> None:
    """Refuse a network trained on other pair features or node descriptors."""
    for key, registry in (
        ("pair_features", PAIR_FEATURES),
        ("node_descriptors", NODE_DESCRIPTORS),
    ):
        if list(config[key]) != list(registry):
            raise ValueError(
                f"The network was trained on {key} {list(config[key])}, but this "
                f"version computes {list(registry)}; re-fit it with this version."
            )


def export_state(net: nn.Module) -> dict[str, np.ndarray]:
    """Weights as numpy arrays (CPU, float32), safe to pickle anywhere."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def load_network(config: dict, state: dict[str, np.ndarray], device="cpu") -> nn.Module:
    """Rebuild a network from its config and numpy weights, ready for inference."""
    check_inputs_match(config)
    check_weights(config, state)
    net = build_network(config)
    net.load_state_dict(
        {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in state.items()}
    )
    return net.to(device).eval()


def link_density(similarities: torch.Tensor, link_prob: torch.Tensor) -> torch.Tensor:
    """Parameter-free density head: mean of ``sim+ * (2p - 1)`` over in-edges."""
    return (similarities.clamp(min=0) * (2 * link_prob - 1)).mean(dim=-1)
