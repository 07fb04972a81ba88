import numpy as np
import pytest

from sklearn_hilander._decode import (
    canonical_labels,
    decode,
    forest_components,
    select_parents,
)
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import first_level
from sklearn_hilander._train import (
    cosine_scorer,
    ground_truth_density,
    ground_truth_hierarchy,
)
from sklearn_hilander.datasets import make_embeddings


def test_parent_is_the_best_scoring_denser_neighbor_ties_by_index():
    indices = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    scores = np.array(
        [[0.9, 0.8, 0.95], [0.9, 0.2, 0.1], [0.6, 0.7, 0.1], [0.99, 0.99, 0.99]]
    )
    density = np.array([0.1, 0.5, 0.5, 0.2])
    parents = select_parents(indices, scores, density, threshold=0.5)
    # node 0: neighbor 3 scores best and is denser
    # node 1: nobody denser (node 2 ties but comes later), so it is a peak
    # node 2: ties with node 1, which comes first and so counts as denser
    # node 3: 1 and 2 are denser with equal scores; first in the list wins
    np.testing.assert_array_equal(parents, [3, -1, 1, 1])


def test_all_equal_densities_still_give_a_forest():
    indices = np.array([[1, 2], [2, 0], [0, 1]])
    parents = select_parents(indices, np.ones((3, 2)), np.zeros(3), threshold=0.5)
    # a strict order on (density, index): everyone joins node 0, no cycle
    np.testing.assert_array_equal(parents, [-1, 0, 0])


def test_threshold_is_strict_and_blocks_links():
    indices = np.array([[1], [0]])
    scores = np.array([[0.5], [0.5]])
    parents = select_parents(indices, scores, np.array([0.0, 1.0]), threshold=0.5)
    np.testing.assert_array_equal(parents, [-1, -1])


def test_forest_components_number_trees_by_root():
    parent = np.array([-1, 0, 1, -1, 3, 0])
    component, roots = forest_components(parent)
    np.testing.assert_array_equal(roots, [0, 3])
    np.testing.assert_array_equal(component, [0, 0, 0, 1, 1, 0])


def _two_blobs(n=30, seed=0):
    rng = np.random.RandomState(seed)
    a = normalize_rows(np.array([1, 0, 0]) + 0.05 * rng.randn(n, 3))
    b = normalize_rows(np.array([0, 1, 0]) + 0.05 * rng.randn(n, 3))
    return np.vstack([a, b]), np.repeat([0, 1], n)


def test_decode_separates_blobs_and_merges_over_levels():
    X, y = _two_blobs()
    h = decode(X, cosine_scorer, threshold=0.5, n_neighbors=5, metric="cosine")
    assert len(set(h.labels[y == 0]) & set(h.labels[y == 1])) == 0
    assert len(set(h.labels)) == 2
    assert h.n_clusters_per_level == sorted(h.n_clusters_per_level, reverse=True)
    # each cluster's peak is one of its members
    assert all(h.labels[p] == c for c, p in enumerate(h.peaks))


def test_decode_with_an_impossible_threshold_leaves_singletons():
    X, _ = _two_blobs()
    h = decode(X, cosine_scorer, threshold=1.0, n_neighbors=5, metric="cosine")
    assert h.n_levels == 0 and len(set(h.labels)) == len(X)


def test_max_levels_caps_the_hierarchy():
    X, _ = _two_blobs(60)
    full = decode(
        X,
        cosine_scorer,
        threshold=0.0,
        n_neighbors=3,
        metric="cosine",
        early_stop=False,
    )
    one = decode(
        X, cosine_scorer, threshold=0.0, n_neighbors=3, metric="cosine", max_levels=1
    )
    assert one.n_levels == 1 and full.n_levels > 1
    assert len(set(one.labels)) > len(set(full.labels))


def test_canonical_labels_ignore_row_order():
    X, _ = _two_blobs()
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 7, len(X)) * 3 + 5
    perm = rng.permutation(len(X))
    a = canonical_labels(labels, X)
    b = canonical_labels(labels[perm], X[perm])
    np.testing.assert_array_equal(a[perm], b)
    assert set(a) == set(range(len(set(labels))))


def test_ground_truth_density_sign_follows_labels():
    X, y = _two_blobs()
    from sklearn_hilander._level import first_level

    level = first_level(X, n_neighbors=5, metric="cosine")
    assert (ground_truth_density(level, y) > 0.9).all()
    noisy = y.copy()
    noisy[::2] = 1 - noisy[::2]
    assert ground_truth_density(level, noisy).mean() < 0.5


def test_ground_truth_hierarchy_levels_and_masks():
    X, y = _two_blobs(40)
    graphs = ground_truth_hierarchy(
        X,
        y,
        neighbor_schedule=(6, 3),
        n_levels=3,
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


@pytest.mark.parametrize("architecture", ["lander", "paper"])
def test_blocked_scorer_matches_the_training_forward(architecture):
    # inference projects nodes once (node_terms) and edges per block; it must
    # give what the training path's forward gives on the same level
    import torch

    from sklearn_hilander._model import build_network, link_density, network_config
    from sklearn_hilander._train import network_scorer, node_inputs

    X, _ = make_embeddings(20, 8, random_state=0)
    level = first_level(normalize_rows(X), n_neighbors=5, metric="cosine")
    node_in = node_inputs(level, architecture)
    config = network_config(architecture, node_in.shape[1], 9, 16)
    net = build_network(config, torch.Generator().manual_seed(0)).eval()
    probs, density = network_scorer(net, architecture)(level)
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
