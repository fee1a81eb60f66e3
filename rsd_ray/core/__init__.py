"""The pure RSD algorithm: records, weighting, acceptance, stop rules, per-request state, statistics.

Nothing in this package imports Ray, DeepSpeed or a model library: it is
driven by a scheduler (the local runner or the Ray coordinator) and tested on
hand-made rewards and steps.
"""
