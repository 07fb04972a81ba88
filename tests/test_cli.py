"""The command line, run in-process on files written to a temporary folder."""

import io

import numpy as np
import pytest

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
    status = main([str(a) for a in argv], out=out)
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
    np.testing.assert_array_equal(np.load(labels), expected.predict(X_test))


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
            "n_neighbors",
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
    assert message in capsys.readouterr().err
