"""One typed config tree: dataclasses, YAML recipes, dotted `--set a.b=value` overrides.

Validation raises ConfigError with one clear line; nothing here exits.
With no recipe, the embedded default runs the tiny zoo on CPU.

    roles.py    a model role's section (draft, target, PRM)
    tree.py     the other sections, the Config tree and its validation
    loading.py  YAML recipes and dotted overrides -> a validated Config
"""

from rsd_ray.config.loading import load_config, load_config_from, with_value
from rsd_ray.config.roles import ModelConfig, PRMConfig
from rsd_ray.config.tree import (
    BaselineConfig,
    Config,
    ConfigError,
    DataConfig,
    GenerationConfig,
    GradingConfig,
    PromptConfig,
    RSDConfig,
    RunConfig,
)

__all__ = [
    "BaselineConfig", "Config", "ConfigError", "DataConfig", "GenerationConfig", "GradingConfig", "ModelConfig",
    "PRMConfig", "PromptConfig", "RSDConfig", "RunConfig", "load_config", "load_config_from", "with_value",
]
