"""HiLanderClustering: meta-train on labelled classes, cluster unseen ones."""

from __future__ import annotations

import copy
import inspect
import os
import sys
import warnings
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Real

import joblib
import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data
from tqdm.auto import tqdm

from ._calibrate import calibrate_thresholds, merge_threshold_curve
from ._decode import (
    MERGE_THRESHOLD_GRID,
    DistinctStart,
    Hierarchy,
    MergeThresholds,
    canonical_labels,
    decode,
    merge_neighbors_for_count,
)
from ._graph import distinct_rows, euclidean_scale, prepare_features
from ._level import GraphSearch
from ._predict import FittedPoints, assign, fitted_strength
from ._pretrained import (
    PRETRAINED_PATH,
    read_network,
    read_network_params,
    save_network,
)
from ._scoring import network_scorer, resolve_device
from ._train import meta_train
from ._validation import (
    check_class_kind,
    check_cluster_labels,
    non_finite_features_message,
)
from ._whitening import apply_whitening, learn_whitening
from .metrics import bcubed_f_score


@contextmanager
def _progress_bar(enabled, total, desc, unit):
    """A tqdm bar that shows only when ``enabled`` (one code path either way)."""
    bar = tqdm(
        total=total, desc=f"HiLanderClustering {desc}", unit=unit, disable=not enabled
    )
    try:
        yield bar
    finally:
        bar.close()


@contextmanager
def _torch_threads(n_jobs):
    """Cap torch's threads for the duration of a call, then restore them."""
    if n_jobs is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, n_jobs if n_jobs > 0 else os.cpu_count() + 1 + n_jobs))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class HiLanderClustering(ClusterMixin, BaseEstimator):
    """Hierarchical clustering by a graph neural network meta-trained on labels.

    ``fit(X, y)`` learns, from labelled points of some classes, how to tell
    whether two neighboring points belong together; ``fit_predict(X)`` then
    clusters new points whose classes were never seen. Clustering follows
    Hi-LANDER (Xing et al., ICCV 2021): build a kNN graph, predict for every
    edge the probability that both ends belong together and for every node a
    density, link each node to its most likely denser neighbor if that
    probability beats ``link_threshold``, take connected components, turn the
    clusters into supernodes and repeat until no link is added. Last,
    clusters merge and points move between them while that raises the link
    probability inside clusters less ``merge_threshold`` per pair of points
    in a cluster, each pair weighed by how strongly its two points link
    (see ``merge_threshold``): one link per node keeps the
    hierarchy from chaining unrelated clusters, but leaves fragments of one
    class apart.

    Unlike the paper's network, ours scores an edge from how the pair sits in
    the graph (similarity, ranks, shared neighbors, neighborhood and cluster
    similarities) and from class-blind node descriptors, so it transfers to
    classes it never saw instead of memorising the training classes. What
    the labels can teach about the feature space itself, which directions
    vary within a class, ``fit(X, y)`` learns apart, as a shrunk
    within-class whitening applied before the graph (see
    ``whitening_shrinkage``).

    Parameters
    ----------
    n_neighbors : int, default=10
        Neighbors per node in the kNN graph (self excluded).
    metric : {"cosine", "euclidean"}, default="cosine"
        Similarity between feature vectors. With "euclidean", features are
        scaled by their spread measured in ``fit``.
    link_threshold : "auto" or float in [0, 1], default="auto"
        Minimum link probability for a node to join a denser neighbor.
        "auto" uses the value chosen in ``fit`` on the labelled data
        (``threshold_``); a float overrides it. Higher splits more.
    merge_threshold : "auto" or float >= 0, default="auto"
        Average link probability per pair of points above which two
        clusters merge: their summed link probabilities over the kNN edges
        between them (both directions), divided by the product of their
        sizes; a point moves to another cluster when its links into it beat
        this times its own weight times the cluster's size by more than its
        links into its own. A point's weight is the square root of its
        summed link probability over the mean (a weakly linked point pays
        less to join), and a cluster's size is the sum of its points'
        weights.
        A link density: it carries to sets of more or fewer classes, not to
        classes sampled by more or fewer points. "auto" reads it off a curve
        chosen in ``fit`` on the labelled data (``merge_threshold_curve_``):
        the best threshold at the labelled classes' own sampling and with
        every class cut to a half, a quarter and an eighth of its points,
        against how far a point's farthest merge-graph neighbor lies; the
        input's threshold is interpolated between them (a network file
        brings the values stored with it). Where the curve cannot tell, a
        network lent through ``pretrained=`` to features of another width
        (the curve belongs to the features it was measured on) or an input
        sampling its classes far more densely than the labelled data did,
        the threshold is chosen without labels, with a warning: of the
        thresholds around the one whose partitions are the most
        reproducible on three random subsets of the input, each clustered
        again, the one whose partition best explains the network's links
        (above 40,000 points, judged on a sample of whole neighborhoods;
        ``inf``, no merging, is among the candidates).
        The bundled network
        holds no curve and chooses every input's threshold this way,
        without a warning (unless it merges at the lowest threshold it
        tries); this costs several times the clustering itself.
        ``float("inf")`` merges nothing. Lower merges more.
    merge_n_neighbors : "auto" or int, default="auto"
        Neighbors per point in the graph the merging step works on (the
        hierarchy keeps ``n_neighbors``): large classes need more edges per
        point than the hierarchy does to show that their fragments belong
        together. "auto" uses the value chosen in ``fit`` among 1, 2 and 3
        times ``n_neighbors`` (``merge_n_neighbors_``); an int overrides it,
        and goes with a ``merge_threshold`` chosen for it (more edges raise
        every cluster's summed links).
    n_clusters : int or None, default=None
        About how many clusters to find, for when you know it (as
        ``AgglomerativeClustering`` and BERTopic's ``nr_topics`` take it):
        each clustering then uses the merge threshold whose merge leaves the
        number of clusters nearest this, found by bisection (a dozen merges
        of the hierarchy's clusters), instead of ``merge_threshold``;
        ``merge_threshold_`` reports the one used. The count can miss by a
        few clusters, and cannot exceed the hierarchy's own clusters by
        much. With ``merge_n_neighbors="auto"`` the merge graph then gives
        each point at least a third of the class size the count implies as
        neighbors, up to ``3 * n_neighbors``: classes of hundreds of points
        show that their fragments belong together only on a wider graph
        than classes of tens. None (the default) chooses the number itself.
    whitening_shrinkage : "auto" or float in [0, 1], default="auto"
        How far the within-class whitening learned in ``fit(X, y)`` is
        shrunk towards leaving the features alone: the features are mapped
        by ``(s * c I + (1 - s) S)^(-1/2)`` before any similarity is taken,
        ``S`` the covariance of the labelled points around their class means,
        ``c`` its mean variance and ``s`` this value, so that directions
        that vary within classes count less. 1 maps nothing; "auto" picks,
        among 1, 0.7, 0.4, 0.2 and 0.1, the value whose map learned on half
        of the labelled classes gives the other half the most same-class
        neighbors (``whitening_shrinkage_``), a map counting only if it cuts
        the wrong neighbors by at least 2%; it is 1 where no whitening
        helps. Unused without labels.
    min_cluster_size : int, default=1
        Points of clusters smaller than this get the noise label -1, as
        DBSCAN and HDBSCAN give. 1 keeps every point in a cluster.
    min_membership : float in [0, 1], default=0.0
        Points whose membership strength (``probabilities_``, or
        :meth:`membership_strength` for predicted rows) is below this get the
        noise label -1, as HDBSCAN users expect. 0 keeps every point.
    pretrained : "default", str, path or HiLanderClustering, default="default"
        Network used by ``fit(X)`` without labels when this estimator has not
        been meta-trained itself: "default" is the general-purpose network
        bundled with the package (trained on varied synthetic sets and
        Omniglot; it reads only kNN geometry, so any feature dimension
        works); a path names a file written by :meth:`save_network`; a fitted
        HiLanderClustering lends its meta-trained network, which lets a model
        survive ``clone`` (e.g. in a Pipeline or a grid search).
    max_levels : int, default=10
        Upper bound on hierarchy levels.
    early_stopping : bool, default=True
        Stop once a level merges more than ``1 / (n_neighbors - 1)`` of the
        links of the level before, as Hi-LANDER does, or links fewer than 5%
        of its nodes (further levels would each cost a kNN search for a
        handful of merges).
    train_n_neighbors : tuple of int or None, default=None
        Neighbor counts of the training graphs; None uses ``n_neighbors``,
        half and a third of it, like the paper's (10, 5, 3).
    train_levels : int, default=3
        Levels of the ground-truth hierarchy built for each training ``k``.
    hidden_size : int, default=64
        Width of the network's layers.
    max_iter : int, default=30
        Training epochs; each visits every node of every training graph once.
    learning_rate : float, default=3e-3
        Adam step size (cosine-annealed to 1% of it).
    weight_decay : float, default=1e-4
        Adam weight decay.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the network trains and runs. "auto" takes a CUDA GPU when one
        is available. The device used is stored in ``device_``; a model
        trained on a GPU predicts on a CPU-only machine.
    n_jobs : int or None, default=None
        Threads for torch and pynndescent while fitting or predicting (the
        previous torch setting is restored afterwards): -1 uses every core,
        -2 all but one, and so on. None leaves torch's setting alone.
    memory : str, joblib.Memory or None, default=None
        Caches the trained network (keyed on the data and the training
        parameters), so that refitting with other inference-time parameters,
        e.g. ``link_threshold`` in a grid search, does not retrain. A string
        is the path of the cache directory.
    random_state : int, RandomState instance or None, default=None
        Seeds training and approximate neighbor search; an int gives the
        same labels on every CPU run.
    verbose : int, default=0
        When > 0, show tqdm progress bars for the training epochs (with the
        current losses), the hierarchy levels (with the clusters left) and
        each kNN search (a bar over blocks of the exact search, or
        pynndescent's log lines above 30,000 points).
        The losses stay in ``history_`` either way.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each point of the last ``fit``, ``0..n_clusters_-1``.
    n_clusters_ : int
        Number of clusters found by the last ``fit``.
    probabilities_ : ndarray of shape (n_samples,)
        Membership strength of each point in its cluster, in [0, 1]: the
        mean over its neighbors of the link probability times whether the
        neighbor shares its cluster (near 1 deep in a cluster, lower at its
        boundary).
    densities_ : ndarray of shape (n_samples,)
        Predicted density of each point (level 0); cluster peaks are local
        maxima.
    n_levels_ : int
        Levels that added links in the last ``fit``.
    n_clusters_per_level_ : list of int
        Clusters left after each level.
    threshold_ : float
        Link threshold chosen on the labelled data (or the fixed value).
    merge_threshold_ : float
        Merge threshold applied to the data of ``labels_`` (the fixed
        value, the one read off ``merge_threshold_curve_``, the one chosen
        without labels where the curve cannot tell, or the one found for
        ``n_clusters``); ``inf`` when merging did not help on the labelled
        data, when no merging was chosen without labels, or when the data
        had fewer than two distinct rows.
    merge_threshold_curve_ : ndarray of shape (n_samplings, 2)
        The merge threshold chosen on the labelled data against the sampling
        similarity, the mean similarity of a point to its farthest neighbor
        in the merge graph: one row per sampling measured (the labelled
        classes whole and cut to a half, quarter and eighth of each),
        ordered by similarity; one row when merging did not help or when
        ``merge_threshold`` was fixed in ``fit``. No rows when a network that
        merges was lent from features of another width: no measurement applies to
        this embedding space, and the merge threshold is chosen without
        labels, as for an input beyond the curve's reach (see
        ``merge_threshold``).
    merge_n_neighbors_ : int
        Neighbors per point of the merge graph chosen on the labelled data
        (or the fixed value).
    merge_graph_n_neighbors_ : int
        Neighbors per point of the merge graph the clustering of the data of
        ``labels_`` was merged on: ``merge_n_neighbors_``, or wider where
        ``n_clusters`` widened it for the class size the count implies.
        ``predict`` scales the merge threshold by it.
    network_config_ : dict
        Architecture of the trained network.
    network_state_ : dict of str to ndarray
        Trained weights as numpy arrays (no torch objects are pickled).
    history_ : list of dict
        Mean link and density losses per epoch.
    n_iter_ : int
        Epochs run.
    n_train_classes_ : int
        Classes seen in meta-training.
    scale_ : float
        Feature scale used by ``metric="euclidean"`` (1.0 for cosine).
    whitening_ : ndarray of shape (`n_features_in_`, `n_features_in_`) or None
        The within-class whitening learned in ``fit(X, y)``; None when
        none is applied (``whitening_shrinkage_`` 1, or a network
        that was not meta-trained on features of this width).
    whitening_shrinkage_ : float
        Shrinkage of ``whitening_`` (1.0 when there is none).
    device_ : str
        Device the network trained on ("cpu" or "cuda").
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when X has string column names.

    See Also
    --------
    sklearn.cluster.DBSCAN : Density-based clustering with a hand-set radius.
    sklearn.cluster.HDBSCAN : Hierarchical density-based clustering.

    Notes
    -----
    Memory grows as ``n_samples * n_neighbors``: the kNN graph, its edge
    features and link probabilities are the only per-edge arrays; feature
    rows are gathered, and the network run, over blocks of fixed size, so
    no per-edge copy of the features and no n-by-n array is ever made.
    Exact neighbor search is used up to 30,000 points and pynndescent
    above. Clustering a million 128-d points on 2 cores peaked at 4.2 GiB,
    input included (see the scaling benchmark).

    References
    ----------
    Y. Xing, T. He, T. Xiao, Y. Wang, Y. Xiong, W. Xia, D. Wipf, Z. Zhang,
    S. Soatto. "Learning Hierarchical Graph Neural Networks for Image
    Clustering". ICCV 2021.

    Examples
    --------
    >>> from sklearn_hilander import HiLanderClustering
    >>> from sklearn_hilander.datasets import make_embeddings
    >>> X_train, y_train = make_embeddings(60, 16, random_state=0)
    >>> X_new, y_new = make_embeddings(60, 16, random_state=1)
    >>> est = HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)
    >>> labels = est.fit_predict(X_new)
    >>> bool(est.score(X_new, y_new) > 0.5)
    True
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"cosine", "euclidean"})],
        "link_threshold": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
        "merge_threshold": [
            StrOptions({"auto"}),
            Interval(Real, 0, np.inf, closed="both"),
        ],
        "merge_n_neighbors": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "whitening_shrinkage": [
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="both"),
        ],
        "min_cluster_size": [Interval(Integral, 1, None, closed="left")],
        "min_membership": [Interval(Real, 0, 1, closed="both")],
        "pretrained": [
            StrOptions({"default"}),
            str,
            os.PathLike,
            HasMethods(["save_network"]),
        ],
        "max_levels": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "train_n_neighbors": [tuple, list, None],
        "train_levels": [Interval(Integral, 1, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        # joblib's convention: 0 workers has no meaning
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "memory": [None, str, HasMethods(["cache"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_neighbors=10,
        *,
        metric="cosine",
        link_threshold="auto",
        merge_threshold="auto",
        merge_n_neighbors="auto",
        n_clusters=None,
        whitening_shrinkage="auto",
        min_cluster_size=1,
        min_membership=0.0,
        pretrained="default",
        max_levels=10,
        early_stopping=True,
        train_n_neighbors=None,
        train_levels=3,
        hidden_size=64,
        max_iter=30,
        learning_rate=3e-3,
        weight_decay=1e-4,
        device="cpu",
        n_jobs=None,
        memory=None,
        random_state=None,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.link_threshold = link_threshold
        self.merge_threshold = merge_threshold
        self.merge_n_neighbors = merge_n_neighbors
        self.n_clusters = n_clusters
        self.whitening_shrinkage = whitening_shrinkage
        self.min_cluster_size = min_cluster_size
        self.min_membership = min_membership
        self.pretrained = pretrained
        self.max_levels = max_levels
        self.early_stopping = early_stopping
        self.train_n_neighbors = train_n_neighbors
        self.train_levels = train_levels
        self.hidden_size = hidden_size
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.n_jobs = n_jobs
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Meta-train on labelled ``X`` or, without ``y``, cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors (embeddings).
        y : array-like of shape (n_samples,), default=None
            Class of each row. With labels, the network is (re)trained on
            them and the link threshold chosen; without, the network trained
            by an earlier ``fit(X, y)``, or else the ``pretrained`` one,
            clusters ``X``.

        Returns
        -------
        self : object
            Fitted estimator; ``labels_`` holds the clustering of ``X``.
        """
        with _torch_threads(self.n_jobs):
            return self._fit(X, y)

    def _fit(self, X, y):
        """Fit body; see :meth:`fit`."""
        if y is None:
            if not getattr(self, "meta_trained_", False):
                X = self._validate(X, **self._validation_kwargs())
                self._adopt_pretrained(X)
            else:
                self._check_width(X)
                X = self._validate(X, reset=False, **self._validation_kwargs())
            self._set_clustering(X)
            return self

        X, y = self._validate(X, y, **self._validation_kwargs(), y_numeric=False)
        # before training, which a count the data cannot hold would waste
        self._check_n_clusters(distinct_rows(X)[0].size)
        train_n_neighbors = self._train_n_neighbors()
        self.device_ = resolve_device(self.device)
        labelled, y = self._check_labels(y, X.shape[0])
        rng = check_random_state(self.random_state)
        training_seed = int(rng.randint(np.iinfo(np.int32).max))
        self.scale_ = self._feature_scale(X)
        # meta-training reads the labelled rows only; calibration clusters
        # every row, as fit then does, and scores the labelled ones, so that
        # with unlabelled rows of the same classes the classes it scores
        # have the size they are clustered at
        # the similarities everything below reads are taken after the
        # whitening, so it is learned first, from the labelled rows
        Xp = prepare_features(X, self.metric, self.scale_)
        self.whitening_, self.whitening_shrinkage_ = learn_whitening(
            Xp[labelled],
            y,
            metric=self.metric,
            n_neighbors=self.n_neighbors,
            shrinkage=None
            if self.whitening_shrinkage == "auto"
            else float(self.whitening_shrinkage),
            random_state=rng,
        )
        Xp = apply_whitening(Xp, self.metric, self.whitening_)
        classes = np.full(X.shape[0], -1, dtype=np.int64)
        classes[labelled] = y
        train = check_memory(self.memory).cache(
            meta_train, ignore=["on_epoch", "verbose"]
        )
        with _progress_bar(self.verbose, self.max_iter, "training", "epoch") as bar:
            self.network_config_, self.network_state_, self.history_ = train(
                Xp[labelled],
                y,
                metric=self.metric,
                train_n_neighbors=train_n_neighbors,
                train_levels=self.train_levels,
                architecture="lander",
                hidden_size=self.hidden_size,
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                random_state=training_seed,
                device=self.device_,
                on_epoch=partial(_report_epoch, bar),
                verbose=bool(self.verbose),
            )
        self.meta_trained_ = True
        self.n_iter_ = len(self.history_)
        self.n_train_classes_ = int(np.unique(y).size)
        # what the user fixed is kept, the rest searched
        fixed = {
            name: None if value == "auto" else float(value)
            for name, value in (
                ("link_threshold", self.link_threshold),
                ("merge_threshold", self.merge_threshold),
            )
        }
        fixed["merge_n_neighbors"] = (
            None if self.merge_n_neighbors == "auto" else int(self.merge_n_neighbors)
        )
        search = GraphSearch(self.n_neighbors, self.metric, self.random_state)
        self.threshold_, merge_threshold, self.merge_n_neighbors_, _ = (
            calibrate_thresholds(
                [(Xp, classes)],
                self._scorer(),
                search=search,
                max_levels=self.max_levels,
                early_stopping=self.early_stopping,
                **fixed,
            )
        )
        self.merge_threshold_curve_ = (
            MergeThresholds.constant(merge_threshold).as_curve()
            if fixed["merge_threshold"] is not None
            else merge_threshold_curve(
                [(Xp, classes)],
                self._scorer(),
                search=search,
                link_threshold=self.threshold_,
                merge_threshold=merge_threshold,
                merge_n_neighbors=self.merge_n_neighbors_,
                max_levels=self.max_levels,
                early_stopping=self.early_stopping,
            )
        )
        self._set_clustering(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit (see :meth:`fit`) and return the cluster of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, y).labels_

    def predict(self, X):
        """Assign each row of ``X`` to a cluster of the last ``fit``.

        Each row is placed among the fitted points as one of them would be:
        its nearest fitted points become its neighbors, the network scores
        those links, and the row joins the cluster of its most likely
        neighbor when that link beats the threshold, or gets -1 (as it does
        when its membership strength is below ``min_membership``). Every
        row's answer is independent of the other rows, so one row works and
        batches may be split at will. To cluster a new batch of unseen
        classes among themselves, use ``fit_predict(X)``: the meta-trained
        network is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Ids of ``labels_``, or -1.
        """
        return self._assign(X)[0]

    def membership_strength(self, X):
        """Membership strength of each row of ``X`` in its predicted cluster.

        The mean over the row's neighbors among the fitted points of the
        link probability times whether the neighbor is in that cluster: near
        1 deep inside a cluster, lower at its boundary, 0 for rows that
        :meth:`predict` leaves out (-1). ``probabilities_`` holds the same
        for the fitted points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        strength : ndarray of shape (n_samples,)
            Values in [0, 1].
        """
        return self._assign(X)[1]

    def drop_prediction_data(self) -> HiLanderClustering:
        """Forget the fitted points kept for :meth:`predict` (lighter pickles).

        ``fit_predict`` and ``score`` still work; ``predict`` and
        :meth:`membership_strength` then raise until the next ``fit``.

        Returns
        -------
        self : object
        """
        check_is_fitted(self, "labels_")
        self._fitted_points = None
        return self

    def _assign(self, X):
        self._check_trained("predict")
        check_is_fitted(self, "labels_")
        if getattr(self, "_fitted_points", None) is None:
            raise ValueError(
                "This estimator keeps no fitted points (drop_prediction_data was "
                "called, or the fit had fewer than 2 distinct rows), so predict "
                "cannot assign rows to its clusters; fit it again, or use "
                "fit_predict(X) to cluster X by itself."
            )
        X = self._validate(X, reset=False, dtype=np.float32)
        with _torch_threads(self.n_jobs):
            labels, strength = assign(
                FittedPoints(**self._fitted_points),
                self._prepare(X),
                self.network_config_,
                self.network_state_,
                threshold=self._effective_threshold(),
                # a row meets its fitted neighbors on the hierarchy's graph:
                # the threshold, a density of the merge graph's links, is
                # scaled to that graph's fewer links per point
                merge_threshold=self._effective_merge_threshold()
                * self.n_neighbors
                / self.merge_graph_n_neighbors_,
                device=resolve_device(self.device),
            )
        labels = np.where(strength < self.min_membership, -1, labels)
        return labels, np.where(labels >= 0, strength, 0.0).astype(np.float32)

    def score(self, X, y):
        """BCubed F-score of clustering ``X`` by itself against its classes ``y``.

        ``X`` is clustered as ``fit_predict`` would (its classes need not be
        those of the fit), leaving the estimator unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        score : float
            Between 0 and 1, higher is better.
        """
        # before clustering, which a y that holds no classes would waste
        check_cluster_labels(y, "y")
        check_class_kind(np.asarray(y), "y")
        return bcubed_f_score(y, self._cluster_batch(X))

    def _cluster_batch(self, X):
        """Labels ``fit_predict(X)`` would give, the estimator left unchanged
        (what ``score`` and the scorers of :mod:`.metrics` judge)."""
        self._check_trained("score")
        self._check_width(X)
        X = self._validate(X, reset=False, **self._validation_kwargs())
        with _torch_threads(self.n_jobs):
            return self._final_labels(self._cluster(X).labels, X)

    def __setstate__(self, state):
        # an estimator pickled by an earlier release lacks the parameters
        # added since: they take their defaults, so that get_params, clone
        # and fit work on it
        for name, parameter in inspect.signature(
            type(self).__init__
        ).parameters.items():
            if parameter.default is not inspect.Parameter.empty:
                state.setdefault(name, parameter.default)
        # the merge graph of the last clustering had a private name, and
        # before that was not stored (fit's own graph was then the one used)
        if "_merge_graph_n_neighbors" in state:
            state["merge_graph_n_neighbors_"] = state.pop("_merge_graph_n_neighbors")
        super().__setstate__(state)
        if hasattr(self, "labels_") and not hasattr(self, "merge_graph_n_neighbors_"):
            self.merge_graph_n_neighbors_ = self._effective_merge_n_neighbors()

    def __sklearn_clone__(self):
        # clone() would also clone a fitted estimator passed as pretrained=,
        # dropping the very weights it was passed for; copy it whole instead,
        # so that set_params(pretrained__...) on the clone leaves the
        # caller's estimator alone.
        new = super().__sklearn_clone__()
        new.pretrained = (
            copy.deepcopy(self.pretrained)
            if isinstance(self.pretrained, HiLanderClustering)
            else self.pretrained
        )
        return new

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # labels are optional: fit(X) clusters with a network trained before
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.non_deterministic = self.device != "cpu"
        return tags

    # ------------------------------------------------------------- helpers
    def _validate(self, X, y="no_validation", **check_params):
        """``validate_data``, with non-finite features, 1-D and complex input
        refused in one line that says where and what to do (scikit-learn's
        messages span a paragraph, print the array or suggest a supervised
        model)."""
        try:
            validated = validate_data(self, X, y, **check_params)
        except ValueError as error:
            text = str(error)
            if text.startswith("Input X contains"):
                raise ValueError(non_finite_features_message(X)) from None
            # scikit-learn's messages for these print the whole array
            if text.startswith("Expected 2D array"):
                raise ValueError(
                    f"X must be 2-D (n_samples, n_features), not of shape "
                    f"{np.shape(X)}. Reshape your data: X.reshape(-1, 1) for a "
                    "single feature or X.reshape(1, -1) for a single sample."
                ) from None
            if text.startswith("Found array with 1 sample"):
                raise ValueError(
                    f"{text} Clustering needs 2 points or more; to give one row "
                    "the cluster of a fitted model, use predict."
                ) from None
            if text.startswith("Complex data not supported"):
                raise ValueError(
                    "Complex data not supported: X holds complex numbers and "
                    "features must be real; pass X.real, or np.abs(X) for "
                    "magnitudes."
                ) from None
            raise
        return validated

    def _validation_kwargs(self):
        return dict(dtype=np.float32, ensure_min_samples=2)

    def _train_n_neighbors(self):
        if self.train_n_neighbors is not None:
            values = list(self.train_n_neighbors)
            whole = all(
                isinstance(k, Integral) and not isinstance(k, bool) and k >= 1
                for k in values
            )
            if not values or not whole:
                raise ValueError(
                    "train_n_neighbors must hold one or more whole numbers >= 1, "
                    f"not {self.train_n_neighbors!r}; pass e.g. (10, 5, 3), or "
                    "None to derive them from n_neighbors."
                )
            return tuple(int(k) for k in values)
        k = self.n_neighbors
        return tuple(dict.fromkeys([k, max(2, k // 2), max(2, k // 3)]))

    def _check_trained(self, action):
        check_is_fitted(
            self,
            "network_state_",
            msg=(
                f"{type(self).__name__} has no trained network, so {action} cannot "
                "cluster. Call fit(X, y) to meta-train on labelled data of other "
                "classes, or fit(X) to cluster with the pretrained network."
            ),
        )

    def _check_labels(self, y, n_samples):
        """Labelled rows (``y != -1``) and their class codes."""
        codes = check_cluster_labels(y, "y", n_samples)
        raw = np.asarray(y)
        unlabelled = (
            raw == -1 if raw.dtype.kind in "iuf" else np.zeros(n_samples, dtype=bool)
        )
        labelled = np.flatnonzero(~unlabelled)
        if labelled.size:
            check_class_kind(raw[labelled], "y", " (-1 for unlabelled rows)")
        _, codes = np.unique(codes[labelled], return_inverse=True)
        if codes.max(initial=0) < 1:
            raise ValueError(
                "y has fewer than 2 labelled classes (-1 marks unlabelled rows); "
                "meta-training learns to separate classes and needs labelled "
                "points of at least 2 classes (ideally many)."
            )
        if np.bincount(codes).max() < 2:
            raise ValueError(
                "every labelled class in y has a single point; meta-training "
                "learns which points belong together and needs classes of 2 "
                "points or more: label more points of each class, or cluster "
                "without labels with fit(X)."
            )
        return labelled, codes

    def _scorer(self):
        return network_scorer(
            self.network_config_, self.network_state_, resolve_device(self.device)
        )

    def _effective_threshold(self) -> float:
        """``link_threshold`` when set, else the one chosen in ``fit``."""
        if self.link_threshold == "auto":
            return self.threshold_
        return float(self.link_threshold)

    def _effective_merge_threshold(self) -> float:
        """``merge_threshold`` when set, else the one the clustering of the
        fitted data applied (always that one with ``n_clusters``, which
        chooses it)."""
        if self.merge_threshold == "auto" or self.n_clusters is not None:
            return self.merge_threshold_
        return float(self.merge_threshold)

    def _merge_thresholds(self) -> MergeThresholds:
        """``merge_threshold`` when set, else the curve chosen in ``fit``
        (a model from before the curve keeps its one threshold)."""
        if self.merge_threshold != "auto":
            return MergeThresholds.constant(float(self.merge_threshold))
        curve = getattr(self, "merge_threshold_curve_", None)
        if curve is None:
            return MergeThresholds.constant(self.merge_threshold_)
        return MergeThresholds.from_curve(curve)

    def _effective_merge_n_neighbors(self) -> int:
        """``merge_n_neighbors`` when set, else the one chosen in ``fit``
        (the hierarchy's own for a model from before it was chosen)."""
        if self.merge_n_neighbors == "auto":
            return getattr(self, "merge_n_neighbors_", self.n_neighbors)
        return int(self.merge_n_neighbors)

    def _check_n_clusters(self, n_distinct: int) -> None:
        # copies of a row always share its cluster
        if self.n_clusters is not None and self.n_clusters > n_distinct:
            raise ValueError(
                f"n_clusters={self.n_clusters} asks for more clusters than X has "
                f"distinct rows ({n_distinct}); pass n_clusters <= {n_distinct}, "
                "or None to let the model choose."
            )

    def _check_width(self, X) -> None:
        """A meta-trained estimator clusters features of its own width; its
        network can cluster another width when lent, which the error says."""
        try:
            shape = np.shape(X)
        except ValueError:  # ragged: validate_data explains
            return
        if len(shape) != 2 or shape[1] == self.n_features_in_:
            return  # validate_data explains anything else
        # scikit-learn's own wording first, which its checks and users match
        raise ValueError(
            f"X has {shape[1]} features, but {type(self).__name__} is expecting "
            f"{self.n_features_in_} features as input; to cluster features of "
            "another width with its network, lend it: "
            "HiLanderClustering(pretrained=fitted).fit_predict(X)."
        )

    def _merge_n_neighbors_for(self, X) -> int:
        """The merge graph's neighbors for clustering ``X``: with
        ``n_clusters`` and ``merge_n_neighbors="auto"``, widened for the
        class size ``n_clusters`` implies (see
        :func:`_decode.merge_neighbors_for_count`)."""
        merge_n_neighbors = self._effective_merge_n_neighbors()
        if self.n_clusters is None or self.merge_n_neighbors != "auto":
            return merge_n_neighbors
        return merge_neighbors_for_count(
            merge_n_neighbors, self.n_neighbors, X.shape[0], self.n_clusters
        )

    def _prepare(self, X) -> np.ndarray:
        """``X`` in the space whose dot product is the similarity: scaled
        (euclidean) or unit rows (cosine), then whitened as learned."""
        return apply_whitening(
            prepare_features(X, self.metric, self.scale_),
            self.metric,
            getattr(self, "whitening_", None),
        )

    def _feature_scale(self, X) -> float:
        """Scale of euclidean features, measured on the data being fitted."""
        return euclidean_scale(X) if self.metric == "euclidean" else 1.0

    def _search(self) -> GraphSearch:
        return GraphSearch(
            self.n_neighbors,
            self.metric,
            self.random_state,
            self.n_jobs,
            bool(self.verbose),
        )

    def _cluster(self, X) -> Hierarchy:
        """Decode ``X`` with the network (copies of a row share its cluster)."""
        prepared = self._prepare(X)
        start = DistinctStart.of(prepared, self._search())
        self._check_n_clusters(start.keep.size)
        progress = _progress_bar(self.verbose, self.max_levels, "levels", "level")
        with torch.inference_mode(), progress as bar:
            report = partial(_report_level, bar)
            return decode(
                prepared,
                self._scorer(),
                threshold=self._effective_threshold(),
                search=self._search(),
                max_levels=self.max_levels,
                early_stopping=self.early_stopping,
                merge_threshold=self._merge_thresholds(),
                merge_n_neighbors=self._merge_n_neighbors_for(X),
                n_clusters=self.n_clusters,
                start=start,
                on_level=report,
            )

    def _set_clustering(self, X):
        if not hasattr(self, "merge_threshold_curve_"):
            # a model from before the curve: its one threshold becomes the
            # curve, as merge_threshold_ now reports the last threshold used
            self.merge_threshold_curve_ = MergeThresholds.constant(
                self.merge_threshold_
            ).as_curve()
        hierarchy = self._cluster(X)
        labels = self._final_labels(hierarchy.labels, X)
        distinct, first = hierarchy.distinct, hierarchy.first
        if first is not None:
            points = FittedPoints.of_level(
                first.level,
                self.network_config_["architecture"],
                labels[distinct.keep],
            )
            self.probabilities_ = fitted_strength(points, first.scores)[
                distinct.inverse
            ]
            # plain arrays, so skops and pickle need trust in nothing new
            self._fitted_points = vars(points)
        else:  # fewer than two distinct rows: nothing to link
            self.probabilities_ = np.ones(X.shape[0], dtype=np.float32)
            self._fitted_points = None
        self.labels_ = np.where(self.probabilities_ < self.min_membership, -1, labels)
        self.n_clusters_ = int(labels.max()) + 1
        self.merge_threshold_ = hierarchy.merge_threshold
        self.merge_graph_n_neighbors_ = (
            hierarchy.merge_n_neighbors or self._effective_merge_n_neighbors()
        )
        similarity = hierarchy.sampling_similarity
        merge_thresholds = self._merge_thresholds()
        chosen_without_labels = (
            self.n_clusters is None
            and similarity is not None
            and merge_thresholds.out_of_reach(similarity)
        )
        # a network without measurements (the bundled one) chooses without
        # labels by design; only a measured curve that misses X is news
        if chosen_without_labels and merge_thresholds.measured:
            warnings.warn(
                "The fitted merge thresholds do not reach X (X samples its "
                "classes far more densely than the labelled data did, or comes "
                "from another domain), so one was chosen without labels (of the "
                "most reproducible partitions, the one that best explains the "
                "links); fit on labelled data like X, or pass merge_threshold "
                "or n_clusters.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )
        # the rule's coarsest candidate: right for a few well-separated
        # groups, too coarse where families of look-alike classes reproduce
        # best (on small sets in 16 dimensions, 3 or 4 clusters for 30
        # classes); one cluster there means no candidate counted (a handful
        # of points), which is no news
        if (
            chosen_without_labels
            and hierarchy.merge_threshold == MERGE_THRESHOLD_GRID[0]
            and self.n_clusters_ > 1
        ):
            warnings.warn(
                f"The merge threshold chosen without labels is the lowest the "
                f"rule tries ({MERGE_THRESHOLD_GRID[0]:g}), the coarsest "
                f"partition it can pick ({self.n_clusters_} clusters); if you "
                "expect more clusters (look-alike classes can merge into "
                "families), pass n_clusters or a higher merge_threshold.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )
        self.densities_ = hierarchy.level0_density
        self.n_levels_ = hierarchy.n_levels
        self.n_clusters_per_level_ = list(hierarchy.n_clusters_per_level)

    def _final_labels(self, labels, X):
        """Row-order-free numbering; small clusters become noise (-1)."""
        labels = canonical_labels(labels, X)
        if self.min_cluster_size > 1:
            sizes = np.bincount(labels)
            kept = sizes >= self.min_cluster_size
            renumber = np.where(kept, np.cumsum(kept) - 1, -1)
            labels = renumber[labels]
        return labels

    def _adopt_pretrained(self, X):
        """Take the network of ``pretrained`` for clustering without labels."""
        source = self.pretrained
        if isinstance(source, HiLanderClustering):
            source._check_trained("lend its network through pretrained=")
            if source.n_features_in_ != X.shape[1] and source.metric == "euclidean":
                raise ValueError("pretrained estimator was fitted on other features")
            config, state = source.network_config_, source.network_state_
            # the whitening belongs to the features it was learned on: it
            # comes along for features of that width only
            whitening = getattr(source, "whitening_", None)
            if whitening is not None and whitening.shape[0] != X.shape[1]:
                whitening = None
            threshold = source.threshold_
            merge_curve = source._merge_thresholds().as_curve()
            curve_width = source.n_features_in_
            merge_n_neighbors = source._effective_merge_n_neighbors()
        else:
            path = PRETRAINED_PATH if source == "default" else source
            config, state, threshold = read_network(path)
            params = read_network_params(path)
            # files written before this merging rule merge nothing; files
            # from before the curve keep their one threshold
            merge_curve = params.get(
                "merge_threshold_curve",
                [[0.0, params.get("merge_link_density", np.inf)]],
            )
            curve_width = params.get("n_features", X.shape[1])
            merge_n_neighbors = params.get("merge_n_neighbors", self.n_neighbors)
            whitening = None
        self.network_config_ = config
        self.network_state_ = {k: np.array(v) for k, v in state.items()}
        self.threshold_ = threshold
        merge_curve = MergeThresholds.from_curve(merge_curve)
        if curve_width != X.shape[1] and merge_curve.merges:
            # the curve was measured in the labelled features' space; in
            # another space (another domain) none of its thresholds applies,
            # not even the labelled set's own (the Omniglot network's own
            # threshold split HWU64's intents into many times as many
            # clusters as intents), so the
            # threshold is chosen without labels
            merge_curve = MergeThresholds.unmeasured()
            if self.n_clusters is None and self.merge_threshold == "auto":
                warnings.warn(
                    f"The lent network's merge thresholds were measured on "
                    f"features of width {curve_width}, not X's {X.shape[1]}, so "
                    "one is chosen without labels for each input (of the most "
                    "reproducible partitions, the one that best explains the "
                    "links); pass merge_threshold or n_clusters to set it.",
                    UserWarning,
                    stacklevel=_caller_stacklevel(),
                )
        merge_curve = merge_curve.as_curve()
        self.merge_threshold_curve_ = merge_curve
        self.merge_n_neighbors_ = int(merge_n_neighbors)
        self.scale_ = self._feature_scale(X)
        self.whitening_ = None if whitening is None else np.array(whitening)
        self.whitening_shrinkage_ = (
            1.0 if whitening is None else float(source.whitening_shrinkage_)
        )
        self.meta_trained_ = False
        self.history_ = []
        self.n_iter_ = 0
        self.device_ = resolve_device(self.device)

    def save_network(self, path) -> None:
        """Write the trained network and threshold to ``path`` (``.npz``).

        The file holds numpy arrays and JSON only; pass its path as
        ``pretrained=`` to cluster with this network without labels.
        """
        self._check_trained("save_network")
        params = {"n_neighbors": int(self.n_neighbors), "metric": self.metric}
        curve = self._merge_thresholds().as_curve()
        if getattr(self, "whitening_", None) is not None:
            # the file holds no whitening, and the curve's similarities were
            # taken after it: only the labelled set's own threshold travels
            curve = curve[-1:]
        if np.isfinite(curve[:, 1]).all():  # JSON has no infinity
            if curve.size:
                # the labelled set's own threshold (the curve's densest
                # row), for readers from before the curve
                params["merge_link_density"] = float(curve[-1, 1])
            params["merge_threshold_curve"] = curve.tolist()
            params["n_features"] = int(self.n_features_in_)
            params["merge_n_neighbors"] = self._effective_merge_n_neighbors()
        save_network(
            path, self.network_config_, self.network_state_, self.threshold_, params
        )


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside
    this package and scikit-learn: the user's call, however it reached here
    (``fit``, ``fit_predict``, a pipeline, a joblib worker of a
    cross-validation), so that Python's default filter
    shows it once per line of the user's code, not once per process."""
    inside = tuple(
        os.path.dirname(module.__file__) + os.sep
        for module in (sys.modules[__package__], sklearn, joblib)
    )
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def _report_epoch(bar, record):
    bar.set_postfix(
        link_loss=f"{record['link_loss']:.4f}",
        density_loss=f"{record['density_loss']:.5f}",
    )
    bar.update()


def _report_level(bar, decoded):
    bar.set_postfix(clusters=int(decoded.peaks.size))
    bar.update()
