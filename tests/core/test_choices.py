"""Each list of choices has one definition: the config's fields accept exactly what the core does."""

import typing

from rsd_ray.config import BaselineConfig, RSDConfig
from rsd_ray.core.samples import AGGREGATES
from rsd_ray.core.weighting import KINDS


def test_the_config_accepts_the_cores_weightings_and_aggregates():
    assert typing.get_args(typing.get_type_hints(RSDConfig)["weighting"]) == KINDS
    assert typing.get_args(typing.get_type_hints(BaselineConfig)["aggregate"]) == AGGREGATES
