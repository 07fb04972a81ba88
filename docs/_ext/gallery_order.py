"""Order of the example gallery: the quickstart first, then by topic."""

from __future__ import annotations

from sphinx_gallery.sorting import FileNameSortKey

ORDER = (
    "plot_quickstart.py",
    "plot_omniglot_clusters.py",
    "plot_pair_threshold.py",
    "plot_hierarchy_levels.py",
)


class ExampleOrder(FileNameSortKey):
    """Listed examples in ``ORDER``, any others after them by file name."""

    def __call__(self, filename) -> tuple[int, str]:
        name = str(filename)
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)
