"""Learn to cluster: Hi-LANDER hierarchical GNN clustering for scikit-learn."""

from ._estimator import HiLanderClustering

__all__ = ["HiLanderClustering"]
__version__ = "0.1.0"
