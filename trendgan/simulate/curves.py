"""Popularity curves: how much each label is wanted in each period, and how many images that makes.

A curve gives a label a non-negative *weight* per period; a period's *shares* are the weights normalised over all
labels, so they sum to 1. Periods are counted from 0 (the first period) to ``last`` (the last observed period);
holdout periods continue past ``last`` and sources that lead the market read the curve a few periods ahead.

A label's true trend is not fixed by its shape: the simulator applies the forecast stage's label rule
(``trendgan.forecast.labels.true_trends``) to the true shares, the past and the true future, so it is what the
curve actually does there, among all the others. The trends named below are what each shape usually gets.

Shapes (parameters in brackets, with defaults):

- ``flat`` (level=1): the same weight throughout. True trend: stable.
- ``rising`` (low=0.4, high=1.6): a straight line from ``low`` at the first period to ``high`` at the last,
  continuing past it. True trend: rising.
- ``declining`` (high=1.6, low=0.4): the reverse, never below 5 % of ``high``. True trend: declining (stable
  once it has lain at that floor for a quarter or more).
- ``seasonal`` (level=1, peak_month=7, amplitude=0.8): ``level * (1 + amplitude * cos(month distance))`` with the
  peak in the middle of ``peak_month`` (1..12; 7 = mid-July). True trend: seasonal.
- ``emerging`` (start=0.5, ramp=0.6, level=1.5): zero until ``start`` (a position: 0 = first period, 1 = last),
  then a smooth S-shaped climb to ``level`` over ``ramp`` (same units). True trend: emerging (rising when
  ``start`` <= 0, stable when it was fully grown a quarter or more before the end).
- ``fad`` (peak=0.75, width=0.05, height=2.5, base=0.05): a bell-shaped spike at ``peak`` with standard deviation
  ``width`` (positions) on top of ``base``. Its true trend is what it is doing at the end of the observed range:
  before the spike ``emerging`` (or ``rising`` when ``base`` is not small), on the way down ``declining`` (even
  though it was near zero a year earlier), long after it ``stable``; the truth also says ``"curve": "fad"``.

Positions (``start``, ``peak``) and widths here are fractions of the observed range; the scenario layer turns
dates and period counts into these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from trendgan.errors import ConfigError

SHAPES = ("flat", "rising", "declining", "seasonal", "emerging", "fad")
TRENDS = ("emerging", "rising", "stable", "seasonal", "declining")

DEFAULTS: dict[str, dict[str, float]] = {
    "flat": {"level": 1.0},
    "rising": {"low": 0.4, "high": 1.6},
    "declining": {"high": 1.6, "low": 0.4},
    "seasonal": {"level": 1.0, "peak_month": 7.0, "amplitude": 0.8},
    "emerging": {"start": 0.5, "ramp": 0.6, "level": 1.5},
    "fad": {"peak": 0.75, "width": 0.05, "height": 2.5, "base": 0.05},
}


@dataclass(frozen=True)
class Curve:
    """A popularity curve: a shape and its parameters (see the module docstring)."""

    shape: str
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def make(cls, shape: str, **params: float) -> "Curve":
        """Check the shape and parameter names, fill in defaults."""
        if shape not in DEFAULTS:
            raise ConfigError(f"unknown curve {shape!r}; known curves: {', '.join(SHAPES)}")
        unknown = sorted(set(params) - set(DEFAULTS[shape]))
        if unknown:
            raise ConfigError(
                f"curve {shape!r} has no parameter {', '.join(unknown)}; it takes {', '.join(DEFAULTS[shape])}"
            )
        values = {**DEFAULTS[shape], **{k: float(v) for k, v in params.items()}}
        _check(shape, values)
        return cls(shape, values)

    def weights(self, t: np.ndarray, months: np.ndarray, last: int) -> np.ndarray:
        """Weights at period indices ``t`` (0 = first period, ``last`` = last observed; may go beyond).

        ``months`` is each period's month of the year as a fraction (1.0 = 1 January, 12.97 = end of December).
        """
        p = self.params
        x = np.asarray(t, dtype=float) / max(last, 1)  # position: 0 at the first period, 1 at the last
        if self.shape == "flat":
            w = np.full_like(x, p["level"])
        elif self.shape == "rising":
            w = p["low"] + (p["high"] - p["low"]) * x
        elif self.shape == "declining":
            w = np.maximum(p["high"] + (p["low"] - p["high"]) * x, 0.05 * p["high"])
        elif self.shape == "seasonal":
            # peak_month 7 peaks in mid-July: month fractions run from 7.0 (1 July) to 7.97 (31 July)
            distance = np.asarray(months) - (p["peak_month"] + 0.5)
            w = p["level"] * (1 + p["amplitude"] * np.cos(2 * math.pi * distance / 12))
        elif self.shape == "emerging":
            u = np.clip((x - p["start"]) / p["ramp"], 0, 1)
            w = p["level"] * u * u * (3 - 2 * u)  # smoothstep: zero before the start, level once established
        else:  # fad
            w = p["base"] + p["height"] * np.exp(-0.5 * ((x - p["peak"]) / p["width"]) ** 2)
        return np.maximum(w, 0.0)


def _check(shape: str, p: dict[str, float]) -> None:
    for name, value in p.items():
        if not math.isfinite(value):
            raise ConfigError(f"curve {shape!r}: {name} must be a number, got {value}")
    negative = [k for k in ("level", "low", "high", "height", "base", "amplitude") if p.get(k, 0) < 0]
    if negative:
        raise ConfigError(f"curve {shape!r}: {', '.join(negative)} cannot be negative")
    if shape == "rising" and p["high"] <= p["low"]:
        raise ConfigError(f"a rising curve needs high > low (got low={p['low']}, high={p['high']})")
    if shape == "declining" and p["high"] <= p["low"]:
        raise ConfigError(f"a declining curve needs high > low (got high={p['high']}, low={p['low']})")
    if shape == "seasonal" and not (1 <= p["peak_month"] < 13 and p["amplitude"] <= 1):
        raise ConfigError("a seasonal curve needs 1 <= peak_month < 13 and 0 <= amplitude <= 1")
    if shape == "emerging" and p["ramp"] <= 0:
        raise ConfigError("an emerging curve needs ramp > 0")
    if shape == "fad" and p["width"] <= 0:
        raise ConfigError("a fad curve needs width > 0")


def shares_from_weights(weights: np.ndarray) -> np.ndarray:
    """(periods, labels) weights -> shares that sum to 1 in every period.

    A period where every weight is zero has no defined mix; it is an error in the scenario.
    """
    weights = np.asarray(weights, dtype=float)
    totals = weights.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        empty = int(np.flatnonzero(totals[:, 0] <= 0)[0])
        raise ConfigError(
            f"period {empty} has no popular label at all (every curve is zero there); give some label a flat or "
            "rising curve, or start emerging labels later"
        )
    return weights / totals


def add_noise(weights: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply weights by log-normal wobble (sd ``noise``), smoothed over 3 periods so it looks like demand."""
    if noise <= 0:
        return weights
    raw = rng.normal(0.0, noise, size=weights.shape)
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = np.apply_along_axis(lambda col: np.convolve(col, kernel, mode="same"), 0, raw)
    return weights * np.exp(smooth)


def period_volumes(per_period: int, periods: int, rng: np.random.Generator, growth: float = 0.0, variation: float = 0.0) -> np.ndarray:
    """Images per period: ``per_period`` at the start, growing by ``growth`` (0.5 = +50 %) by the last period,
    with Poisson-like variation of relative size ``variation``."""
    if per_period < 1:
        raise ConfigError(f"per_period must be at least 1, got {per_period}")
    if growth <= -1:
        raise ConfigError(f"volume growth {growth} would shrink the feed to nothing; use a value above -1")
    x = np.arange(periods) / max(periods - 1, 1)
    expected = per_period * (1 + growth * x)
    if variation > 0:
        expected = expected * np.exp(rng.normal(0.0, variation, size=periods))
    return np.maximum(np.rint(expected).astype(int), 1)


def sample_counts(shares: np.ndarray, volumes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(periods, labels) image counts: each period's volume split by a multinomial draw with the period's shares."""
    shares = np.asarray(shares, dtype=float)
    counts = np.zeros(shares.shape, dtype=int)
    for i, (row, n) in enumerate(zip(shares, volumes)):
        counts[i] = rng.multinomial(int(n), row / row.sum())
    return counts
