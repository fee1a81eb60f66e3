"""rsd_ray: Reward-Guided Speculative Decoding (Liao et al., arXiv 2501.19324) on Ray."""

__version__ = "0.1.0"
