"""Meta-training: ground-truth density and hierarchy, the loss."""

import numpy as np
import torch

from sklearn_hilander._level import GraphSearch
from sklearn_hilander._model import build_network, network_config, node_inputs
from sklearn_hilander._train import (
    _training_graph,
    ground_truth_density,
    ground_truth_hierarchy,
    training_loss,
)

from .conftest import two_blobs


def test_ground_truth_density_sign_follows_labels():
    X, y = two_blobs()
    level = GraphSearch(5, "cosine").first_level(X)
    assert (ground_truth_density(level, y) > 0.9).all()
    noisy = y.copy()
    noisy[::2] = 1 - noisy[::2]
    assert ground_truth_density(level, noisy).mean() < 0.5


def test_ground_truth_hierarchy_levels_and_masks():
    X, y = two_blobs(40)
    graphs = ground_truth_hierarchy(
        X,
        y,
        train_n_neighbors=(6, 3),
        train_levels=3,
        metric="cosine",
        random_state=0,
        architecture="lander",
    )
    sizes = [g.n_nodes for g in graphs]
    # every k contributes a level-0 graph over all points, then smaller levels
    assert sizes.count(80) == 2 and len(graphs) > 2
    for g in graphs:
        denser = g.density[g.indices] > g.density[:, None]
        assert (g.towards_denser == denser).all()
    assert all(g.same_class.float().mean() > 0.9 for g in graphs if g.n_nodes == 80)


def test_loss_balances_classes_and_falls_with_training():
    X, y = two_blobs(20)
    level = GraphSearch(5, "cosine").first_level(X)
    y = y.copy()
    y[::7] = 1 - y[::7]  # some cross-class edges, so both classes are present
    graph = _training_graph(level, y, "lander")
    node_in = node_inputs(level, "lander")
    config = network_config("lander", node_in.shape[1], 8)
    net = build_network(config, torch.Generator().manual_seed(0))
    seeds = torch.arange(graph.n_nodes)
    total, link, density = training_loss(net, graph, seeds)
    assert torch.isclose(total, link + density)
    # the link loss is a class-balanced BCE, positives and negatives each
    # weighing 1: a constant logit 0 gives 2 log 2
    zero = build_network(config, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in zero.parameters():
            p.zero_()
    _, link0, _ = training_loss(zero, graph, seeds)
    assert abs(link0.item() - 2 * np.log(2)) < 1e-5
    # a few steps of training lower it
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(30):
        optimiser.zero_grad()
        training_loss(net, graph, seeds)[0].backward()
        optimiser.step()
    assert training_loss(net, graph, seeds)[1].item() < link.item()
