"""Periods: the one definition of the time buckets a style's share is counted in.

A period has a one-letter code (``D``, ``W``, ``M``, ``Q``, ``Y``) used in run folders and frames, and a word
(``day``, ``week``, ``month``, ``quarter``, ``year``) people type; :func:`parse_period` accepts either, in any case,
and the plural or ``-ly`` forms (``weeks``, ``weekly``). A week runs Monday to Sunday and starts on its Monday; the
other periods start on their first day. Every stage takes its periods from here, each keeping the subset it supports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trendgan.errors import ConfigError


@dataclass(frozen=True)
class Period:
    code: str              # D W M Q Y
    word: str              # day week month quarter year (also DuckDB's date_trunc unit)
    pandas_period: str     # pandas Period alias whose start_time is the period start (W-SUN: weeks end on Sunday)
    frequency: str         # pandas date_range frequency between period starts
    season_length: int     # periods in a year (1: no season)
    spacing_days: tuple[float, float]  # the range of spacings between period starts that mean this period

    @property
    def description(self) -> str:
        return "week (from Monday)" if self.code == "W" else self.word


PERIODS: dict[str, Period] = {
    "D": Period("D", "day", "D", "D", 7, (0.5, 1.5)),
    "W": Period("W", "week", "W-SUN", "7D", 52, (6, 8)),
    "M": Period("M", "month", "M", "MS", 12, (27, 32)),
    "Q": Period("Q", "quarter", "Q", "QS", 4, (85, 95)),
    "Y": Period("Y", "year", "Y", "YS", 1, (360, 370)),
}
_WORDS = {p.word: p.code for p in PERIODS.values()} | {"daily": "D", "monthly": "M", "quarterly": "Q", "yearly": "Y",
                                                         "annual": "Y", "weekly": "W"}


def parse_period(value, allowed: str = "WMQYD") -> str:
    """The period code of ``value`` ("W", "week", "weeks", "weekly", "w" ...); ConfigError names the choices."""
    text = str(value or "").strip().lower()
    code = text.upper() if len(text) == 1 else _WORDS.get(text) or _WORDS.get(text.rstrip("s"))
    if code not in PERIODS or code not in allowed:
        codes = [c for c in allowed if c in PERIODS]
        described = [f"{c} (weeks from Monday)" if c == "W" else c for c in codes]
        raise ConfigError(f"unknown period {value!r}: it is not one of {_one_of(codes)}; use {_one_of(described)}, "
                          f"or the words {', '.join(PERIODS[c].word for c in codes)}")
    return code


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def period(value) -> Period:
    """The :class:`Period` of a code or word."""
    return PERIODS[parse_period(value)]


def season_length(value) -> int:
    """Periods in a year: W 52, M 12, Q 4, D 7 (a week), Y 1 (no season)."""
    return period(value).season_length


def period_start(posted_at, code: str = "W"):
    """The start of the period (Monday of the week, first of the month/quarter/year) holding each date; NaT stays."""
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(posted_at), utc=False)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    starts = stamps.dt.to_period(period(code).pandas_period).dt.start_time
    return starts.astype("datetime64[ns]")


def all_periods(first, last, code: str):
    """Every period start from ``first`` to ``last``, gaps included, so each series has a regular frequency."""
    import pandas as pd

    spans = pd.period_range(first, last, freq=period(code).pandas_period)
    return pd.DatetimeIndex(spans.start_time).astype("datetime64[ns]")


def period_grid(first, last, code: str):
    """Period starts from ``first`` to ``last`` stepping by the period (``first`` is taken as a period start)."""
    import pandas as pd

    return pd.DatetimeIndex(pd.date_range(first, last, freq=period(code).frequency))


def future_periods(last, h: int, code: str):
    """The ``h`` period starts after ``last``."""
    import pandas as pd

    code = parse_period(code)
    last = pd.Timestamp(last)
    if code in ("D", "W"):
        return pd.DatetimeIndex([last + pd.Timedelta(days=(7 if code == "W" else 1) * k) for k in range(1, h + 1)])
    offset = {"M": pd.DateOffset(months=1), "Q": pd.DateOffset(months=3), "Y": pd.DateOffset(years=1)}[code]
    return pd.DatetimeIndex([last + offset * k for k in range(1, h + 1)])


def infer_period(ds) -> str:
    """The period code from the spacing of period starts; ConfigError when it is not one of them."""
    import pandas as pd

    stamps = pd.DatetimeIndex(pd.to_datetime(pd.Series(ds).drop_duplicates().sort_values()))
    if len(stamps) < 2:
        raise ConfigError("cannot tell the period from a single date: pass period='W' (or M, Q, Y, D)")
    days = float(np.median(np.diff(stamps.values).astype("timedelta64[s]").astype(float)) / 86_400)
    for p in PERIODS.values():
        lo, hi = p.spacing_days
        if lo <= days <= hi:
            return p.code
    raise ConfigError(f"periods {days:.1f} days apart are not daily, weekly, monthly, quarterly or yearly")
