"""
Clusters per level of the hierarchy
===================================

Hi-LANDER clusters in levels: the first level links points into small trees,
then every cluster becomes one node and the same step runs again on the
clusters, until a level adds no link. ``n_clusters_per_level_`` records how
many clusters were left after each level.

Here the estimator is meta-trained on synthetic embeddings of 200 classes and
clusters embeddings of 150 other classes. The left panel shows how the number
of clusters falls level by level (the dashed line is the true number of
classes); the right panel stops the hierarchy after each level
(``max_levels``) to show what every level buys: recall rises as pieces of one
class merge, for a smaller loss in precision.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_precision_recall_f

X_train, y_train = make_embeddings(n_classes=200, n_features=32, random_state=0)
X_new, y_new = make_embeddings(n_classes=150, n_features=32, random_state=1)
n_classes = np.unique(y_new).size

est = HiLanderClustering(random_state=0).fit(X_train, y_train)
labels = est.fit_predict(X_new)
per_level = est.n_clusters_per_level_
print(f"{X_new.shape[0]} points of {n_classes} classes")
print(f"clusters after each level: {per_level} ({est.n_levels_} levels)")

# %%
# Stopping after each level
# -------------------------
#
# ``max_levels`` caps the hierarchy; the trained network is reused.

levels = np.arange(1, len(per_level) + 1)
bcubed = []
for depth in levels:
    labels = est.set_params(max_levels=int(depth)).fit_predict(X_new)
    bcubed.append(bcubed_precision_recall_f(y_new, labels))
    print(
        f"max_levels={depth}: {est.n_clusters_} clusters, BCubed P / R / F = "
        + " / ".join(f"{s:.3f}" for s in bcubed[-1])
    )
precision, recall, f = np.array(bcubed).T

# %%
# The picture
# -----------

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
steps = ["points", *(f"level {i}" for i in levels)]
counts = [X_new.shape[0], *per_level]
bars = left.bar(steps, counts, color=["lightgrey"] + ["tab:blue"] * len(per_level))
left.bar_label(bars, fontsize=9)
left.axhline(n_classes, color="tab:red", ls="--", lw=1.5)
left.annotate(
    f"true number of classes: {n_classes}",
    xy=(-0.4, n_classes),
    xytext=(0, -12),
    textcoords="offset points",
    color="tab:red",
    fontsize=9,
    bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1),
)
left.set_yscale("log")
left.set_ylim(n_classes / 2, counts[0] * 2)
left.set_ylabel("clusters left (log scale)")
left.set_title("n_clusters_per_level_ on unseen classes")

right.plot(levels, precision, "o-", label="BCubed precision")
right.plot(levels, recall, "s-", label="BCubed recall")
right.plot(levels, f, "D--", color="black", label="BCubed F")
right.set_xticks(levels)
right.set_xlabel("max_levels (levels run)")
right.set_ylim(0, 1.02)
right.set_title("Quality after each level, unseen classes")
right.legend(loc="lower right", fontsize=9)
right.grid(alpha=0.3)
fig.tight_layout()
plt.show()
