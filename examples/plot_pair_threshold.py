"""
Precision and recall against the link threshold
===============================================

A point joins a denser neighbor only if the network's link probability beats
``link_threshold``. A higher threshold splits more (pairs put together are
more often right: precision), a lower one merges more (more of the pairs that
belong together are found: recall). ``link_threshold="auto"`` lets ``fit``
choose the value with the best BCubed F-score on the labelled data; it is
kept in ``threshold_``.

This example meta-trains once on Omniglot, then sweeps the threshold while
clustering the characters of the unseen evaluation alphabets, and marks the
calibrated value.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_hilander import HiLanderClustering
from sklearn_hilander.datasets import load_omniglot_features
from sklearn_hilander.metrics import bcubed_f_score, pairwise_precision_recall_f

data = load_omniglot_features()
X, y = data["features"], data["label"]
train, unseen = data["meta_train"], data["evaluation"]

est = HiLanderClustering(random_state=0).fit(X[train], y[train])
calibrated = est.threshold_
print(f"threshold_ calibrated in fit: {calibrated:.3f}")

# %%
# One trained network, many thresholds
# ------------------------------------
#
# ``fit_predict(X)`` without labels keeps the trained network, so changing
# ``link_threshold`` with ``set_params`` only re-runs the clustering.

thresholds = np.round(np.linspace(0.5, 0.98, 13), 2)
scores = []
for threshold in thresholds:
    labels = est.set_params(link_threshold=threshold).fit_predict(X[unseen])
    precision, recall, f = pairwise_precision_recall_f(y[unseen], labels)
    scores.append((precision, recall, f, bcubed_f_score(y[unseen], labels)))
    print(
        f"threshold {threshold:.2f}: pairwise P {precision:.3f} R {recall:.3f} "
        f"F {f:.3f}, {est.n_clusters_} clusters"
    )
precision, recall, pairwise_f, bcubed_f = np.array(scores).T

labels = est.set_params(link_threshold="auto").fit_predict(X[unseen])
p_auto, r_auto, f_auto = pairwise_precision_recall_f(y[unseen], labels)

# %%
# The trade-off
# -------------

fig, ax = plt.subplots(figsize=(8.5, 4.5))
ax.plot(thresholds, precision, "o-", color="tab:blue", label="pairwise precision")
ax.plot(thresholds, recall, "s-", color="tab:orange", label="pairwise recall")
ax.plot(thresholds, pairwise_f, "--", color="tab:green", label="pairwise F")
ax.plot(thresholds, bcubed_f, ":", color="black", label="BCubed F")
ax.axvline(calibrated, color="grey", lw=1)
ax.plot([calibrated] * 2, [p_auto, r_auto], "D", color="grey")
ax.annotate(
    f"threshold_ = {calibrated:.3f}\n(chosen in fit)",
    xy=(calibrated, 0.05),
    xytext=(6, 0),
    textcoords="offset points",
    fontsize=9,
)
ax.set_xlabel("link_threshold")
ax.set_ylabel("score on unseen characters")
ax.set_ylim(0, 1)
ax.set_title("Omniglot evaluation alphabets (659 unseen characters)")
ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
