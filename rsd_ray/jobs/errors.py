"""The one error a job raises on bad input, before any cluster or model work."""

from __future__ import annotations


class JobError(RuntimeError):
    """Bad job input: reported as one line, before any cluster or model work."""
