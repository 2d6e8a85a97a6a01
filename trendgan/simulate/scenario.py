"""Scenario files: which labels exist, how popular each is over time, and where the pictures come from.

A scenario is a TOML file (examples in ``pipelines/scenarios/``)::

    name = "garments-demo"
    start = 2024-01-01        # first period (a TOML date or "YYYY-MM-DD"); weeks start on the Monday on/before it
    periods = 104             # observed periods (or: end = 2025-12-29, the last period's date)
    period = "W"              # W = weeks from Monday, M = calendar months, D = days
    per_period = 40           # images per period, all sources together
    volume_growth = 0.25      # optional: the feed grows 25 % from the first to the last period
    volume_variation = 0.1    # optional: random period-to-period variation of the volume (relative sd)
    noise = 0.05              # optional: random wobble of the true popularity (log sd, smoothed over 3 periods)
    holdout_periods = 13      # optional: also simulate the true shares this many periods past the end (no images)
    size = 64                 # image size in pixels (garments: drawn at this size; photo sets: resized, 0 = keep)

    [images]
    kind = "garments"         # garments | fashion-mnist | folder
    # fashion-mnist: path = "folder with the *-ubyte.gz files", split = "train" | "test" | "all"
    # folder:        path = "folder", csv = "styles.csv", label_column = "articleType",
    #                image_column = "image"  (or id_column = "id" with image_template = "images/{id}.jpg"),
    #                where = { masterCategory = "Apparel" }   (optional row filter)
    # allow_reuse = false     # photo sets: may a photo appear twice (then re-encoded mirrored and cropped)?

    [[sources]]               # optional; default: influencers (leading by 4), magazine, street
    name = "influencers"
    weight = 0.2              # share of each period's images
    lead = 4                  # this source sees the market's shares 4 periods early (a leading signal)
    likes = 1500              # median likes of a post

    [labels."red striped tee"]   # garments: the label is the style, '<colour> [pattern] <garment>'
    curve = "declining"          # flat | rising | declining | seasonal | emerging | fad
    high = 1.8                   # curve parameters, see trendgan.simulate.curves
    low = 0.3

    [labels."yellow floral dress"]
    curve = "seasonal"
    peak_month = 7

    [labels.fad-bag]              # any label name, with the style given explicitly
    style = "pink dotted bag"
    curve = "fad"
    peak = 2025-06-02             # a date, or a position (0 = first period, 1 = last period)
    width = 6                     # periods

For Fashion-MNIST the labels are its class names ("Trouser", "Bag", ... or their numbers "1", "8"); for a folder
the values of ``label_column``. Only the labels listed are sampled. Relative paths are resolved from the scenario
file's folder.

Curve parameters that are times: ``start`` (emerging) and ``peak`` (fad) take a date or a position; ``ramp``
(emerging) and ``width`` (fad) take a number of periods. The true trend labels follow
``trendgan.simulate.curves``: flat -> stable, fad -> what it is doing at the end (with ``"curve": "fad"``).
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trendgan.config import load_toml
from trendgan.errors import ConfigError
from trendgan.periods import parse_period
from trendgan.simulate.curves import DEFAULTS, Curve
from trendgan.simulate.garments import GarmentStyle, parse_style

PERIODS = "WMD"  # the periods a scenario can be written in (trendgan.periods defines them)
IMAGE_KINDS = ("garments", "fashion-mnist", "folder")

DEFAULT_SOURCES = [
    {"name": "influencers", "weight": 0.15, "lead": 4, "likes": 1500},
    {"name": "magazine", "weight": 0.25, "lead": 0, "likes": 300},
    {"name": "street", "weight": 0.60, "lead": 0, "likes": 40},
]

# The built-in demo: what `trendgan simulate OUT` makes with no scenario. pipelines/scenarios/garments-demo.toml is
# the same scenario written out (a test keeps the two equal).
DEMO_SCENARIO: dict[str, Any] = {
    "name": "garments-demo",
    "start": "2024-01-01",
    "periods": 104,
    "period": "W",
    "per_period": 40,
    "volume_growth": 0.25,
    "volume_variation": 0.1,
    "noise": 0.05,
    "holdout_periods": 13,
    "size": 64,
    "images": {"kind": "garments"},
    "sources": copy.deepcopy(DEFAULT_SOURCES),
    "labels": {
        "red striped tee": {"curve": "declining", "high": 3.1, "low": 0.3},
        "navy solid trousers": {"curve": "flat", "level": 1.0},
        "yellow floral dress": {"curve": "seasonal", "peak_month": 7, "amplitude": 0.9},
        "beige checked coat": {"curve": "seasonal", "peak_month": 1, "amplitude": 0.8},
        "green solid sneaker": {"curve": "emerging", "start": 0.5, "ramp": 70, "level": 1.2},
        "black solid bag": {"curve": "rising", "low": 0.4, "high": 1.5},
        "pink dotted skirt": {"curve": "fad", "peak": 0.85, "width": 5, "height": 2.2, "base": 0.1},
        "blue striped shorts": {"curve": "flat", "level": 0.8},
    },
}


@dataclass
class SourceSpec:
    name: str
    weight: float
    lead: int = 0
    likes: float = 100.0

    @property
    def leading(self) -> bool:
        return self.lead > 0


@dataclass
class ImageSet:
    kind: str = "garments"
    path: Path | None = None
    split: str = "train"
    csv: str = "labels.csv"
    image_column: str | None = "image"
    label_column: str = "label"
    id_column: str | None = None
    image_template: str | None = None
    where: dict[str, str] = field(default_factory=dict)
    allow_reuse: bool = False


@dataclass
class LabelSpec:
    name: str
    curve_shape: str
    params: dict[str, Any]          # as written: dates, positions and period counts
    style: GarmentStyle | None = None


@dataclass
class Scenario:
    """A parsed scenario. ``curves()`` turns the label tables into curves for the current date range."""

    name: str
    start: dt.date
    periods: int
    period: str = "W"
    per_period: int = 40
    volume_growth: float = 0.0
    volume_variation: float = 0.0
    noise: float = 0.0
    holdout_periods: int = 0
    size: int = 64
    images: ImageSet = field(default_factory=ImageSet)
    sources: list[SourceSpec] = field(default_factory=list)
    labels: list[LabelSpec] = field(default_factory=list)

    @property
    def period_starts(self) -> list[dt.date]:
        """Start dates of the observed periods."""
        return period_starts(self.start, self.period, self.periods)

    @property
    def end(self) -> dt.date:
        return self.period_starts[-1]

    def curves(self) -> list[Curve]:
        """One curve per label, its dates and period counts converted to positions in this date range."""
        last = max(self.periods - 1, 1)
        curves = []
        for label in self.labels:
            params = {}
            for key, value in label.params.items():
                if key in ("start", "peak"):
                    params[key] = self._position(value, f"labels.{label.name}.{key}")
                elif key in ("ramp", "width"):
                    params[key] = _number(value, f"labels.{label.name}.{key}") / last
                else:
                    params[key] = _number(value, f"labels.{label.name}.{key}")
            try:
                curves.append(Curve.make(label.curve_shape, **params))
            except ConfigError as exc:
                raise ConfigError(f"[labels.{label.name}] {exc}") from None
        return curves

    def _position(self, value: Any, where: str) -> float:
        if isinstance(value, (dt.date, str)) and not _is_number_text(value):
            day = _as_date(value, where)
            return period_index(self.start, self.period, day) / max(self.periods - 1, 1)
        return _number(value, where)

    def as_dict(self) -> dict:
        """The scenario as plain TOML-like values (for truth.json)."""
        return {
            "name": self.name, "start": self.start.isoformat(), "periods": self.periods, "period": self.period,
            "per_period": self.per_period, "volume_growth": self.volume_growth, "volume_variation": self.volume_variation,
            "noise": self.noise, "holdout_periods": self.holdout_periods, "size": self.size,
            "images": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.images).items()},
            "sources": [vars(s) for s in self.sources],
            "labels": {l.name: {"curve": l.curve_shape, **{k: _plain(v) for k, v in l.params.items()}} for l in self.labels},
        }


# --------------------------------------------------------------------------- loading


def load_scenario(scenario: str | Path | dict | None = None, **overrides: Any) -> Scenario:
    """Read a scenario from a TOML file or a dict (None: the built-in garments demo).

    ``overrides`` replace top-level settings (e.g. ``periods=20, per_period=10, start="2023-01-02", size=96``);
    None values are ignored.
    """
    base_dir = Path.cwd()
    if scenario is None:
        table = copy.deepcopy(DEMO_SCENARIO)
    elif isinstance(scenario, dict):
        table = copy.deepcopy(scenario)
    else:
        path = Path(scenario).expanduser()
        if not path.is_file():
            raise ConfigError(f"scenario file {path} not found; examples are in pipelines/scenarios/ of the project")
        table = load_toml(path)
        base_dir = path.resolve().parent
    for key, value in overrides.items():
        if value is not None:
            table[key] = value
            if key == "periods":
                table.pop("end", None)
    return _parse(table, base_dir)


_TOP_KEYS = {"name", "start", "end", "periods", "period", "per_period", "volume_growth", "volume_variation", "noise",
             "holdout_periods", "size", "images", "sources", "labels", "seed", "description"}


def _parse(table: dict, base_dir: Path) -> Scenario:
    unknown = sorted(set(table) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown scenario setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}")
    period = parse_period(table.get("period", "W"), allowed=PERIODS)
    if "start" not in table:
        raise ConfigError("the scenario needs a start date, e.g. start = 2024-01-01")
    start = snap_to_period(_as_date(table["start"], "start"), period)
    if "periods" in table:
        periods = _integer(table["periods"], "periods", minimum=2)
    elif "end" in table:
        periods = period_index(start, period, _as_date(table["end"], "end")) + 1
        if periods < 2:
            raise ConfigError(f"end {table['end']} must be at least one period after start {start}")
    else:
        raise ConfigError("the scenario needs periods = N or an end date")
    images = _parse_images(table.get("images", {"kind": "garments"}), base_dir)
    scenario = Scenario(
        name=str(table.get("name", "scenario")),
        start=start,
        periods=int(periods),
        period=period,
        per_period=_integer(table.get("per_period", 40), "per_period", minimum=1),
        volume_growth=_number(table.get("volume_growth", 0.0), "volume_growth"),
        volume_variation=_number(table.get("volume_variation", 0.0), "volume_variation", minimum=0),
        noise=_number(table.get("noise", 0.0), "noise", minimum=0),
        holdout_periods=_integer(table.get("holdout_periods", 0), "holdout_periods", minimum=0),
        # Drawn garments default to 64 px; photo sets keep their own size unless asked.
        size=_integer(table.get("size", 64 if images.kind == "garments" else 0), "size", minimum=0),
        images=images,
        sources=_parse_sources(table.get("sources", DEFAULT_SOURCES)),
        labels=[],
    )
    if scenario.images.kind == "garments" and scenario.size < 16:
        raise ConfigError(f"size {scenario.size} is too small for drawn garments; use 16 or more (64 is the default)")
    labels = table.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ConfigError("the scenario lists no labels; add tables like [labels.\"red striped tee\"] with a curve")
    scenario.labels = [_parse_label(name, spec, scenario.images.kind) for name, spec in labels.items()]
    scenario.curves()  # fail now, with the label's name, rather than halfway through writing images
    return scenario


def _parse_images(spec: Any, base_dir: Path) -> ImageSet:
    if not isinstance(spec, dict):
        raise ConfigError("[images] must be a table, e.g. [images] kind = \"garments\"")
    known = {f for f in ImageSet.__dataclass_fields__}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"[images] has unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    images = ImageSet(**{k: v for k, v in spec.items() if k != "path"})
    if images.kind not in IMAGE_KINDS:
        raise ConfigError(f"[images] kind {images.kind!r} is not one of {', '.join(IMAGE_KINDS)}")
    if images.kind != "garments":
        if "path" not in spec:
            raise ConfigError(f"[images] kind = {images.kind!r} needs path = the folder holding the images")
        images.path = (base_dir / Path(spec["path"]).expanduser()).resolve()
    if images.image_template and not images.id_column:
        raise ConfigError("[images] image_template needs id_column, the CSV column that fills {id}")
    return images


def _parse_sources(spec: Any) -> list[SourceSpec]:
    if not isinstance(spec, list) or not spec:
        raise ConfigError("sources must be a list of tables: [[sources]] name = \"street\" weight = 0.6")
    sources = []
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"source #{i + 1} needs a name")
        unknown = sorted(set(item) - {"name", "weight", "lead", "likes"})
        if unknown:
            raise ConfigError(f"source {item['name']!r} has unknown setting(s) {', '.join(unknown)}; known: name, weight, lead, likes")
        name = str(item["name"])
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ConfigError(f"source name {name!r} becomes a folder name: use letters, digits, '.', '_' or '-'")
        sources.append(SourceSpec(
            name=name,
            weight=_number(item.get("weight", 1.0), f"sources.{name}.weight", minimum=0),
            lead=_integer(item.get("lead", 0), f"sources.{name}.lead", minimum=0),
            likes=_number(item.get("likes", 100), f"sources.{name}.likes", minimum=0),
        ))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"source names must be unique, got {', '.join(names)}")
    total = sum(s.weight for s in sources)
    if total <= 0:
        raise ConfigError("at least one source needs a weight above 0")
    for s in sources:
        s.weight = s.weight / total
    return sources


def _parse_label(name: str, spec: Any, kind: str) -> LabelSpec:
    if not isinstance(spec, dict) or "curve" not in spec:
        raise ConfigError(f"[labels.{name}] needs a curve (one of {', '.join(DEFAULTS)})")
    params = {k: v for k, v in spec.items() if k not in ("curve", "style")}
    shape = str(spec["curve"])
    if shape not in DEFAULTS:
        raise ConfigError(f"[labels.{name}] curve {shape!r} is not one of {', '.join(DEFAULTS)}")
    style = None
    if kind == "garments":
        style = parse_style(str(spec.get("style", name)))
    elif "style" in spec:
        raise ConfigError(f"[labels.{name}] style only applies to drawn garments; labels of photo sets are their classes")
    return LabelSpec(name=str(name), curve_shape=shape, params=params, style=style)


# --------------------------------------------------------------------------- periods and dates


def snap_to_period(day: dt.date, period: str) -> dt.date:
    """The start of the period holding ``day``: its Monday (W), the 1st of its month (M), itself (D)."""
    if period == "W":
        return day - dt.timedelta(days=day.weekday())
    if period == "M":
        return day.replace(day=1)
    return day


def period_starts(start: dt.date, period: str, n: int) -> list[dt.date]:
    return [shift_period(start, period, k) for k in range(n)]


def shift_period(start: dt.date, period: str, k: int) -> dt.date:
    if period == "W":
        return start + dt.timedelta(weeks=k)
    if period == "D":
        return start + dt.timedelta(days=k)
    month = start.month - 1 + k
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def period_length(start: dt.date, period: str) -> int:
    """Days in the period beginning at ``start``."""
    if period == "W":
        return 7
    if period == "D":
        return 1
    return calendar.monthrange(start.year, start.month)[1]


def period_index(start: dt.date, period: str, day: dt.date) -> float:
    """How many periods ``day`` lies after ``start`` (fractional within a period)."""
    if period == "W":
        return (day - start).days / 7
    if period == "D":
        return float((day - start).days)
    months = (day.year - start.year) * 12 + day.month - start.month
    return months + (day.day - 1) / calendar.monthrange(day.year, day.month)[1]


def month_of_year(day: dt.date, days: float = 0.0) -> float:
    """Fractional month (1.0 = 1 January) of the moment ``days`` after ``day``."""
    moment = day + dt.timedelta(days=days)
    return moment.month + (moment.day - 1) / calendar.monthrange(moment.year, moment.month)[1]


# --------------------------------------------------------------------------- value checks


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date; write it as YYYY-MM-DD") from None


def _is_number_text(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d*)?\s*", value) is not None


def _number(value: Any, where: str, minimum: float | None = None) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where} should be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} should be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{where} should be at least {minimum}, got {value!r}")
    return number


def _integer(value: Any, where: str, minimum: int | None = None) -> int:
    number = _number(value, where, minimum)
    if number != int(number):
        raise ConfigError(f"{where} should be a whole number, got {value!r}")
    return int(number)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
