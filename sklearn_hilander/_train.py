"""Meta-training: ground-truth hierarchies, the training loop, network scoring.

The training set of graphs is Hi-LANDER's: for each ``k`` in the schedule, the
kNN graph of the labelled points and the levels above it, built by decoding
with ground-truth densities. Edges towards denser neighbors carry the link
loss (class-balanced), every node the density loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from ._decode import decode
from ._level import Level, first_level, with_fewer_neighbors
from ._model import build_network, export_state, link_density, network_config
from .metrics import bcubed_f_score

# calibrate_threshold searches thresholds in logit space, where useful values
# of sharp networks spread out: a coarse sweep, then a fine one around the
# best coarse value.
COARSE_LOGITS = np.arange(-3.0, 6.01, 0.5)
FINE_LOGIT_STEP = 0.1

# Nodes per network call, in training (seed nodes per optimisation step) and
# at inference: memory per call is bounded by this times k, whatever the size
# of the graph, and at k = 10 each (edges, hidden) activation stays near
# 2.6 MB, in cache (8,192-node calls ran the same network 1.5 to 2 times
# slower on 300k points).
BATCH_NODES = 1024
# Nodes per inference task: the unit a distributed joblib backend ships.
INFERENCE_NODES = 8192
# The threshold search decodes the labelled set a few dozen times; above this
# many points it runs on randomly drawn whole classes, which keeps each class's
# neighborhoods intact and the search's cost independent of n.
CALIBRATION_MAX_SAMPLES = 30_000


def ground_truth_density(level: Level, node_labels: np.ndarray) -> np.ndarray:
    """Signed similarity average: + for same-class neighbors, - otherwise."""
    same = node_labels[level.indices] == node_labels[:, None]
    signed = np.where(same, 1.0, -1.0) * np.maximum(level.similarities, 0.0)
    return signed.mean(axis=1).astype(np.float32)


def node_inputs(level: Level, architecture: str) -> np.ndarray:
    """What the graph conv reads: raw coordinates for the paper's network,
    class-blind descriptors for ours ("pairs" ablates them to a constant)."""
    if architecture == "paper":
        return level.coordinate_inputs()
    if architecture == "pairs":
        return np.zeros((level.n_nodes, 1), dtype=np.float32)
    return level.node_descriptors()


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
    X,
    y,
    *,
    neighbor_schedule,
    n_levels,
    metric,
    random_state,
    architecture,
    verbose=False,
) -> list[TrainingGraph]:
    """Level graphs built from labels, for every ``k`` in the schedule.

    One kNN search at the largest ``k`` serves every ``k``: the graph of a
    smaller ``k`` is the first columns of the sorted neighbor lists.
    """
    graphs = []
    widest = first_level(
        X,
        n_neighbors=max(neighbor_schedule),
        metric=metric,
        random_state=random_state,
        verbose=verbose,
    )
    for k in neighbor_schedule:
        level0 = with_fewer_neighbors(widest, k)
        captured = []

        def gt_scorer(level, captured=captured):
            # a supernode carries its peak's label
            node_labels = y[level.peak_rows]
            captured.append((level, node_labels))
            return level.similarities, ground_truth_density(level, node_labels)

        decode(
            X,
            gt_scorer,
            threshold=0.0,
            n_neighbors=k,
            metric=metric,
            max_levels=n_levels,
            early_stop=False,
            random_state=random_state,
            level0=level0,
        )
        graphs.extend(
            _training_graph(level, labels, architecture)
            for level, labels in captured
            if level.n_neighbors > 0
        )
    return graphs


def _balanced_link_loss(logits, same, mask):
    """BCE on masked edges with positives and negatives weighted equally."""
    logits, same = logits[mask], same[mask].float()
    if logits.numel() == 0:
        return logits.sum()
    n_pos = same.sum()
    n_neg = same.numel() - n_pos
    weight = torch.where(
        same > 0, 0.5 / n_pos.clamp(min=1), 0.5 / n_neg.clamp(min=1)
    ) * (2.0 if n_pos > 0 and n_neg > 0 else 1.0)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, same, reduction="none"
    )
    return (weight * loss).sum()


def _forward(net, graph: TrainingGraph, seeds: torch.Tensor):
    nbr = graph.indices[seeds]
    logits = net(graph.node_in[seeds], graph.node_in[nbr], graph.pair[seeds])
    density = link_density(graph.similarities[seeds], torch.sigmoid(logits))
    return logits, density


def train_network(
    graphs: list[TrainingGraph],
    *,
    architecture: str,
    hidden: int,
    max_epochs: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    device: str = "cpu",
    on_epoch=None,
):
    """Train a network on level graphs; returns (config, numpy state, history).

    One epoch visits every node of every graph once, in mini-batches; graphs
    are interleaved so that small upper levels are seen throughout training.
    """
    generator = torch.Generator().manual_seed(seed)
    config = network_config(
        architecture, graphs[0].node_in.shape[1], graphs[0].pair.shape[2], hidden
    )
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
        T_max=max(1, max_epochs * steps_per_epoch),
        eta_min=learning_rate / 100,
    )
    history = []
    net.train()
    for epoch in range(max_epochs):
        batches = []
        for g_id, g in enumerate(graphs):
            order = torch.randperm(g.n_nodes, generator=generator).to(device)
            batches += [(g_id, s) for s in torch.split(order, BATCH_NODES)]
        shuffle = torch.randperm(len(batches), generator=generator).tolist()
        link_total = density_total = 0.0
        for b in shuffle:
            g_id, seeds = batches[b]
            g = graphs[g_id]
            logits, density = _forward(net, g, seeds)
            link_loss = _balanced_link_loss(
                logits, g.same_class[seeds], g.towards_denser[seeds]
            )
            density_loss = torch.mean((density - g.density[seeds]) ** 2)
            loss = link_loss + density_loss
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
    X,
    y,
    *,
    metric: str,
    neighbor_schedule: tuple,
    n_levels: int,
    architecture: str,
    seed: int,
    on_epoch=None,
    verbose: bool = False,
    **training,
):
    """Ground-truth hierarchies of labelled prepared features, then training.

    ``training`` holds the keyword arguments of :func:`train_network`
    (``hidden``, ``max_epochs``, ``learning_rate``, ``weight_decay``,
    ``device``). A pure function of its arguments (``on_epoch`` and
    ``verbose`` only report, and stay named arguments so that the cache can
    ignore them), so
    that ``joblib.Memory`` can cache it: grid points that change only
    inference-time parameters reuse the trained weights.
    """
    graphs = ground_truth_hierarchy(
        X,
        y,
        neighbor_schedule=neighbor_schedule,
        n_levels=n_levels,
        metric=metric,
        random_state=seed,
        architecture=architecture,
        verbose=verbose,
    )
    return train_network(
        graphs, architecture=architecture, seed=seed, on_epoch=on_epoch, **training
    )


def network_scorer(net, architecture: str, device: str = "cpu"):
    """Scorer for :func:`decode` that runs ``net`` over a level in blocks.

    Two rounds of independent joblib tasks, each carrying the network and
    its block's inputs (no global state): per block of nodes, their centre
    and neighbor terms; then per block of nodes, the logits of their
    in-edges from those terms (the neighbors' terms gathered on the client)
    and the pair features. Under a distributed joblib backend the blocks run
    on the workers; by default they run here.
    """

    def score(level: Level):
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
        return np.concatenate([p for p, _ in scored]), np.concatenate(
            [d for _, d in scored]
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


def cosine_scorer(level: Level):
    """The no-network control: link score = similarity, density = mean similarity."""
    return level.similarities, np.maximum(level.similarities, 0).mean(axis=1)


def _sigmoid(logit: float) -> float:
    return float(np.round(1 / (1 + np.exp(-logit)), 4))


def whole_class_subset(y: np.ndarray, max_samples: int, random_state) -> np.ndarray:
    """Rows of randomly drawn whole classes, at most ``max_samples`` of them
    (but at least one class); all rows when there are no more than that."""
    if y.shape[0] <= max_samples:
        return np.arange(y.shape[0])
    classes, counts = np.unique(y, return_counts=True)
    order = check_random_state(random_state).permutation(classes.size)
    fits = np.cumsum(counts[order]) <= max_samples
    fits[0] = True
    return np.flatnonzero(np.isin(y, classes[order[fits]]))


def calibrate_threshold(datasets, scorer, *, n_neighbors, metric, **decode_kw):
    """The link threshold with the best mean BCubed F over labelled sets.

    ``datasets`` is a list of ``(prepared features, classes)``; a set larger
    than ``CALIBRATION_MAX_SAMPLES`` is cut to whole classes drawn at random.
    Each set's first level is built once and shared by every threshold
    tried. Returns the threshold and each set's BCubed F at it.
    """
    subsets = [
        whole_class_subset(y, CALIBRATION_MAX_SAMPLES, decode_kw.get("random_state"))
        for _, y in datasets
    ]
    datasets = [(X[rows], y[rows]) for (X, y), rows in zip(datasets, subsets)]
    level0s = [
        first_level(
            X,
            n_neighbors=n_neighbors,
            metric=metric,
            random_state=decode_kw.get("random_state"),
        )
        for X, _ in datasets
    ]
    scores = {}

    def per_set(threshold):
        if threshold not in scores:
            scores[threshold] = [
                bcubed_f_score(
                    y,
                    decode(
                        X,
                        scorer,
                        threshold=threshold,
                        n_neighbors=n_neighbors,
                        metric=metric,
                        level0=level0,
                        **decode_kw,
                    ).labels,
                )
                for (X, y), level0 in zip(datasets, level0s)
            ]
        return scores[threshold]

    def mean_score(logit):
        return np.mean(per_set(_sigmoid(logit)))

    coarse = max(COARSE_LOGITS, key=mean_score)
    fine = np.arange(-4, 5) * FINE_LOGIT_STEP + coarse
    best = _sigmoid(max(fine, key=mean_score))
    return best, per_set(best)
