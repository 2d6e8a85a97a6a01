"""Trend labels per style at the forecast horizon: where is the style heading from where it is now?

Three levels are compared, each a mean share:

- ``F``, the **forecast** over the horizon;
- ``A``, the **year-ago** reference: the same periods one season earlier (the last observed season laid over the
  horizon; for a horizon of a full season or more, the whole last season), so a style at the top of its yearly cycle
  is not called rising. Without a season (or with less than one season of history) it is the mean of the last
  ``horizon`` periods;
- ``R``, the **recent** level: the mean of the last ``recent_periods`` (default about a quarter of a season: 13
  weeks, 3 months; the horizon without a season). For a seasonal style (see *seasonal* below) it is deseasonalised
  and moved to the horizon's part of the year: R - profile(recent periods) + profile(horizon periods).

Moves are measured relative to ``level`` = the largest of A, R and the style's mean share over the last season (so a
seasonal style a little above last year's trough is not "rising"). A move is *clear* when it exceeds both
``threshold`` (default 10 %) and ``noise_z`` (default 2) standard errors of the recent level (the period-to-period
standard deviation from first differences / sqrt(2), over the last season, / sqrt(recent periods)); comparisons
with the year-ago level use sqrt(2) times that, since they set two noisy means against each other. Without this, a
style counted from a dozen images a period moves 20 % between two quarters by chance.

- **emerging**: near zero a season ago (A below ``emerging_share``), at least doubling against it
  (``change >= emerging_growth``, default +100 %), and F not clearly below R (a fad that spiked this year and is
  fading now is not emerging, however small it was a year ago).
- **declining**: F clearly below R; or F clearly below A while R has also fallen clearly below A (a style that lost
  its share over the year and is not expected to win it back).
- **rising**: not emerging, F not clearly below R and clearly above A, and either clearly above R or R already
  clearly above A (the mirror image of the declining rule).
- **seasonal**: no such change, but a strong seasonal pattern: the seasonal profile's peak-to-trough swing is at
  least ``seasonal_amplitude`` (50 %) of the mean share, and its strength (Hyndman's 1 - var(remainder) /
  var(season + remainder), capped by how well the last season repeats the one before) at least
  ``seasonal_strength`` (0.3), so noise or a one-off spike does not pass for a season.
- **stable**: everything else.

The same rule labels the simulator's truth (``true_trends``: the true past shares and the true future as a perfect
forecast), so the demo compares like with like.

``change`` is F / A - 1 (the year-on-year change); ``change_recent`` is F / R - 1 (the change from where the style
is now, the move that rising and declining are about; a report shows both). ``confidence`` (0..1) says how much of the forecast band (the
horizon's mean of the 80 % and of the 95 % intervals, averaged) lies on the side of the call: above A for
rising/emerging, below R (or below A for a call made against the year-ago level) for declining, within +/-
``threshold`` of R for stable/seasonal.

``yoy`` is HERMES' 3-class year-on-year label: F vs A, up/down beyond 5 %, else flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trendgan.errors import ForecastError
from trendgan.forecast.metrics import yoy_class
# The season test lives with the models, which use it too (a season is only used where it repeats).
from trendgan.forecast.models import season_repeat, seasonal_pattern, seasonal_profile  # noqa: F401

TRENDS = ("emerging", "rising", "stable", "seasonal", "declining")
SHARE_FLOOR = 1e-4  # a reference share below 0.01 % counts as this, so "change" stays finite for new styles


@dataclass
class LabelRules:
    threshold: float = 0.10           # a move smaller than this, relative to the style's level, is no trend
    emerging_growth: float = 1.0      # emerging: at least doubles against the year-ago share...
    emerging_share: float = 0.05      # ...which was below this
    seasonal_strength: float = 0.3
    seasonal_amplitude: float = 0.5
    yoy_threshold: float = 0.05
    recent_periods: int | None = None  # the recent level's window; None: about a quarter of a season
    noise_z: float = 2.0              # a clear move also exceeds this many standard errors of the recent level

    def __post_init__(self):
        if self.recent_periods is not None and int(self.recent_periods) < 1:
            raise ForecastError(f"recent_periods must be at least 1, got {self.recent_periods}")
        if self.threshold < 0 or self.noise_z < 0:
            raise ForecastError("label threshold and noise_z cannot be negative")


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


def recent_window(season_length: int, horizon: int, rules: LabelRules) -> int:
    """Periods in the recent level: ``rules.recent_periods``, else a quarter of a season (or the horizon)."""
    if rules.recent_periods is not None:
        return int(rules.recent_periods)
    return max(1, round(season_length / 4)) if season_length > 1 else max(1, int(horizon))


def profile_smoothing(season_length: int) -> int:
    """Periods either side over which the seasonal profile behind the recent level is smoothed: m // 17 (3 weeks).

    Whole periods rounded down: a year of 12 months gets no smoothing. Rounded to the nearest (+/- 1 month, what the
    rule used before) a 3-month average flattened a monthly season by about 9 % of its swing (more at a sharp peak),
    and a purely seasonal style's recent level, moved to the horizon's months through that flattened profile, landed
    10-15 % of its level off its true place: the simulator's true shares of purely seasonal styles were labelled
    "declining" in 3 of 30 monthly seeds (benchmarks/trend_calls.py corpora). Weekly seasons keep +/- 3 weeks (a 3 %
    flattening), which tames week-to-week noise in the index.
    """
    return max(int(season_length) // 17, 0)


def seasonal_rows_profile(history: np.ndarray, season_length: int, seasonal) -> np.ndarray | None:
    """The seasonal profile (smoothed by ``profile_smoothing``) that the rule moves and measures rows flagged
    ``seasonal`` by; None when no row is flagged or the history spans under two seasons."""
    if seasonal is None or season_length <= 1 or history.shape[1] < 2 * season_length or not np.any(seasonal):
        return None
    return seasonal_profile(history, season_length, smooth=profile_smoothing(season_length))


def recent_level(history: np.ndarray, season_length: int, horizon: int, window: int, seasonal: np.ndarray) -> np.ndarray:
    """Mean of the last ``window`` periods; for rows flagged ``seasonal``, deseasonalised and moved to the horizon's
    part of the year (recent mean - profile over the recent periods + profile over the horizon).

    The profile is the average additive swing over the history; a style's swing grows and shrinks with its level
    (a style twice as big swings twice as far), so the shift is scaled to the level now (``swing_growth``). Without
    this a growing seasonal style's recent level, taken near its peak, was moved to its trough by last
    year's smaller swing and landed above where the season puts it: a style rising 50 % a year was labelled
    "declining" in 4 of the 12 months of the year (tests/forecast/test_labels.py).
    """
    T = history.shape[1]
    window = min(window, T)
    level = history[:, -window:].mean(axis=1)
    profile = seasonal_rows_profile(history, season_length, seasonal)
    if profile is not None:
        recent_pos = np.arange(T - window, T) % season_length
        future_pos = np.arange(T, T + horizon) % season_length
        shift = profile[:, future_pos].mean(axis=1) - profile[:, recent_pos].mean(axis=1)
        level = np.where(seasonal, np.maximum(level + shift * swing_growth(history, season_length, window, horizon), 0.0),
                         level)
    return level


def swing_growth(history: np.ndarray, season_length: int, window: int, horizon: int) -> np.ndarray:
    """How much bigger a seasonal swing is now than in the seasonal profile: the yearly growth of the style (last
    season's mean over the one before, clipped to 1/4..4) to the power of the years from the middle of the periods
    the profile was read from (those with a centred moving average) to the middle of the recent and horizon periods,
    kept within 0.5..2: beyond a doubling or halving the past profile says little about this year's swing."""
    from trendgan.forecast.models import centred_moving_average

    n, T = history.shape
    m = season_length
    last, before = history[:, -m:].mean(axis=1), history[:, -2 * m : -m].mean(axis=1)
    yearly = np.clip(np.divide(last, before, out=np.ones(n), where=before > 0), 0.25, 4.0)
    read = np.isfinite(centred_moving_average(history[:1], m)[0])
    centre = float(np.mean(np.arange(T)[read])) if read.any() else (T - 1) / 2
    now = (T - window + T + horizon - 1) / 2
    return np.clip(yearly ** ((now - centre) / m), 0.5, 2.0)


def recent_noise(history: np.ndarray, season_length: int, window: int, seasonal: np.ndarray | None = None) -> np.ndarray:
    """Standard error of the recent level: the period-to-period standard deviation (from first differences over the
    last season, / sqrt 2, so a trend barely counts) divided by sqrt(window). Sampling noise in small counts is
    independent from period to period, which first differences see and a smooth true share does not have.

    For rows flagged ``seasonal`` the differences are taken after removing the seasonal profile: with 12 months to a
    year a season's own month-to-month steps are large (a style swinging 1.8x to 0.2x of its mean moves about a
    quarter of its level from one month to the next), and without this they passed for noise: the "clear move" bar of
    a seasonal style stood at about 25 % of its level a month instead of the rule's 10 % (3 % with weekly periods),
    so year-on-year moves of a trending seasonal style sat on the bar's knife edge (measured on the simulator's true
    monthly shares, benchmarks/trend_calls.py corpora; tests/forecast/test_labels.py).
    """
    n, T = history.shape
    span = min(T, max(season_length, window, 2))
    if span < 2:
        return np.zeros(n)
    values = history
    profile = seasonal_rows_profile(history, season_length, seasonal)
    if profile is not None:
        values = np.where(np.asarray(seasonal)[:, None], history - profile[:, np.arange(T) % season_length], history)
    diffs = np.diff(values[:, -span:], axis=1)
    return diffs.std(axis=1) / np.sqrt(2) / np.sqrt(min(window, T))


def trend_labels(history: np.ndarray, forecast: dict, season_length: int, horizon: int, rules: LabelRules | None = None) -> dict:
    """Label each series (row of ``history``) from its forecast dict (mean, lo-80, hi-80, lo-95, hi-95 as (n, h)).

    Returns arrays: trend, change, confidence, yoy, reference (A), recent (R), strength, amplitude.
    """
    rules = rules or LabelRules()
    history = np.atleast_2d(np.asarray(history, dtype=float))
    n, T = history.shape
    reference = reference_level(history, season_length, horizon)
    expected = forecast["mean"].mean(axis=1)
    change = expected / np.maximum(reference, SHARE_FLOOR) - 1
    change = np.where((reference <= 0) & (expected <= SHARE_FLOOR * 1e-3), 0.0, change)
    strength, amplitude = seasonal_pattern(history, season_length)
    has_season = (strength >= rules.seasonal_strength) & (amplitude >= rules.seasonal_amplitude)
    window = recent_window(season_length, horizon, rules)
    recent = recent_level(history, season_length, horizon, window, has_season)

    # Every move is measured against the style's level (the largest of the year-ago, recent and last-season mean
    # shares): a seasonal style coming out of its trough by a hair more than last year moves a lot relative to the
    # trough but not relative to its year, and that is not a trend.
    season_mean = history[:, -min(T, max(season_length, 1)):].mean(axis=1)
    level = np.maximum(np.maximum(np.maximum(reference, recent), season_mean), SHARE_FLOOR)
    noise = rules.noise_z * recent_noise(history, season_length, window, has_season) / level
    clear_recent = np.maximum(rules.threshold, noise)
    clear_year = np.maximum(rules.threshold, np.sqrt(2) * noise)
    vs_recent = (expected - recent) / level
    vs_year = (expected - reference) / level
    over_year = (recent - reference) / level  # how far the style has already moved since a season ago
    quiet = (reference <= 0) & (expected <= SHARE_FLOOR * 1e-3) & (recent <= SHARE_FLOOR * 1e-3)
    vs_recent, vs_year, over_year = (np.where(quiet, 0.0, v) for v in (vs_recent, vs_year, over_year))

    down_recent, up_recent = vs_recent < -clear_recent, vs_recent > clear_recent
    down_year, up_year = vs_year < -clear_year, vs_year > clear_year
    fell, rose = over_year < -clear_year, over_year > clear_year
    emerging = (reference < rules.emerging_share) & (change >= rules.emerging_growth) & ~down_recent
    declining = ~emerging & (down_recent | (down_year & fell))
    rising = ~emerging & ~declining & up_year & (up_recent | rose)
    seasonal = ~(emerging | rising | declining) & has_season
    trend = np.select([emerging, rising, declining, seasonal], ["emerging", "rising", "declining", "seasonal"], "stable")

    ref, now = np.maximum(reference, 0), np.maximum(recent, 0)
    below_edge = np.where(down_recent, now, ref)  # a decline called against the recent level is judged there
    big = np.full(n, np.inf)
    confidence = np.zeros(n)
    for lv in (80, 95):
        lo, hi = forecast[f"lo-{lv}"].mean(axis=1), forecast[f"hi-{lv}"].mean(axis=1)
        above = band_share(lo, hi, ref, big)
        below = band_share(lo, hi, -big, below_edge)
        near = band_share(lo, hi, now - rules.threshold * level, now + rules.threshold * level)
        confidence += np.select([emerging | rising, declining], [above, below], near) / 2
    return {
        "trend": trend,
        "change": change,
        # The move the trend label is about: the forecast against where the style is now.
        "change_recent": np.where(quiet, 0.0, expected / np.maximum(recent, SHARE_FLOOR) - 1),
        "confidence": np.clip(confidence, 0, 1),
        "yoy": yoy_class(reference, expected, rules.yoy_threshold),
        "reference": reference,
        "recent": recent,
        "strength": strength,
        "amplitude": amplitude,
    }


def true_trends(past: np.ndarray, future: np.ndarray, season_length: int, rules: LabelRules | None = None) -> np.ndarray:
    """The trend label of known shares: ``past`` (n, T) and the true ``future`` (n, h) taken as a perfect forecast.

    The simulator labels its truth with this, and the demo's recovery compares it with the forecast's label, so
    both come from one definition.
    """
    future = np.atleast_2d(np.asarray(future, dtype=float))
    if future.shape[1] < 1:
        raise ForecastError("a true trend needs at least one future period")
    perfect = {key: future for key in ("mean", "lo-80", "hi-80", "lo-95", "hi-95")}
    return trend_labels(past, perfect, season_length, future.shape[1], rules)["trend"]
