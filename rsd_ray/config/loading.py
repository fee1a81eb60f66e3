"""A Config from YAML recipes and dotted `--set a.b=value` overrides, each key and type checked.

The recipe and the overrides are merged as raw mappings first, then built
into the dataclasses once, so an override is typed and checked like the
recipe's own value and an unknown key is an error, not a silent extra.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from rsd_ray.config.tree import Config, ConfigError


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """The embedded default, updated by a YAML recipe, then by dotted overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a mapping")
    _apply_overrides(data, overrides or [])
    return _build(Config, data, "").validate()


def load_config_from(cfg: Config, overrides: list[str]) -> Config:
    """A copy of `cfg` with dotted overrides applied (validated the same way)."""
    data = dataclasses.asdict(cfg)
    _apply_overrides(data, overrides)
    return _build(Config, data, "").validate()


def with_value(cfg: Config, key: str, value: Any) -> Config:
    """A copy of `cfg` with one dotted key set to a Python value (typed and validated as --set is);
    `cfg` itself is left as it was. For runtime switches: a sweep cell, a calibrated delta."""
    *path, leaf = key.split(".")

    def go(obj, at: list[str], where: str):
        if at:
            head, *rest = at
            sub = getattr(obj, head, None)
            if not dataclasses.is_dataclass(sub):
                raise ConfigError(f"{key}: {where}{head} is not a section")
            return dataclasses.replace(obj, **{head: go(sub, rest, f"{where}{head}.")})
        hints = typing.get_type_hints(type(obj))
        if leaf not in hints:
            raise ConfigError(f"unknown config key {where}{leaf}")
        return dataclasses.replace(obj, **{leaf: _coerce(hints[leaf], value, key, getattr(obj, leaf))})

    return go(cfg, path, "").validate()


def _apply_overrides(data: dict[str, Any], overrides: list[str]) -> None:
    """Set each `a.b=value` in the raw mapping (YAML-typed); _build then checks keys and types."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set wants key.sub=value, got {item!r}")
        node = data
        *parents, leaf = key.strip().split(".")
        for k in parents:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {k} is not a section")
        node[leaf] = yaml.safe_load(raw) if raw.strip() else ""


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown config key {where}{sorted(unknown)[0]} (known: {', '.join(sorted(names))})")
    obj = cls()
    for name, value in data.items():
        setattr(obj, name, _coerce(hints[name], value, f"{where}{name}", getattr(obj, name)))
    return obj


def _coerce(tp, value, where: str, current):
    if dataclasses.is_dataclass(tp):
        base = dataclasses.asdict(current) if current is not None else {}
        return _build(tp, {**base, **(value or {})} if isinstance(value, dict) else value, where + ".")
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where} must be one of {', '.join(map(str, typing.get_args(tp)))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, where, current)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{where} must be {tp.__name__}, got {value!r}")
    return value
