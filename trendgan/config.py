"""Typed settings: dataclasses filled from TOML tables and dotted ``key=value`` overrides.

Each stage defines its settings as a dataclass next to its code (e.g. ``trendgan.styles.StyleSettings``);
this module turns TOML and overrides into those dataclasses with type checks and clear errors.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any, TypeVar

from trendgan.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

T = TypeVar("T")


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"settings file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def apply_overrides(table: dict, overrides: list[str] | None) -> dict:
    """Apply ``section.key=value`` overrides (value parsed as TOML, else kept as a string)."""
    result = _deep_copy(table)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} should look like section.key=value")
        dotted, raw = item.split("=", 1)
        keys = [k for k in dotted.strip().split(".") if k]
        if not keys:
            raise ConfigError(f"override {item!r} names no setting")
        value = parse_value(raw.strip())
        node = result
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {key} is not a table")
        node[keys[-1]] = value
    return result


def parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def from_dict(cls: type[T], table: dict | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``table``, rejecting unknown keys and values of the wrong type."""
    table = dict(table or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        label = f"[{where}] " if where else ""
        raise ConfigError(f"{label}unknown setting(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in table.items():
        values[name] = _coerce(value, hints[name], f"{where + '.' if where else ''}{name}")
    return cls(**values)


def to_dict(settings: Any) -> dict:
    """Plain dict of a settings dataclass (Paths as strings), for config.json."""
    def convert(value):
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return {k: convert(v) for k, v in dataclasses.asdict(settings).items()}


def _coerce(value: Any, hint: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"setting {name}: {value!r} fits none of {hint}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"setting {name} should be a list, got {value!r}")
        inner = args[0] if args else Any
        return [_coerce(v, inner, name) for v in value]
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"setting {name} should be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"setting {name} should be a path, got {value!r}")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"setting {name} should be true or false, got {value!r}")
    if hint in (int, float, str) and not isinstance(value, hint):
        raise ConfigError(f"setting {name} should be {hint.__name__}, got {value!r}")
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value, name)
    return value


def _deep_copy(table: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in table.items()}
