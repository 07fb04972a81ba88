"""Network files with odd metadata or weights: valid, or refused in one line
that names the file."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sklearn_hilander import HiLanderClustering
from sklearn_hilander._pretrained import PRETRAINED_PATH, _read, read_network
from sklearn_hilander.datasets import make_embeddings

FILE_EXAMPLES = 300

META, STATE = None, None


def bundled():
    global META, STATE
    if META is None:
        with np.load(PRETRAINED_PATH) as data:
            META = json.loads(str(data["__meta__"]))
            STATE = {k.split("/", 1)[1]: data[k] for k in data.files if k != "__meta__"}
    return json.loads(json.dumps(META)), dict(STATE)


def write(path, meta, state, raw_meta=None):
    meta_entry = np.array(json.dumps(meta)) if raw_meta is None else raw_meta
    np.savez(path, __meta__=meta_entry, **{f"weight/{k}": v for k, v in state.items()})
    return path


def assert_refused(path, match=None):
    with pytest.raises(ValueError) as info:
        read_network(str(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    if match:
        assert match in message, message
    return message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


def is_int(value, low, high):
    return type(value) is int and low <= value <= high


def field_valid(field, value, original):
    if field == "threshold":
        return type(value) in (int, float) and 0 <= value <= 1
    if field == "params.n_neighbors":
        return is_int(value, 1, 2**30)
    if field == "params.metric":
        return value in ("cosine", "euclidean")
    if field in ("extra", "config.extra"):
        return True
    return type(value) is type(original) and value == original


FIELDS = [
    "format",
    "threshold",
    "config.architecture",
    "config.n_node_inputs",
    "config.hidden_size",
    "config.pair_features",
    "params.n_neighbors",
    "params.metric",
    "extra",
    "config.extra",
]
MISSING = object()


def mutate_field(meta, field, value):
    """Set (or, for MISSING, delete) ``field``; returns the original value."""
    holder = meta
    *parents, key = field.split(".")
    for name in parents:
        holder = holder.setdefault(name, {})
    original = holder.get(key)
    if value is MISSING:
        holder.pop(key, None)
    else:
        holder[key] = value
    return original


def recast(value, kind):
    """A weight stored another way: (new array, whether it is still valid)."""
    if kind in ("float16", "float64", ">f4", ">f8"):
        return value.astype(kind), True
    if kind in ("nan", "inf", "-inf"):
        bad = value.astype(np.float32).copy()
        bad.flat[0] = float(kind)
        return bad, False
    if kind == "structured":
        out = np.zeros(value.shape, dtype=[("a", "f4"), ("b", "i4")])
        out["a"] = value
        return out, False
    if kind == "shape":
        return np.append(value.ravel(), 0.0).astype(np.float32), False
    return value.astype(kind), False  # U, S, M8, i4, bool, complex


WEIGHT_KINDS = [
    "float16",
    "float64",
    ">f4",
    ">f8",
    "nan",
    "inf",
    "-inf",
    "structured",
    "shape",
    "U8",
    "S8",
    "datetime64[s]",
    "i4",
    "bool",
    "complex64",
]


def check(path, expect_valid):
    """A file that reads must cluster; one that does not reads is refused."""
    try:
        config, state, threshold = read_network(str(path))
    except ValueError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message, message
        assert not expect_valid, message
        return
    assert expect_valid, "an invalid file was accepted"
    assert 0 <= threshold <= 1
    X = make_embeddings(5, 8, random_state=0)[0][:40]
    labels = HiLanderClustering(pretrained=str(path)).fit_predict(X)
    assert labels.shape == (len(X),) and labels.min() >= 0


@settings(
    max_examples=FILE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    change=st.one_of(
        st.tuples(st.just("field"), st.sampled_from(FIELDS), json_values),
        st.tuples(st.just("missing"), st.sampled_from(FIELDS), st.none()),
        st.tuples(st.just("meta"), st.none(), json_values),
        st.tuples(
            st.just("weight"),
            st.integers(0, 13),
            st.sampled_from(WEIGHT_KINDS),
        ),
        st.tuples(st.just("drop"), st.integers(0, 13), st.none()),
    )
)
def test_mutated_network_files_are_valid_or_refused(tmp_path, change):
    meta, state = bundled()
    what, where, value = change
    if what == "field":
        original = mutate_field(meta, where, value)
        valid = field_valid(where, value, original)
    elif what == "missing":
        mutate_field(meta, where, MISSING)
        valid = where.startswith("params") or "extra" in where
    elif what == "meta":
        meta = value
        valid = False
    elif what == "weight":
        name = sorted(state)[where]
        state[name], valid = recast(state[name], value)
    else:
        del state[sorted(state)[where]]
        valid = False
    event("valid file" if valid else "invalid file")
    check(write(tmp_path / "net.npz", meta, state), valid)


# ----------------------------------------------------- the cases
@pytest.mark.parametrize(
    "field", ["config", "threshold", "config.hidden_size", "format"]
)
def test_missing_fields(tmp_path, field):
    meta, state = bundled()
    mutate_field(meta, field, MISSING)
    assert_refused(write(tmp_path / "net.npz", meta, state), field.split(".")[-1])


@pytest.mark.parametrize("meta", [[1, 2], None, 3, "text"])
def test_metadata_that_is_not_an_object(tmp_path, meta):
    _, state = bundled()
    assert_refused(write(tmp_path / "net.npz", meta, state), "not an object")


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("config.architecture", "transformer", "architecture"),
        ("config.architecture", "pairs", "reads 1"),
        ("config.architecture", "paper", "weights do not match"),
        ("config.hidden_size", "64", "hidden"),
        ("config.hidden_size", 64.0, "hidden"),
        ("config.hidden_size", True, "hidden"),
        ("config.hidden_size", -64, "hidden"),
        ("config.hidden_size", 10**12, "hidden"),
        ("config.hidden_size", 32, "weights do not match"),
        ("threshold", "0.5", "threshold"),
        ("threshold", None, "threshold"),
        ("threshold", float("nan"), "threshold"),
        ("threshold", float("inf"), "threshold"),
        ("threshold", 1.5, "threshold"),
        ("threshold", -0.1, "threshold"),
        ("params", [], "params"),
        ("params.metric", "manhattan", "metric"),
        ("params.merge_link_density", -0.1, "merge_link_density"),
        ("params.merge_link_density", float("inf"), "merge_link_density"),
        ("params.merge_link_density", "0.1", "merge_link_density"),
        ("params.merge_threshold_curve", [[]], "merge_threshold_curve"),
        ("params.merge_threshold_curve", [[0.5]], "merge_threshold_curve"),
        ("params.merge_threshold_curve", [[0.5, -1.0]], "merge_threshold_curve"),
        (
            "params.merge_threshold_curve",
            [[float("nan"), 0.1]],
            "merge_threshold_curve",
        ),
        ("params.merge_threshold_curve", [[0.5, "0.1"]], "merge_threshold_curve"),
        (
            "params.merge_threshold_curve",
            [[0.5, 0.1], [0.5, 0.2]],
            "merge_threshold_curve",
        ),
        ("format", 3, "format 3"),
    ],
)
def test_bad_metadata_values(tmp_path, field, value, match):
    meta, state = bundled()
    mutate_field(meta, field, value)
    assert_refused(write(tmp_path / "net.npz", meta, state), match)


@pytest.mark.parametrize(
    "kind", ["U8", "S8", "structured", "datetime64[s]", "nan", "inf", "shape"]
)
def test_bad_weights(tmp_path, kind):
    meta, state = bundled()
    state["conv.weight"], _ = recast(state["conv.weight"], kind)
    assert_refused(write(tmp_path / "net.npz", meta, state), "conv.weight")


def test_big_endian_and_float64_weights_are_read(tmp_path):
    meta, state = bundled()
    X = make_embeddings(5, 8, random_state=0)[0]
    expected = HiLanderClustering().fit_predict(X)
    state = {k: v.astype(">f8") for k, v in state.items()}
    path = write(tmp_path / "net.npz", meta, state)
    _, weights, _ = read_network(str(path))
    assert all(v.dtype == np.float32 and v.dtype.isnative for v in weights.values())
    labels = HiLanderClustering(pretrained=str(path)).fit_predict(X)
    np.testing.assert_array_equal(labels, expected)


def test_files_that_are_not_network_files(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("not a network\n")
    message = assert_refused(text, "not an .npz (zip) archive")
    assert "pickle" not in message
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert_refused(empty, "not an .npz")
    npy = tmp_path / "array.npz"
    np.save(npy, np.zeros(3))
    (tmp_path / "array.npz.npy").rename(npy)
    assert_refused(npy, "not an .npz")
    meta, state = bundled()
    raw = write(tmp_path / "raw.npz", meta, state, raw_meta=np.array([1, 2]))
    assert_refused(raw, "__meta__")
    objects = tmp_path / "objects.npz"
    np.savez(
        objects, __meta__=np.array(json.dumps(meta)), **{"weight/x": np.array([{}])}
    )
    assert_refused(objects, "Object arrays")


def test_estimator_refuses_a_bad_file_with_its_name(tmp_path):
    meta, state = bundled()
    meta["threshold"] = float("nan")
    path = write(tmp_path / "nan.npz", meta, state)
    with pytest.raises(ValueError, match="nan.npz.*threshold"):
        HiLanderClustering(pretrained=str(path)).fit(
            make_embeddings(5, 8, random_state=0)[0]
        )


def test_a_merge_threshold_of_the_earlier_rule_is_not_misread(tmp_path):
    # the release before stored a merge threshold on another scale (summed
    # links over the smaller cluster's size) as "merge_threshold"
    meta, state = bundled()
    meta["params"] = {"merge_threshold": 1.58}
    path = write(tmp_path / "old.npz", meta, state)
    X = make_embeddings(20, 8, random_state=0)[0]
    est = HiLanderClustering(pretrained=str(path)).fit(X)
    assert est.merge_threshold_ == float("inf")
    meta["params"] = {"merge_link_density": 0.05}
    path = write(tmp_path / "new.npz", meta, state)
    est = HiLanderClustering(pretrained=str(path)).fit(X)
    # a file without the merge graph's size merged on the hierarchy's graph
    assert est.merge_threshold_ == 0.05 and est.merge_n_neighbors_ == 10
    meta["params"] = {"merge_link_density": 0.05, "merge_n_neighbors": 30}
    path = write(tmp_path / "wider.npz", meta, state)
    assert HiLanderClustering(pretrained=str(path)).fit(X).merge_n_neighbors_ == 30
    # a curve, when stored, gives the threshold at the input's sampling
    meta["params"] = {
        "merge_link_density": 0.05,
        "merge_threshold_curve": [[-1.0, 0.5], [1.0, 0.005]],
    }
    path = write(tmp_path / "curve.npz", meta, state)
    est = HiLanderClustering(pretrained=str(path)).fit(X)
    np.testing.assert_array_equal(
        est.merge_threshold_curve_, [[-1.0, 0.5], [1.0, 0.005]]
    )
    assert 0.005 < est.merge_threshold_ < 0.5
    meta["params"] = {"merge_link_density": 0.05, "merge_n_neighbors": 0}
    path = write(tmp_path / "zero.npz", meta, state)
    with pytest.raises(ValueError, match="zero.npz.*merge_n_neighbors"):
        HiLanderClustering(pretrained=str(path)).fit(X)


def test_params_are_checked_and_returned(tmp_path):
    meta, state = bundled()
    meta["params"] = {"n_neighbors": 7, "metric": "euclidean"}
    path = write(tmp_path / "net.npz", meta, state)
    assert _read(str(path))[3] == {"n_neighbors": 7, "metric": "euclidean"}
