"""Stand-ins for the real checkpoints: the real tokenizer, shapes and file layouts, random weights.

They let the real-checkpoint path (loading, chat template, merged step
delimiters, PRM input formats, tensor-parallel head splits) be exercised on a
CPU and in tests, where no model can be downloaded. See tokenizer/README.md
for where the tokenizer comes from.
"""

from rsd_ray.standins.build import build_standins
from rsd_ray.standins.shapes import STANDINS

__all__ = ["STANDINS", "build_standins"]
