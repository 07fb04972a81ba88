"""BERTopic as a real client: fit_transform, transform, one document, save and
load, semi-supervised y (HWU64 intents; the protocol of
benchmarks/bertopic_topics.py)."""

import json
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("bertopic")

from benchmarks.bertopic_topics import (  # noqa: E402
    hwu64_split,
    meta_trained,
    run,
    topic_model,
)
from sklearn_hilander import HiLanderClustering  # noqa: E402


@pytest.fixture(scope="module")
def split():
    return hwu64_split()


@pytest.fixture(scope="module")
def network(split):
    return meta_trained(split)


@pytest.fixture(scope="module")
def fitted_topics(split, network):
    model = topic_model(HiLanderClustering(pretrained=network))
    row = run("ours", model, split)
    return model, row


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _published(method, semi_supervised=False):
    """A row of docs/bertopic_results.json, the benchmark's output."""
    path = os.path.join(
        os.path.dirname(__file__), "..", "docs", "bertopic_results.json"
    )
    with open(path) as handle:
        rows = json.load(handle)["rows"]
    return next(
        row
        for row in rows
        if row["method"] == method and row["semi_supervised"] == semi_supervised
    )


def test_transform_is_at_least_as_accurate_as_the_default(fitted_topics):
    _, ours = fitted_topics
    # BERTopic's default (UMAP + HDBSCAN, none of our code; seeded, yet its
    # topic count moved by 3 between two machines) is read from the
    # benchmark's output rather than run again here (50 s); ours
    # runs here and must match its published row, so that a change that
    # moves it fails until the benchmark is regenerated
    default = _published("BERTopic default (UMAP + HDBSCAN)")
    published = _published("HiLanderClustering(pretrained=meta-trained)")
    for key in ("Fb", "Fp", "transform_accuracy"):
        assert ours[key] == pytest.approx(published[key], abs=0.005), key
    assert ours["n_topics"] == published["n_topics"]
    assert ours["transform_accuracy"] >= default["transform_accuracy"], (ours, default)
    assert ours["Fb"] >= default["Fb"], (ours, default)
    # transform assigns to fitted topics: far above what re-clustering the
    # batch gave (2.6 %)
    assert ours["transform_accuracy"] > 0.5


def test_probabilities_come_through(split, fitted_topics):
    model, row = fitted_topics
    assert row["probabilities"] == [len(split["fit"]["docs"])]
    assert model.probabilities_ is not None
    assert np.all((model.probabilities_ >= 0) & (model.probabilities_ <= 1))


def test_one_document_and_batches_agree(split, fitted_topics):
    model, _ = fitted_topics
    new = split["new"]
    batch, _ = quiet(model.transform, new["docs"][:20], new["embeddings"][:20])
    for i in (0, 7, 19):
        one, _ = quiet(model.transform, [new["docs"][i]], new["embeddings"][i : i + 1])
        assert list(one) == [batch[i]]
    fitted = set(model.topics_)
    assert set(batch) <= fitted


def test_save_and_load_keep_the_topics(split, fitted_topics, tmp_path):
    from bertopic import BERTopic

    model, _ = fitted_topics
    new = split["new"]
    before, _ = quiet(model.transform, new["docs"][:200], new["embeddings"][:200])
    path = tmp_path / "topics.pkl"
    quiet(model.save, path, serialization="pickle")
    loaded = quiet(BERTopic.load, path)
    after, _ = quiet(loaded.transform, new["docs"][:200], new["embeddings"][:200])
    assert list(after) == list(before)


def test_semi_supervised_y_meta_trains_on_the_labelled_documents(split):
    fit = split["fit"]
    clusterer = HiLanderClustering(random_state=0, max_iter=10)
    model = topic_model(clusterer)
    topics, _ = quiet(
        model.fit_transform, fit["docs"], fit["embeddings"], y=fit["y_semi"]
    )
    labelled = fit["y_semi"] != -1
    assert 0 < labelled.sum() < len(labelled)
    fitted = model.hdbscan_model
    assert fitted.n_train_classes_ == len(np.unique(fit["y_semi"][labelled]))
    # every document, labelled or not, gets a topic; -1 was not a class
    assert len(topics) == len(fit["docs"])
    assert fitted.labels_.shape == (len(fit["docs"]),)
    assert -1 not in fitted.labels_
