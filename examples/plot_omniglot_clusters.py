"""
Clustering Omniglot characters never seen
=========================================

Meta-train :class:`~sklearn_hilander.HiLanderClustering` on labelled
Omniglot characters, then cluster the handwritten characters of the 20
*evaluation* alphabets, which neither the image encoder nor the clusterer has
seen, and look at what ended up together.

Each row of the figure is one predicted cluster, with up to ten of its images.
Images of the character most common in the cluster have no frame; images of
any other character have a red frame, so merges of look-alike characters
stand out.
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

fig, ax = plt.subplots(figsize=(8, 5.8))
ax.imshow(canvas, interpolation="nearest")
ax.set_yticks(np.arange(len(chosen)) * cell + cell / 2)
ax.set_yticklabels(row_names, fontsize=8)
ax.set_xticks([])
ax.tick_params(length=0)
for side in ax.spines.values():
    side.set_visible(False)
ax.set_title(
    f"Unseen Omniglot alphabets: 8 of {est.n_clusters_} predicted clusters\n"
    f"(red frame: not the cluster's most common character)",
    fontsize=10,
)
fig.tight_layout()
plt.show()
