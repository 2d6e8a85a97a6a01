from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest

from trendgan.config import apply_overrides, from_dict, to_dict
from trendgan.errors import ConfigError


@dataclass
class Example:
    k: Optional[int] = None
    period: Literal["W", "M"] = "W"
    rate: float = 0.1
    folders: list[Path] = field(default_factory=list)


def test_from_dict_types_and_overrides():
    table = apply_overrides({"styles": {"k": 3}}, ["styles.period=M", "styles.rate=1", "styles.folders=['a','b']"])
    settings = from_dict(Example, table["styles"], "styles")
    assert settings == Example(k=3, period="M", rate=1.0, folders=[Path("a"), Path("b")])
    assert to_dict(settings)["folders"] == ["a", "b"]


@pytest.mark.parametrize("table, message", [
    ({"kk": 1}, "unknown setting"),
    ({"k": "many"}, "styles.k"),
    ({"period": "D"}, "one of"),
])
def test_bad_settings_are_named(table, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Example, table, "styles")


def test_override_without_equals():
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides({}, ["styles.k"])
