"""Sphinx configuration: ``make docs`` builds the site into docs/_build/html."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The gallery scripts train torch networks in this process. With OpenMP's
# default (active, spinning) wait policy, torch's threads slow down some
# fifteen-fold whenever another process competes for the cores (measured on
# 2 cores beside a busy process: 171 s against 11 s for one fit); passive
# waiting avoids that. Must be set before torch is first imported (by
# sklearn_hilander, below).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # the gallery scripts draw without a display

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))  # local extensions
sys.path.insert(0, str(ROOT))  # the package, also without an editable install

import sklearn_hilander  # noqa: E402

project = "sklearn-hilander"
author = "sklearn-hilander contributors"
copyright = "sklearn-hilander contributors"
release = sklearn_hilander.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "markdown_pages",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# the markdown in docs/ is published through markdown_pages as benchmarks/*.rst
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# -- markdown pages (docs/_ext/markdown_pages.py) ----------------------------
# docs/*_results.md are always converted; these are converted as well.
markdown_pages_extra = ["design.md", "pretrained.md"]

# -- autodoc / numpydoc --------------------------------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc sections already give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # run only plot_*.py; the other scripts in examples/ are slow command-line
    # tools (one writes package data), so they are not even listed
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(?!plot_)",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "default_thumb_file": None,
    "min_reported_time": 1,
}

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"sklearn-hilander {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "description": "Learn to cluster: Hi-LANDER as a scikit-learn estimator",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
    "show_relbars": True,
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]
}
html_show_sourcelink = False
