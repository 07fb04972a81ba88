"""Meta-training: ground-truth hierarchies, the loss and the training loop.

The training set of graphs is Hi-LANDER's: for each ``k`` in the schedule, the
kNN graph of the labelled points and the levels above it, built by decoding
with ground-truth densities. Edges towards denser neighbors carry the link
loss (class-balanced), every node the density loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._decode import iter_levels
from ._level import GraphSearch, Level, with_fewer_neighbors
from ._model import (
    BATCH_NODES,
    build_network,
    export_state,
    link_density,
    network_config,
    node_inputs,
)


def ground_truth_density(level: Level, node_labels: np.ndarray) -> np.ndarray:
    """Signed similarity average: + for same-class neighbors, - otherwise."""
    same = node_labels[level.indices] == node_labels[:, None]
    signed = np.where(same, 1.0, -1.0) * np.maximum(level.similarities, 0.0)
    return signed.mean(axis=1).astype(np.float32)


def ground_truth_scorer(y: np.ndarray):
    """Scorer that decodes with the labels: link score = similarity, density
    = :func:`ground_truth_density`; a supernode carries its peak's label."""

    def score(level: Level) -> tuple[np.ndarray, np.ndarray]:
        return level.similarities, ground_truth_density(level, y[level.peak_rows])

    return score


@dataclass
class TrainingGraph:
    """Tensors of one level graph, ready for mini-batches."""

    node_in: torch.Tensor
    pair: torch.Tensor
    indices: torch.Tensor
    similarities: torch.Tensor
    same_class: torch.Tensor
    towards_denser: torch.Tensor
    density: torch.Tensor

    @property
    def n_nodes(self) -> int:
        return self.node_in.shape[0]


def _training_graph(level, node_labels, architecture) -> TrainingGraph:
    density = ground_truth_density(level, node_labels)
    return TrainingGraph(
        node_in=torch.from_numpy(node_inputs(level, architecture)),
        pair=torch.from_numpy(level.pair_features()),
        indices=torch.from_numpy(level.indices),
        similarities=torch.from_numpy(level.similarities),
        same_class=torch.from_numpy(node_labels[level.indices] == node_labels[:, None]),
        towards_denser=torch.from_numpy(density[level.indices] > density[:, None]),
        density=torch.from_numpy(density),
    )


def ground_truth_hierarchy(
    X: np.ndarray,
    y: np.ndarray,
    *,
    train_n_neighbors: tuple,
    train_levels: int,
    metric: str,
    random_state,
    architecture: str,
    verbose: bool = False,
) -> list[TrainingGraph]:
    """Level graphs built from labels, for every ``k`` in ``train_n_neighbors``.

    One kNN search at the largest ``k`` serves every ``k``: the graph of a
    smaller ``k`` is the first columns of the sorted neighbor lists.
    """
    graphs = []
    widest = GraphSearch(
        max(train_n_neighbors), metric, random_state, verbose=verbose
    ).first_level(X)
    for k in train_n_neighbors:
        levels = iter_levels(
            X,
            ground_truth_scorer(y),
            threshold=0.0,
            search=GraphSearch(k, metric, random_state),
            max_levels=train_levels,
            early_stopping=False,
            first=with_fewer_neighbors(widest, k),
        )
        graphs.extend(
            _training_graph(decoded.level, y[decoded.level.peak_rows], architecture)
            for decoded in levels
            if decoded.level.n_neighbors > 0
        )
    return graphs


def training_loss(net, graph: TrainingGraph, seeds: torch.Tensor):
    """The loss of one mini-batch of seed nodes, and its two parts.

    Link loss: binary cross-entropy on the edges towards denser neighbors
    (by ground-truth density), positives and negatives weighted equally.
    Density loss: squared error of the density head against the ground
    truth. Returns ``(link + density, link, density)``.
    """
    neighbors = graph.indices[seeds]
    logits = net(graph.node_in[seeds], graph.node_in[neighbors], graph.pair[seeds])
    density = link_density(graph.similarities[seeds], torch.sigmoid(logits))
    mask = graph.towards_denser[seeds]
    masked_logits, same = logits[mask], graph.same_class[seeds][mask].float()
    if masked_logits.numel() == 0:
        link_loss = masked_logits.sum()
    else:
        n_pos = same.sum()
        n_neg = same.numel() - n_pos
        weight = torch.where(
            same > 0, 0.5 / n_pos.clamp(min=1), 0.5 / n_neg.clamp(min=1)
        ) * (2.0 if n_pos > 0 and n_neg > 0 else 1.0)
        per_edge = torch.nn.functional.binary_cross_entropy_with_logits(
            masked_logits, same, reduction="none"
        )
        link_loss = (weight * per_edge).sum()
    density_loss = torch.mean((density - graph.density[seeds]) ** 2)
    return link_loss + density_loss, link_loss, density_loss


def train_network(
    graphs: list[TrainingGraph],
    *,
    architecture: str,
    hidden_size: int,
    max_iter: int,
    learning_rate: float,
    weight_decay: float,
    random_state: int,
    device: str = "cpu",
    on_epoch=None,
):
    """Train a network on level graphs; returns (config, numpy state, history).

    One epoch visits every node of every graph once, in mini-batches; graphs
    are interleaved so that small upper levels are seen throughout training.
    ``random_state`` (an int) seeds initialisation and batch order.
    """
    generator = torch.Generator().manual_seed(random_state)
    config = network_config(architecture, graphs[0].node_in.shape[1], hidden_size)
    net = build_network(config, generator).to(device)
    graphs = [
        TrainingGraph(**{k: v.to(device) for k, v in vars(g).items()}) for g in graphs
    ]
    optimiser = torch.optim.Adam(
        net.parameters(), lr=learning_rate, weight_decay=weight_decay
    )
    steps_per_epoch = sum(-(-g.n_nodes // BATCH_NODES) for g in graphs)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser,
        T_max=max(1, max_iter * steps_per_epoch),
        eta_min=learning_rate / 100,
    )
    history = []
    net.train()
    for epoch in range(max_iter):
        batches = []
        for g_id, g in enumerate(graphs):
            order = torch.randperm(g.n_nodes, generator=generator).to(device)
            batches += [(g_id, s) for s in torch.split(order, BATCH_NODES)]
        shuffle = torch.randperm(len(batches), generator=generator).tolist()
        link_total = density_total = 0.0
        for b in shuffle:
            g_id, seeds = batches[b]
            loss, link_loss, density_loss = training_loss(net, graphs[g_id], seeds)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            link_total += link_loss.item()
            density_total += density_loss.item()
        record = {
            "epoch": epoch + 1,
            "link_loss": link_total / len(batches),
            "density_loss": density_total / len(batches),
        }
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return config, export_state(net), history


def meta_train(
    X: np.ndarray,
    y: np.ndarray,
    *,
    metric: str,
    train_n_neighbors: tuple,
    train_levels: int,
    architecture: str,
    random_state: int,
    on_epoch=None,
    verbose: bool = False,
    **training,
):
    """Ground-truth hierarchies of labelled prepared features, then training.

    ``training`` holds the keyword arguments of :func:`train_network`
    (``hidden_size``, ``max_iter``, ``learning_rate``, ``weight_decay``,
    ``device``). A pure function of its arguments (``on_epoch`` and
    ``verbose`` only report, and stay named arguments so that the cache can
    ignore them), so that ``joblib.Memory`` can cache it: grid points that
    change only inference-time parameters reuse the trained weights.
    """
    graphs = ground_truth_hierarchy(
        X,
        y,
        train_n_neighbors=train_n_neighbors,
        train_levels=train_levels,
        metric=metric,
        random_state=random_state,
        architecture=architecture,
        verbose=verbose,
    )
    return train_network(
        graphs,
        architecture=architecture,
        random_state=random_state,
        on_epoch=on_epoch,
        **training,
    )
