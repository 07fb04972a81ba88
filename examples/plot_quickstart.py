"""
Quickstart: learned clustering against DBSCAN and HDBSCAN
=========================================================

The basic use in a few lines: meta-train on labelled classes, cluster classes
never seen, score. Alongside, the same unseen data clustered by
``HiLanderClustering()`` with its bundled network (no labels at all) and by
:class:`~sklearn.cluster.DBSCAN` and :class:`~sklearn.cluster.HDBSCAN` with
their default parameters.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score, pairwise_f_score

# labelled embeddings of 200 classes, and 150 other classes to cluster
X_train, y_train = make_embeddings(n_classes=200, n_features=64, random_state=0)
X_new, y_new = make_embeddings(n_classes=150, n_features=64, random_state=1)

est = HiLanderClustering(random_state=0).fit(X_train, y_train)
labels = est.fit_predict(X_new)
print(f"{est.n_clusters_} clusters for {np.unique(y_new).size} unseen classes")
print(f"BCubed F: {est.score(X_new, y_new):.3f}")

# %%
# Against DBSCAN and HDBSCAN
# --------------------------
#
# DBSCAN and HDBSCAN label outliers ``-1``; they are counted as singletons
# here, as the package's benchmarks do.


def noise_as_singletons(labels):
    labels = labels.copy()
    noise = labels < 0
    labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    return labels


methods = {
    "HiLanderClustering\nmeta-trained": est,
    "HiLanderClustering()\nno labels": HiLanderClustering(),
    "DBSCAN()": DBSCAN(),
    # copy=True: the default changes in scikit-learn 1.10 and warns until then
    "HDBSCAN()": HDBSCAN(copy=True),
}
rows = []
for name, method in methods.items():
    labels = noise_as_singletons(method.fit_predict(X_new))
    rows.append(
        (
            name.replace("\n", " "),
            bcubed_f_score(y_new, labels),
            pairwise_f_score(y_new, labels),
            np.unique(labels).size,
        )
    )

print(f"{'method':<34} {'BCubed F':>9} {'pairwise F':>11} {'clusters':>9}")
for name, fb, fp, n in rows:
    print(f"{name:<34} {fb:>9.3f} {fp:>11.3f} {n:>9}")

# %%
# The scores, drawn
# -----------------

fig, ax = plt.subplots(figsize=(8, 4))
positions = np.arange(len(rows))
width = 0.38
fb_bars = ax.bar(positions - width / 2, [r[1] for r in rows], width, label="BCubed F")
fp_bars = ax.bar(positions + width / 2, [r[2] for r in rows], width, label="pairwise F")
ax.bar_label(fb_bars, fmt="%.2f", fontsize=9)
ax.bar_label(fp_bars, fmt="%.2f", fontsize=9)
ax.set_xticks(positions)
ax.set_xticklabels(list(methods), fontsize=9)
ax.set_ylim(0, 1)
ax.set_ylabel("score on unseen classes")
ax.set_title(f"{np.unique(y_new).size} unseen classes, 64-d synthetic embeddings")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()
