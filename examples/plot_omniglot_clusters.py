"""
Clustering Omniglot characters never seen
=========================================

Meta-train :class:`~sklearn_hilander.HiLanderClustering` on labelled
Omniglot characters, then cluster the handwritten characters of the 20
*evaluation* alphabets, which neither the image encoder nor the clusterer has
seen, and look at what ended up together.

Each row of the first figure is one predicted cluster, with up to ten of its
images. Images of the character most common in the cluster have no frame;
images of any other character have a red frame, so merges of look-alike
characters stand out. The second figure shows the opposite and more common
failure: one character over-split across several clusters.
"""

# %%
# Features and the split
# ----------------------
#
# :func:`~sklearn_hilander.datasets.load_omniglot_features` embeds the 32,460
# bundled images with a small CNN trained on 15 background alphabets, and
# marks the rows to meta-train on (the other 15 background alphabets) and the
# 20 evaluation alphabets. :func:`~sklearn_hilander.datasets.load_omniglot`
# gives the images, in the same row order.

import matplotlib.pyplot as plt
import numpy as np

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_omniglot, load_omniglot_features
from sklearn_hilander.metrics import (
    bcubed_precision_recall_f,
    pairwise_precision_recall_f,
)

features = load_omniglot_features()
omniglot = load_omniglot()
X, y = features["features"], features["label"]
train, unseen = features["meta_train"], features["evaluation"]
print(f"meta-train: {train.sum()} images of {np.unique(y[train]).size} characters")
print(f"unseen:     {unseen.sum()} images of {np.unique(y[unseen]).size} characters")

# %%
# Meta-train, then cluster the unseen alphabets
# ---------------------------------------------
#
# ``fit`` with labels trains the network and calibrates the link threshold;
# ``fit_predict`` without labels clusters new data with that network.

est = HiLanderClustering(random_state=0).fit(X[train], y[train])
labels = est.fit_predict(X[unseen])
y_unseen = y[unseen]

p, r, f = pairwise_precision_recall_f(y_unseen, labels)
bp, br, bf = bcubed_precision_recall_f(y_unseen, labels)
print(f"threshold_ = {est.threshold_:.3f}, {est.n_clusters_} clusters")
print(f"pairwise P / R / F = {p:.3f} / {r:.3f} / {f:.3f}")
print(f"BCubed   P / R / F = {bp:.3f} / {br:.3f} / {bf:.3f}")

# %%
# Eight clusters, drawn
# ---------------------
#
# Eight clusters of at least five images, drawn at random, ordered from the
# purest to the most mixed.

images = omniglot["images"][unseen]
class_names = omniglot["class_names"]
rng = np.random.RandomState(0)
sizes = np.bincount(labels)
candidates = np.flatnonzero(sizes >= 5)
chosen = rng.choice(candidates, size=8, replace=False)


def majority(cluster):
    members = np.flatnonzero(labels == cluster)
    characters, counts = np.unique(y_unseen[members], return_counts=True)
    return members, characters[np.argmax(counts)], counts.max() / members.size


chosen = sorted(chosen, key=lambda c: -majority(c)[2])

n_cols, cell = 10, 32  # 28x28 images in 32x32 cells, the margin is the frame
canvas = np.ones((len(chosen) * cell, n_cols * cell, 3))
row_names = []
for row, cluster in enumerate(chosen):
    members, character, purity = majority(cluster)
    shown = rng.permutation(members)[:n_cols]
    for col, index in enumerate(shown):
        top, left = row * cell, col * cell
        if y_unseen[index] != character:
            canvas[top + 1 : top + cell - 1, left + 1 : left + cell - 1] = (
                0.85,
                0.1,
                0.1,
            )
        ink = images[index] / 255.0
        canvas[top + 2 : top + 30, left + 2 : left + 30] = 1.0 - ink[:, :, None]
    alphabet = class_names[character].split("/")[0].replace("_", " ")
    row_names.append(f"{members.size} images\n{purity:.0%} one {alphabet} letter")


def draw(canvas, row_names, title):
    """The canvas with one labelled row per cluster; constrained layout
    leaves room for the two-line row labels."""
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(row_names) + 1), layout="constrained")
    ax.imshow(canvas, interpolation="nearest")
    ax.set_yticks(np.arange(len(row_names)) * cell + cell / 2)
    ax.set_yticklabels(row_names, fontsize=8)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=10)
    plt.show()


draw(
    canvas,
    row_names,
    f"Unseen Omniglot alphabets: 8 of {est.n_clusters_} predicted clusters\n"
    "(red frame: not the cluster's most common character)",
)

# %%
# One character, over-split
# -------------------------
#
# Merging look-alikes is not the usual failure: more clusters are predicted
# than there are characters, so many characters are split. Here is the
# character whose 20 images went to the most clusters, one row per cluster
# (up to six), with the cluster's other members in a red frame.

n_parts = np.array([np.unique(labels[y_unseen == c]).size for c in np.unique(y_unseen)])
split = np.unique(y_unseen)[np.argmax(n_parts)]
parts = np.unique(labels[y_unseen == split])[:6]
canvas = np.ones((len(parts) * cell, n_cols * cell, 3))
row_names = []
for row, cluster in enumerate(parts):
    members = np.flatnonzero(labels == cluster)
    own = members[y_unseen[members] == split]
    # the character's own images first, then the cluster's other members
    shown = np.r_[own, rng.permutation(members[y_unseen[members] != split])]
    for col, index in enumerate(shown[:n_cols]):
        top, left = row * cell, col * cell
        if y_unseen[index] != split:
            canvas[top + 1 : top + cell - 1, left + 1 : left + cell - 1] = (
                0.85,
                0.1,
                0.1,
            )
        ink = images[index] / 255.0
        canvas[top + 2 : top + 30, left + 2 : left + 30] = 1.0 - ink[:, :, None]
    row_names.append(f"cluster of {members.size}\n{own.size} of this character")

alphabet = class_names[split].split("/")[0].replace("_", " ")
draw(
    canvas,
    row_names,
    f"One {alphabet} character split over {n_parts.max()} clusters\n"
    "(red frame: another character in the same cluster)",
)
