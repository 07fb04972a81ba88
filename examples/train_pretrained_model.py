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

import numpy as np

from sklearn_hilander._calibrate import calibrate_thresholds
from sklearn_hilander._graph import normalize_rows
from sklearn_hilander._level import GraphSearch
from sklearn_hilander._pretrained import PRETRAINED_PATH, save_network
from sklearn_hilander._scoring import network_scorer
from sklearn_hilander._train import ground_truth_hierarchy, train_network
from sklearn_hilander.datasets import (
    load_omniglot_features,
    make_embeddings,
)

N_NEIGHBORS = 10
SEED = 0
REGIME_SEED = 123


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
    # the regimes the sets above miss, each in two dimensions: classes of
    # about three points (identities with one or two photos), classes of
    # about a hundred (intents, topics), and families of look-alike classes
    regimes = np.random.RandomState(REGIME_SEED)
    for name, dims, n_classes, spread, knobs in (
        (
            "tiny",
            (16, 64),
            (500, 900),
            0.8,
            {"mean_class_size": 3, "size_dispersion": 0.4},
        ),
        (
            "large",
            (32, 128),
            (20, 40),
            0.9,
            {"mean_class_size": 120, "size_dispersion": 0.4},
        ),
        ("look-alike", (32, 64), (150, 250), 0.9, {"family_angle": 0.45}),
    ):
        for dim in dims:
            X, y = make_embeddings(
                int(regimes.randint(*n_classes)),
                dim,
                spread=spread * np.sqrt(dim / 64) ** 0.5,
                random_state=regimes,
                **knobs,
            )
            sets.append((f"synthetic d={dim} {name} classes", X, y))
    return sets


def main():
    sets = [(name, normalize_rows(X), y) for name, X, y in training_sets()]
    graphs = []
    for name, X, y in sets:
        graphs += ground_truth_hierarchy(
            X,
            y,
            train_n_neighbors=(N_NEIGHBORS, N_NEIGHBORS // 2, N_NEIGHBORS // 3),
            train_levels=3,
            metric="cosine",
            random_state=SEED,
            architecture="lander",
        )
        print(f"{name}: {len(X)} points, {len(set(y))} classes", flush=True)
    config, state, history = train_network(
        graphs,
        architecture="lander",
        hidden_size=64,
        max_iter=10,
        learning_rate=3e-3,
        weight_decay=1e-4,
        random_state=SEED,
        on_epoch=lambda r: print(r, flush=True),
    )
    scorer = network_scorer(config, state)
    # The link threshold and the merge graph are those of the pair of
    # thresholds with the best mean score over these sets. No merge
    # threshold is stored: one learned on these sets fits some regimes and
    # wrecks others (tiny classes want no merging, intents far more than
    # the rest), so each input gets its own, chosen without labels
    # (_decode.reproducible_threshold).
    threshold, _, merge_n_neighbors, per_set = calibrate_thresholds(
        [(X, y) for _, X, y in sets],
        scorer,
        search=GraphSearch(N_NEIGHBORS, "cosine"),
    )
    for (name, _, _), score in zip(sets, per_set):
        print(f"  mean of Fb and Fp with the best pair: {score:.3f}  {name}")
    params = {
        "n_neighbors": N_NEIGHBORS,
        "metric": "cosine",
        "merge_threshold_curve": [],
        "merge_n_neighbors": int(merge_n_neighbors),
    }
    save_network(PRETRAINED_PATH, config, state, threshold, params)
    print(
        f"wrote {PRETRAINED_PATH} (link threshold {threshold:.4f}, merge graph "
        f"{merge_n_neighbors} neighbors, merge threshold chosen per input)"
    )


if __name__ == "__main__":
    main()
