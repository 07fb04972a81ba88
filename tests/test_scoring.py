"""Scoring: the blocked inference path against the training forward."""

import numpy as np
import pytest
import torch

from sklearn_hilander import _scoring
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander._model import (
    build_network,
    export_state,
    link_density,
    network_config,
    node_inputs,
)
from sklearn_hilander._scoring import network_scorer, resolve_device
from sklearn_hilander.datasets import make_embeddings


@pytest.mark.parametrize("architecture", ["lander", "paper"])
def test_blocked_scorer_matches_the_training_forward(architecture, monkeypatch):
    # blocks smaller than the level, so the block seams are crossed
    monkeypatch.setattr(_scoring, "INFERENCE_NODES", 7)
    # inference projects nodes once (node_terms) and edges per block; it must
    # give what the training path's forward gives on the same level
    X, _ = make_embeddings(20, 8, random_state=0)
    level = GraphSearch(5, "cosine").first_level(normalize_rows(X))
    node_in = node_inputs(level, architecture)
    config = network_config(architecture, node_in.shape[1], 16)
    net = build_network(config, torch.Generator().manual_seed(0)).eval()
    probs, density = network_scorer(config, export_state(net))(level)
    with torch.no_grad():
        logits = net(
            torch.from_numpy(node_in),
            torch.from_numpy(node_in[level.indices]),
            torch.from_numpy(level.pair_features()),
        )
        expected = torch.sigmoid(logits)
        expected_density = link_density(torch.from_numpy(level.similarities), expected)
    np.testing.assert_allclose(probs, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(density, expected_density.numpy(), rtol=1e-5, atol=1e-6)


def test_device_rule():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='auto'"):
            resolve_device("cuda")
