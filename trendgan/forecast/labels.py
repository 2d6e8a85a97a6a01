"""Trend labels per style at the forecast horizon.

The reference is the same periods one season earlier: the last observed season, laid over the horizon (for a
26-week horizon, the 26 weeks one year before it; for a horizon of a full season or more, the whole last season),
so a style at the top of its yearly cycle is not called rising. Without a season (or with less than one season of
history) it is the mean of the last ``horizon`` periods. With ``change`` = forecast mean over the horizon /
reference mean - 1:

- **emerging**: a small style that at least doubles: reference share below ``emerging_share`` and
  ``change >= emerging_growth`` (default +100 %).
- **rising** / **declining**: the forecast mean moves beyond +/- ``threshold`` (default 10 %) of the larger of the
  reference and the style's mean share over the last season (so a seasonal style a little above last year's trough
  is not "rising").
- **seasonal**: no such change, but a strong seasonal pattern: the seasonal profile's peak-to-trough swing is at
  least ``seasonal_amplitude`` (50 %) of the mean share, and its strength (Hyndman's 1 - var(remainder) /
  var(season + remainder)) at least ``seasonal_strength`` (0.3), so noise does not pass for a season.
- **stable**: everything else.

``confidence`` (0..1) says how much of the forecast band (the horizon's mean of the 80 % and of the 95 %
intervals, averaged) lies on the side of the call: above the reference for rising/emerging, below it for declining,
within +/- ``threshold`` of it for stable/seasonal.

``yoy`` is HERMES' 3-class year-on-year label: forecast mean vs reference mean, up/down beyond 5 %, else flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trendgan.forecast.metrics import yoy_class
from trendgan.forecast.models import centred_moving_average, seasonal_profile

TRENDS = ("emerging", "rising", "stable", "seasonal", "declining")
SHARE_FLOOR = 1e-4  # a reference share below 0.01 % counts as this, so "change" stays finite for new styles


@dataclass
class LabelRules:
    threshold: float = 0.10
    emerging_growth: float = 1.0
    emerging_share: float = 0.05
    seasonal_strength: float = 0.3
    seasonal_amplitude: float = 0.5
    yoy_threshold: float = 0.05


def seasonal_pattern(Y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(strength 0..1, peak-to-trough amplitude relative to the mean share) of each series' seasonal pattern.

    Strength is Hyndman's 1 - var(remainder) / var(season + remainder) from a classical decomposition whose
    seasonal profile is smoothed over neighbouring periods (+/- m/17: 3 weeks, 1 month), so that week-to-week
    noise, which dominates small image counts, does not pass for a season. Zeros without a season (m <= 1) or
    with less than two seasons of history.
    """
    n, T = Y.shape
    if m <= 1 or T < 2 * m:
        return np.zeros(n), np.zeros(n)
    profile = seasonal_profile(Y, m, smooth=int(round(m / 17)))
    detrended = Y - centred_moving_average(Y, m)
    remainder = detrended - profile[:, np.arange(T) % m]
    ok = np.isfinite(detrended[0])
    var_detrended = np.var(detrended[:, ok], axis=1)
    var_remainder = np.var(remainder[:, ok], axis=1)
    strength = np.clip(1 - np.divide(var_remainder, var_detrended, out=np.ones(n), where=var_detrended > 0), 0, 1)
    mean = Y[:, -m:].mean(axis=1)
    span = profile.max(axis=1) - profile.min(axis=1)
    amplitude = np.divide(span, mean, out=np.zeros(n), where=mean > 0)
    return strength, amplitude


def reference_level(history: np.ndarray, season_length: int, horizon: int) -> np.ndarray:
    """Mean share over the periods one season before the horizon (or over the last ``horizon`` periods)."""
    n, T = history.shape
    if season_length > 1 and T >= season_length:
        steps = np.arange(horizon)
        idx = T - season_length + steps % season_length
        return history[:, np.unique(idx)].mean(axis=1)
    return history[:, -min(T, horizon):].mean(axis=1)


def band_share(lo: np.ndarray, hi: np.ndarray, low_edge: np.ndarray, high_edge: np.ndarray) -> np.ndarray:
    """Fraction of each band [lo, hi] lying inside [low_edge, high_edge] (1 or 0 for a zero-width band)."""
    width = hi - lo
    inside = np.clip(np.minimum(hi, high_edge) - np.maximum(lo, low_edge), 0, None)
    point = ((lo >= low_edge) & (lo <= high_edge)).astype(float)
    return np.where(width > 0, inside / np.where(width > 0, width, 1), point)


def trend_labels(history: np.ndarray, forecast: dict, season_length: int, horizon: int, rules: LabelRules | None = None) -> dict:
    """Label each series (row of ``history``) from its forecast dict (mean, lo-80, hi-80, lo-95, hi-95 as (n, h)).

    Returns arrays: trend, change, confidence, yoy, reference, strength.
    """
    rules = rules or LabelRules()
    history = np.atleast_2d(history)
    n, T = history.shape
    reference = reference_level(history, season_length, horizon)
    expected = forecast["mean"].mean(axis=1)
    change = expected / np.maximum(reference, SHARE_FLOOR) - 1
    change = np.where((reference <= 0) & (expected <= SHARE_FLOOR * 1e-3), 0.0, change)
    strength, amplitude = seasonal_pattern(history, season_length)

    # Rising/declining are called on the change measured against the larger of the same-weeks share and the
    # style's mean share over the last season: a seasonal style coming out of its trough by a hair more than last
    # year moves a lot relative to the trough but not relative to its year, and that is not a trend.
    season_mean = history[:, -min(T, max(season_length, 1)):].mean(axis=1)
    level = np.maximum(np.maximum(reference, season_mean), SHARE_FLOOR)
    trend_change = np.where(change == 0, 0.0, (expected - reference) / level)
    emerging = (reference < rules.emerging_share) & (change >= rules.emerging_growth)
    rising = ~emerging & (trend_change > rules.threshold)
    declining = trend_change < -rules.threshold
    seasonal = ~(emerging | rising | declining) & (strength >= rules.seasonal_strength) & (amplitude >= rules.seasonal_amplitude)
    trend = np.select([emerging, rising, declining, seasonal], ["emerging", "rising", "declining", "seasonal"], "stable")

    ref = np.maximum(reference, 0)
    big = np.full(n, np.inf)
    confidence = np.zeros(n)
    for lv in (80, 95):
        lo, hi = forecast[f"lo-{lv}"].mean(axis=1), forecast[f"hi-{lv}"].mean(axis=1)
        above = band_share(lo, hi, ref, big)
        below = band_share(lo, hi, -big, ref)
        near = band_share(lo, hi, ref * (1 - rules.threshold), ref * (1 + rules.threshold))
        confidence += np.select([emerging | rising, declining], [above, below], near) / 2
    return {
        "trend": trend,
        "change": change,
        "confidence": np.clip(confidence, 0, 1),
        "yoy": yoy_class(reference, expected, rules.yoy_threshold),
        "reference": reference,
        "strength": strength,
        "amplitude": amplitude,
    }
