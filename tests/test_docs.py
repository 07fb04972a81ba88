"""Published numbers have one source, and the README's first example runs."""

import json
import os
import re
from pathlib import Path

import pytest

from benchmarks import _report
from sklearn_hilander.datasets import make_embeddings
from sklearn_hilander.metrics import bcubed_f_score

ROOT = _report.ROOT


def read(page):
    with open(os.path.join(ROOT, page)) as handle:
        return handle.read()


@pytest.mark.parametrize("page", _report.PAGES)
def test_generated_blocks_match_the_benchmark_json(page):
    text = read(page)
    assert "begin:" in text, f"{page} carries no generated block"
    assert _report.render_page(text) == text, (
        f"{page} differs from docs/*_results.json; run python -m benchmarks.publish"
    )


def test_a_hand_edited_number_is_caught(monkeypatch):
    text = read("README.md")
    # the first score of our row, bold or not
    stale = re.sub(
        r"(\| HiLanderClustering, meta-trained \| (?:\*\*)?)0\.",
        r"\g<1>9.",
        text,
        count=1,
    )
    assert stale != text and _report.render_page(stale) == text
    # and a changed result changes the page
    results = _report._load("quality_results.json")
    results["omniglot"]["rows"][0]["Fb"] = 0.123456
    monkeypatch.setattr(
        _report,
        "_load",
        lambda name: (
            results
            if "quality" in name
            else json.loads(open(os.path.join(_report.DOCS, name)).read())  # noqa: SIM115
        ),
    )
    assert "0.123 / " in _report.render_page(text)


def test_every_block_name_is_known():
    for page in _report.PAGES:
        for name in re.findall(r"begin: ([\w-]+)", read(page)):
            assert name in _report.BLOCKS, (page, name)


def test_readme_first_code_block_runs():
    block = re.search(r"```python\n(.*?)```", read("README.md"), re.S).group(1)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    labels, X_new = namespace["labels"], namespace["X_new"]
    assert labels.shape == (len(X_new),)
    assert namespace["est"].score(X_new, namespace["y_new"]) > 0.5


def test_the_demo_clusters_unseen_classes_among_themselves():
    # the demo once called predict on the unseen characters, which assigns
    # them to the training classes' clusters (Fb 0.22 instead of 0.60)
    import importlib.util

    path = Path(__file__).parents[1] / "examples" / "omniglot_demo.py"
    spec = importlib.util.spec_from_file_location("omniglot_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    X_train, y_train = make_embeddings(60, 16, random_state=0)
    X_test, y_test = make_embeddings(80, 16, random_state=1)
    est, labels = demo.cluster_unseen(X_train, y_train, X_test)
    assert labels.shape == (len(X_test),) and (labels >= 0).all()
    # measured 0.695; predicting into the training clusters gives 0.208
    assert bcubed_f_score(y_test, labels) > 0.6
