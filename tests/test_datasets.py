"""The bundled data loaders."""

import numpy as np

from sklearn_hilander import _omniglot
from sklearn_hilander.datasets import load_omniglot_features


def test_omniglot_features_are_encoded_once_and_returned_as_copies(monkeypatch):
    first = load_omniglot_features()
    reference = first["features"].copy()

    def encode_again(*args, **kwargs):
        raise AssertionError("the images were encoded a second time")

    monkeypatch.setattr(_omniglot, "encode", encode_again)
    first["features"][:] = 0
    first["label"][:] = -1
    second = load_omniglot_features()
    np.testing.assert_array_equal(second["features"], reference)
    assert second["label"].min() == 0
