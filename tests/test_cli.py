"""The command line, run in-process on files written to a temporary folder."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_hilander._cli import main, read_data


@pytest.fixture(scope="module")
def files(tmp_path_factory, small_task):
    X_train, y_train, X_test, y_test = small_task
    root = tmp_path_factory.mktemp("cli")
    np.savez(root / "train.npz", X=X_train, y=y_train)
    np.save(root / "test.npy", X_test)
    np.save(root / "test_labels.npy", y_test)
    with open(root / "test.csv", "w") as handle:
        names = [f"dim{i}" for i in range(X_test.shape[1])]
        handle.write(",".join(names + ["person"]) + "\n")
        for row, label in zip(X_test, y_test):
            handle.write(",".join(map(repr, row.tolist())) + f",id-{label}\n")
    return root


def run(*argv):
    out = io.StringIO()
    try:
        status = main([str(a) for a in argv], out=out)
    except SystemExit as exc:  # argparse refuses an option
        status = exc.code
    return status, out.getvalue()


def test_fit_then_predict_writes_the_estimators_labels(files, small_task):
    from sklearn_hilander import HiLanderClustering

    X_train, y_train, X_test, _ = small_task
    model, labels = files / "net.npz", files / "labels.npy"
    status, text = run("fit", files / "train.npz", "--model", model, "--max-iter", 5)
    assert status == 0 and "60 classes" in text and model.exists()
    status, text = run(
        "predict", files / "test.npy", "--model", model, "--output", labels
    )
    assert status == 0 and "clusters" in text
    expected = HiLanderClustering(max_iter=5, random_state=0).fit(X_train, y_train)
    np.testing.assert_array_equal(np.load(labels), expected.fit_predict(X_test))


def test_predict_finds_about_the_number_of_clusters_asked_for(files):
    labels = files / "told.npy"
    for n_clusters in (20, 60):
        status, _ = run(
            "predict",
            files / "test.npy",
            "--n-clusters",
            n_clusters,
            "--output",
            labels,
        )
        found = np.unique(np.load(labels)).size
        assert status == 0 and abs(np.log(found / n_clusters)) < np.log(1.2)
    status, _ = run(
        "predict", files / "test.npy", "--n-clusters", 0, "--output", labels
    )
    assert status == 2


def test_evaluate_reads_csv_with_a_string_label_column(files, small_task):
    _, _, X_test, y_test = small_task
    X, y = read_data(str(files / "test.csv"), "person")
    np.testing.assert_allclose(X, X_test)
    assert y[0] == f"id-{y_test[0]}"
    status, text = run("evaluate", files / "test.csv", "--labels", "person")
    assert status == 0
    bcubed = next(line for line in text.splitlines() if line.startswith("BCubed"))
    fb = float(bcubed.split("/")[-1])
    assert fb > 0.5, text
    assert f"classes              {np.unique(y_test).size}" in text


def test_labels_from_a_separate_file_and_csv_output(files):
    out = files / "labels.csv"
    status, text = run(
        "evaluate",
        files / "test.npy",
        "--labels",
        files / "test_labels.npy",
        "--output",
        out,
        "--min-cluster-size",
        3,
    )
    assert status == 0 and "NMI" in text
    labels = np.loadtxt(out, skiprows=1)
    assert (labels == -1).any() and labels.max() >= 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "test.npy", "--model", "x.npz"], "name the labels with --labels"),
        (["predict", "missing.npy", "--output", "o.npy"], "no such file"),
        (["evaluate", "test.csv", "--labels", "nobody"], "has no column 'nobody'"),
        (["evaluate", "test.npy"], "needs the true classes"),
        (
            ["predict", "test.npy", "--output", "o.npy", "--n-neighbors", "0"],
            "--n-neighbors: must be at least 1",
        ),
        (
            ["predict", "test.npy", "--output", "o.npy", "--model", "test.npy"],
            "not a readable HiLanderClustering network file",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(files, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(files)
    status, _ = run(*argv)
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") <= 2 and "Traceback" not in err


# ------------------------------------------------------- issue 15 failures
@pytest.fixture
def broken(tmp_path, monkeypatch):
    """A folder of odd input files; training is made to fail loudly, so a
    test passing proves the command stopped before any work started."""
    from sklearn_hilander import HiLanderClustering
    from sklearn_hilander._pretrained import PRETRAINED_PATH

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("1,2\n3,4\n")
    np.savez(tmp_path / "no_arrays.npz")
    np.savez(tmp_path / "no_x.npz", features=np.ones((5, 2)), y=np.arange(5))
    X = np.random.RandomState(0).normal(size=(30, 4))
    np.save(tmp_path / "ok.npy", X)
    np.savez(tmp_path / "ok.npz", X=X, y=np.arange(30) % 3)
    rows = ["a,b,c", "1,2,3", "4,nan,6", "7,8,9"]
    (tmp_path / "nan.csv").write_text("\n".join(rows) + "\n")
    with np.load(PRETRAINED_PATH) as data:
        entries = dict(data)
    entries["__meta__"] = np.array('{"format": 1, "config": []}')
    np.savez(tmp_path / "bad_model.npz", **entries)
    return tmp_path, HiLanderClustering


def refuse_training(monkeypatch, HiLanderClustering):
    def no_work(self, *args, **kwargs):
        raise AssertionError("the command started work before checking its input")

    monkeypatch.setattr(HiLanderClustering, "fit", no_work)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "empty.npy", "--output", "o.npy"], "empty.npy is empty"),
        (["predict", "empty.npz", "--output", "o.npy"], "empty.npz is empty"),
        (["predict", "no_arrays.npz", "--output", "o.npy"], "holds no arrays"),
        (["predict", "no_x.npz", "--output", "o.npy"], "has no array 'X'"),
        (["predict", "text.npz", "--output", "o.npy"], "not an .npz (zip) archive"),
        (["predict", "nan.csv", "--output", "o.npy"], "line 3, column 'b' holds nan"),
        (
            ["predict", "ok.npy", "--output", "o.npy", "--model", "bad_model.npz"],
            "bad_model.npz' is not a valid HiLanderClustering network file",
        ),
        (
            ["fit", "ok.npz", "--model", "missing/dir/net.npz"],
            "does not exist; create it first",
        ),
        (["fit", "ok.npz", "--model", "net.pt"], "unknown extension '.pt'"),
        (["fit", "ok.npz", "--model", "."], "unknown extension"),
        (["predict", "ok.npy", "--output", "labels.json"], "unknown extension"),
        (["predict", "ok.npy", "--output", "nowhere/x.npy"], "does not exist"),
        (["evaluate", "ok.npz", "--output", "nowhere/x.csv"], "does not exist"),
        (["demo", "--n-neighbors", "0"], "--n-neighbors: must be at least 1"),
        (["demo", "--link-threshold", "2"], "must be from 0 to 1"),
        (["fit", "ok.npz", "--model", "m.npz", "--max-iter", "0"], "--max-iter"),
        (["predict", "ok.npy", "--output", "o.npy", "--n-jobs", "0"], "0 workers"),
    ],
)
def test_issue_cli_failures_are_one_line_and_before_any_work(
    broken, capsys, monkeypatch, argv, message
):
    _, HiLanderClustering = broken
    refuse_training(monkeypatch, HiLanderClustering)
    monkeypatch.setattr(
        "sklearn_hilander.datasets.load_omniglot_features",
        lambda: pytest.fail("demo encoded Omniglot before checking its options"),
    )
    status, _ = run(*argv)
    err = capsys.readouterr().err
    assert status == 2, err
    last = err.strip().splitlines()[-1]
    assert message in last, err
    assert "Traceback" not in err and "array(" not in err and "pickle" not in err
    assert not any(p.name.startswith("o.") for p in broken[0].iterdir())


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".npy", "-"])
def test_output_format_follows_the_extension(broken, capsys, suffix):
    root, _ = broken
    path = "-" if suffix == "-" else root / f"labels{suffix}"
    status, text = run("predict", "ok.npy", "--output", path, "-q")
    assert status == 0, capsys.readouterr().err
    if suffix == "-":
        labels = np.array([int(line) for line in text.splitlines()])
        assert "labels written to stdout" in capsys.readouterr().err
    elif suffix == ".npy":
        labels = np.load(path)
    elif suffix == ".csv":
        assert path.read_text().startswith("label\n")
        labels = np.loadtxt(path, skiprows=1, dtype=int)
    else:
        lines = path.read_text().splitlines()
        assert all(line.lstrip("-").isdigit() for line in lines)
        labels = np.array(lines, dtype=int)
    assert labels.shape == (30,) and labels.min() == 0


def test_help_does_not_import_torch_and_every_option_is_explained():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sklearn_hilander._cli import main\n"
        "for argv in ([], ['fit'], ['predict'], ['evaluate'], ['demo']):\n"
        "    try:\n"
        "        main(argv + ['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch' in sys.modules, 'sklearn_hilander._estimator' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False False"
    assert "-q hides them" in done.stdout  # how to get or hide progress

    from sklearn_hilander._cli import _parser

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.choices and a.dest == "command")
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            if action.option_strings and not action.required:
                has_default = action.default not in (None, False, 0)
                if has_default or action.dest in ("n_neighbors", "metric", "n_jobs"):
                    assert "default" in action.help, (name, action.dest)


@pytest.mark.parametrize(
    "tty, flags, expected",
    [
        (True, [], 1),
        (False, [], 0),
        (True, ["-q"], 0),
        (False, ["-v"], 1),
        (False, ["-vv"], 2),
    ],
)
def test_progress_is_shown_by_default_on_a_terminal(
    broken, monkeypatch, tty, flags, expected
):
    _, HiLanderClustering = broken
    seen = {}

    def capture(self, *args, **kwargs):
        seen["verbose"] = self.verbose
        raise ValueError("stop here")

    monkeypatch.setattr(HiLanderClustering, "fit", capture)
    monkeypatch.setattr("sys.stderr.isatty", lambda: tty, raising=False)
    status, _ = run("fit", "ok.npz", "--model", "net.npz", *flags)
    assert status == 2 and seen["verbose"] == expected


# ------------------------------------------------------ generated files
CLI_EXAMPLES = 120

numeric = hnp.arrays(
    "f8",
    st.tuples(st.integers(0, 20), st.integers(0, 4)),
    elements=st.floats(-1e6, 1e6),
)
data_files = st.one_of(
    st.tuples(st.sampled_from([".npy", ".npz", ".csv"]), numeric),
    st.tuples(st.just(".npy"), st.binary(max_size=64)),
    st.tuples(st.just(".npz"), st.binary(max_size=64)),
    st.tuples(
        st.just(".csv"), st.text(alphabet="0123456789.,-e\nnaiNf x", max_size=80)
    ),
    st.tuples(
        st.sampled_from([".npy", ".npz"]),
        hnp.arrays(
            dtype=st.sampled_from(["f4", "f8", "i4", "U3", "S2", "?", "c8", "M8[s]"]),
            shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
        ),
    ),
)


@settings(
    max_examples=CLI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=data_files,
    key=st.sampled_from(["X", "features"]),
    command=st.sampled_from(["predict", "evaluate"]),
)
def test_generated_data_files_cluster_or_fail_in_one_line(
    tmp_path, capsys, data, key, command
):
    suffix, content = data
    path = tmp_path / f"data{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    elif suffix == ".csv":
        np.savetxt(path, content, delimiter=",")
    elif suffix == ".npy":
        np.save(path, content)
    else:
        np.savez(path, **{key: content, "y": np.arange(content.size) % 2})
    output = tmp_path / "labels.npy"
    argv = [command, path, "--output", output, "-q"]
    if command == "evaluate":
        argv += ["--labels", "y"] if suffix == ".npz" else []
    status, _ = run(*argv)
    err = capsys.readouterr().err
    assert status in (0, 2)
    event(f"exit {status}")
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("error: "), err
        assert "Traceback" not in err and "array(" not in err
    else:
        assert np.load(output).ndim == 1
