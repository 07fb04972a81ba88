"""Data sets for learning to cluster: a hard synthetic generator and Omniglot."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_embeddings", "load_omniglot", "load_omniglot_features"]


def _random_unit(rng, n, d):
    v = rng.standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_embeddings(
    n_classes: int = 200,
    n_features: int = 64,
    *,
    mean_class_size: float = 20.0,
    size_dispersion: float = 0.8,
    family_size: float = 4.0,
    family_angle: float = 0.6,
    spread: float = 0.8,
    spread_dispersion: float = 0.3,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate embedding-like points of many classes on the unit sphere.

    The classes are built to look like the output of a metric-learning
    encoder on classes it never saw: they come in *families* of similar
    classes (as related identities or characters of one alphabet do), their
    sizes are long-tailed, and their spreads differ from class to class.

    Parameters
    ----------
    n_classes : int, default=200
        Number of classes.
    n_features : int, default=64
        Dimension of the embeddings.
    mean_class_size : float, default=20.0
        Median number of points per class; sizes are log-normal, at least 2.
    size_dispersion : float, default=0.8
        Standard deviation of the log class size: larger gives a longer tail.
    family_size : float, default=4.0
        Mean number of classes per family (Poisson, at least 1).
    family_angle : float, default=0.6
        Angle in radians between a class centre and its family centre; smaller
        makes classes of one family harder to tell apart.
    spread : float, default=0.8
        Typical angular spread of a class around its centre (radians, roughly).
    spread_dispersion : float, default=0.3
        Standard deviation of the log spread across classes.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        Unit-norm embeddings, rows grouped by class.
    y : ndarray of shape (n_samples,), int64
        Class of each row, ``0..n_classes-1``.

    Examples
    --------
    >>> from sklearn_hilander.datasets import make_embeddings
    >>> X, y = make_embeddings(n_classes=50, n_features=16, random_state=0)
    >>> X.shape[1], len(set(y))
    (16, 50)
    """
    if n_classes < 1 or n_features < 2:
        raise ValueError(
            f"make_embeddings needs n_classes >= 1 and n_features >= 2, got "
            f"n_classes={n_classes}, n_features={n_features}."
        )
    rng = check_random_state(random_state)
    families = []
    while sum(families) < n_classes:
        families.append(max(1, rng.poisson(family_size)))
    family_of_class = np.repeat(np.arange(len(families)), families)[:n_classes]
    family_centres = _random_unit(rng, len(families), n_features)
    # rotate each class centre away from its family centre by family_angle
    offsets = _random_unit(rng, n_classes, n_features)
    base = family_centres[family_of_class]
    offsets -= np.sum(offsets * base, axis=1, keepdims=True) * base
    offsets /= np.linalg.norm(offsets, axis=1, keepdims=True)
    angle = family_angle * rng.uniform(0.7, 1.3, n_classes)[:, None]
    centres = np.cos(angle) * base + np.sin(angle) * offsets

    sizes = np.exp(
        np.log(mean_class_size) + size_dispersion * rng.standard_normal(n_classes)
    )
    sizes = np.clip(np.round(sizes), 2, None).astype(np.int64)
    spreads = spread * np.exp(spread_dispersion * rng.standard_normal(n_classes))

    y = np.repeat(np.arange(n_classes), sizes)
    # anisotropic noise: each class stretches along its own random axes
    stretch = np.exp(0.5 * rng.standard_normal((n_classes, n_features)))
    stretch /= np.sqrt(np.mean(stretch**2, axis=1, keepdims=True))
    noise = rng.standard_normal((y.size, n_features)) * stretch[y]
    X = centres[y] + noise * (spreads[y, None] / np.sqrt(n_features))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y.astype(np.int64)


def load_omniglot() -> dict:
    """Load the bundled Omniglot images (28x28) and their labels.

    Omniglot (Lake, Salakhutdinov & Tenenbaum, Science 2015; MIT licence) has
    1623 handwritten characters of 50 alphabets, 20 drawings each. The 30
    *background* alphabets are meant for training and the 20 *evaluation*
    alphabets for testing on characters never seen.

    Returns
    -------
    data : dict of ndarray
        ``images`` (32460, 28, 28) uint8 with ink 255; ``label`` class id
        (0..963 background, 964..1622 evaluation); ``alphabet`` (0..49);
        ``split`` ('background' or 'evaluation'); ``character`` (its
        number within its alphabet, from 1); ``drawer`` (1..20); per class:
        ``class_alphabet``, ``class_split``, ``class_names``; and
        ``alphabet_names``.

    Examples
    --------
    >>> from sklearn_hilander.datasets import load_omniglot
    >>> data = load_omniglot()
    >>> data["images"].shape
    (32460, 28, 28)
    """
    from ._omniglot import load_omniglot_arrays

    return load_omniglot_arrays()


def load_omniglot_features() -> dict:
    """Omniglot embeddings from the bundled encoder, with their labels.

    The encoder is a small CNN trained on half of the background alphabets
    (the ``encoder`` rows). Meta-train a clusterer on the other half (the
    ``meta_train`` rows) and cluster the evaluation alphabets: features
    of the encoder's own classes are much tighter than those of new classes,
    so a clusterer meta-trained on them would learn thresholds that shatter
    unseen classes.

    Returns
    -------
    data : dict
        ``features`` (32460, 64) float32, ``label``, ``alphabet``, ``split``,
        and the boolean row masks ``encoder``, ``meta_train``, ``evaluation``.

    Examples
    --------
    >>> from sklearn_hilander.datasets import load_omniglot_features
    >>> data = load_omniglot_features()
    >>> int(data["evaluation"].sum()), len(set(data["label"][data["evaluation"]]))
    (13180, 659)
    """
    from ._omniglot import (
        ENCODER_ALPHABETS,
        META_TRAIN_ALPHABETS,
        omniglot_features,
    )

    features, label, alphabet, split = omniglot_features()
    return {
        "features": features,
        "label": label,
        "alphabet": alphabet,
        "split": split,
        "encoder": np.isin(alphabet, ENCODER_ALPHABETS),
        "meta_train": np.isin(alphabet, META_TRAIN_ALPHABETS),
        "evaluation": split == "evaluation",
    }


# Scenarios whose intents are held out for clustering: every third in sorted
# order (6 of 18), so that meta-training and evaluation intents are disjoint
# and come from different scenarios.
HWU64_EVALUATION_SCENARIOS = (
    "alarm",
    "cooking",
    "general",
    "music",
    "qa",
    "takeaway",
)


def load_hwu64() -> dict:
    """HWU64 intent utterances with sentence embeddings, split by scenario.

    11,033 English requests to a home assistant, each labelled with one of 64
    intents in 18 scenarios (Liu, Eshghi, Swietojanski and Rieser, IWSDS
    2019; CC BY 4.0), embedded with all-MiniLM-L6-v2 (384-d, stored as
    float16). Meta-train on the ``meta_train`` rows and cluster the
    ``evaluation`` rows: their intents, and scenarios, are disjoint.

    Returns
    -------
    data : dict
        ``features`` (11033, 384) float32 unit rows; ``label`` intent id;
        ``text``; ``fold`` (the source's fold, 1-10); per intent:
        ``class_names`` (``scenario_intent``) and ``scenario``; boolean row
        masks ``meta_train`` and ``evaluation``.

    Examples
    --------
    >>> from sklearn_hilander.datasets import load_hwu64
    >>> data = load_hwu64()
    >>> data["features"].shape, int(data["evaluation"].sum()) > 0
    ((11033, 384), True)
    """
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    with np.load(os.path.join(path, "hwu64_minilm.npz"), allow_pickle=False) as f:
        data = {key: f[key] for key in f.files}
    features = data.pop("X").astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    label = data.pop("y").astype(np.int64)
    held_out = np.isin(data["scenario"], HWU64_EVALUATION_SCENARIOS)[label]
    return dict(
        data,
        features=features,
        label=label,
        meta_train=~held_out,
        evaluation=held_out,
    )
