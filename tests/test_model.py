"""Networks: the architecture registry, configs naming their inputs, files."""

import json

import numpy as np
import pytest
import torch

from sklearn_hilander._level import NODE_DESCRIPTORS, PAIR_FEATURES
from sklearn_hilander._model import (
    ARCHITECTURES,
    build_network,
    export_state,
    load_network,
    network_config,
)
from sklearn_hilander._pretrained import PRETRAINED_PATH, read_network


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_config_round_trip_rebuilds_the_same_network(architecture):
    config = network_config(architecture, 5, 8)
    assert config["pair_features"] == list(PAIR_FEATURES)
    assert config["node_descriptors"] == list(NODE_DESCRIPTORS)
    net = build_network(config, torch.Generator().manual_seed(0))
    again = load_network(json.loads(json.dumps(config)), export_state(net))
    for key, value in net.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value)


def test_a_network_with_other_pair_features_is_refused():
    config = network_config("lander", 5, 8)
    state = export_state(build_network(config, torch.Generator().manual_seed(0)))
    config["pair_features"] = list(PAIR_FEATURES)[:-1] + ["something_new"]
    with pytest.raises(ValueError, match="re-fit it"):
        load_network(config, state)


def test_format_1_files_are_read_as_today(tmp_path):
    # a file as the previous version wrote it: "hidden", no input names and
    # the "neighbour_in" layer
    config, state, threshold = read_network(PRETRAINED_PATH)
    old = {
        "architecture": config["architecture"],
        "n_node_inputs": config["n_node_inputs"],
        "n_pair_features": len(config["pair_features"]),
        "hidden": config["hidden_size"],
    }
    meta = {"format": 1, "config": old, "threshold": threshold, "params": {}}
    weights = {
        "weight/" + k.replace("neighbor_in", "neighbour_in"): v
        for k, v in state.items()
    }
    path = tmp_path / "old.npz"
    np.savez(path, __meta__=np.array(json.dumps(meta)), **weights)
    config1, state1, threshold1 = read_network(path)
    assert config1 == config and threshold1 == threshold
    assert all(np.array_equal(state1[k], v) for k, v in state.items())
