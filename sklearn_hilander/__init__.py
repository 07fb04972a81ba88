"""Learn to cluster: Hi-LANDER hierarchical GNN clustering for scikit-learn."""

__all__ = ["HiLanderClustering"]
__version__ = "0.1.0"


def __getattr__(name):
    # imported on first use, so that `python -m sklearn_hilander --help`
    # answers without loading torch
    if name == "HiLanderClustering":
        from ._estimator import HiLanderClustering

        return HiLanderClustering
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
