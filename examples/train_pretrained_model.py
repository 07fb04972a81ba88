"""Train the general-purpose network bundled for clustering without labels.

HiLanderClustering's network reads only class-blind kNN geometry
(similarities, ranks, shared neighbors, density profiles), never raw
coordinates, so one network serves any feature dimension. This script trains
it on varied synthetic embedding sets (dimensions 8 to 128, tight to loose
classes, few to many look-alike classes) plus Omniglot features of the
meta-training alphabets, picks the link threshold with the best mean BCubed F
over those sets, and writes ``sklearn_hilander/data/pretrained_network.npz``.

Run: ``python examples/train_pretrained_model.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sklearn_hilander._graph import normalize_rows  # noqa: E402
from sklearn_hilander._model import load_network  # noqa: E402
from sklearn_hilander._pretrained import PRETRAINED_PATH, save_network  # noqa: E402
from sklearn_hilander._train import (  # noqa: E402
    calibrate_threshold,
    ground_truth_hierarchy,
    network_scorer,
    train_network,
)
from sklearn_hilander.datasets import (  # noqa: E402
    load_omniglot_features,
    make_embeddings,
)

N_NEIGHBORS = 10
SEED = 0


def training_sets():
    rng = np.random.RandomState(SEED)
    sets = []
    for dim in (8, 16, 32, 64, 128):
        for spread, family_angle in ((0.6, 0.8), (1.0, 0.55)):
            X, y = make_embeddings(
                int(rng.randint(100, 250)),
                dim,
                spread=spread * np.sqrt(dim / 64) ** 0.5,
                family_angle=family_angle,
                random_state=rng,
            )
            sets.append((f"synthetic d={dim} spread={spread}", X, y))
    data = load_omniglot_features()
    rows = data["meta_train"]
    sets.append(("omniglot meta-train", data["features"][rows], data["label"][rows]))
    return sets


def main():
    sets = [(name, normalize_rows(X), y) for name, X, y in training_sets()]
    graphs = []
    for name, X, y in sets:
        graphs += ground_truth_hierarchy(
            X,
            y,
            neighbor_schedule=(N_NEIGHBORS, N_NEIGHBORS // 2, N_NEIGHBORS // 3),
            n_levels=3,
            metric="cosine",
            random_state=SEED,
            architecture="lander",
        )
        print(f"{name}: {len(X)} points, {len(set(y))} classes", flush=True)
    config, state, history = train_network(
        graphs,
        architecture="lander",
        hidden=64,
        max_epochs=10,
        learning_rate=3e-3,
        weight_decay=1e-4,
        seed=SEED,
        on_epoch=lambda r: print(r, flush=True),
    )
    scorer = network_scorer(load_network(config, state), "lander")
    threshold, per_set = calibrate_threshold(
        [(X, y) for _, X, y in sets], scorer, n_neighbors=N_NEIGHBORS, metric="cosine"
    )
    for (name, _, _), score in zip(sets, per_set):
        print(f"  Fb at threshold {threshold:.3f}: {score:.3f}  {name}")
    save_network(PRETRAINED_PATH, config, state, threshold)
    print(f"wrote {PRETRAINED_PATH} (threshold {threshold:.3f})")


if __name__ == "__main__":
    main()
