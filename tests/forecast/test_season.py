"""A season is used only where the series has one: present in both seasons and repeating, decided before the origin."""

from __future__ import annotations

import numpy as np

from forecast_sim import long_frame, weekly_dates
from trendgan.forecast import forecast_frame
from trendgan.forecast.engine import run_batch
from trendgan.forecast.models import SES, DampedTrend, SeasonalNaive, Theta, usable_season


def newborn(T: int = 104, born: int = 60, level: float = 0.15, seed: int = 0) -> np.ndarray:
    """Absent for the first year and more, then growing over a couple of months to ``level``, with some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    curve = np.clip((t - born) / 25, 0, 1) * level
    return np.clip(curve + np.where(t >= born, rng.normal(0, 0.01, T), 0.0), 0, None)


def cycle(T: int = 104, seed: int = 1, noise: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    return 0.2 + 0.08 * np.sin(2 * np.pi * t / 52) + rng.normal(0, noise, T)


def test_the_season_test_wants_presence_in_both_seasons_and_a_pattern_that_repeats():
    rng = np.random.default_rng(2)
    noise = 0.15 + rng.normal(0, 0.02, (300, 104))
    Y = np.vstack([cycle(), newborn(), noise])
    ok = usable_season(Y, 52)
    assert ok[0]  # a yearly cycle, seen twice
    assert not ok[1]  # did not exist a season ago: no season yet
    assert ok[2:].mean() < 0.25  # noise seldom repeats (smoothed, two seasons of it correlate by chance now and then)
    noisy_cycles = np.vstack([cycle(seed=s, noise=0.04) for s in range(50)])
    assert usable_season(noisy_cycles, 52).all()  # a season under heavy noise still repeats
    assert not usable_season(Y[:, :90], 52).any()  # under two seasons nothing can repeat


def test_a_style_born_last_year_is_not_forecast_with_last_years_zeros():
    Y = np.vstack([newborn(), cycle()])
    recent = Y[0, -13:].mean()
    for model in (SeasonalNaive(52), SES(52), Theta(52), DampedTrend(52)):
        mean = model.fit(Y).predict(13)["mean"]
        # last year's same weeks were zeros; the forecast stays near where the style is now
        assert abs(mean[0].mean() - recent) < 0.25 * recent, model.alias
        assert not model.seasonal_[0] and model.seasonal_[1]
    # the seasonal series keeps its season: seasonal naive repeats last year's weeks...
    np.testing.assert_allclose(SeasonalNaive(52).fit(Y).predict(13)["mean"][1], Y[1, -52:-39])
    # ...and the profile models follow the cycle over a year (peak to trough about twice 0.08)
    year = SES(52).fit(Y).predict(52)["mean"][1]
    assert year.max() - year.min() > 0.1


def test_without_a_season_snaive_is_naive_and_its_band_grows_every_step():
    rng = np.random.default_rng(3)
    t = np.arange(104)
    y = 0.15 + 0.05 * np.sin(2 * np.pi * t / 104) + rng.normal(0, 0.005, 104)  # one two-year swing, not a season
    assert not usable_season(y[None], 52)[0]
    pred = SeasonalNaive(52).fit(y).predict(8)
    np.testing.assert_allclose(pred["mean"], y[-1])
    width = pred["hi-80"] - pred["lo-80"]
    assert np.all(np.diff(width) > 0)
    # the textbook form is still there for those who want it
    np.testing.assert_allclose(SeasonalNaive(52, season_check=False).fit(y).predict(8)["mean"], y[-52:-44])


def test_a_new_style_among_seasonal_ones_is_emerging_and_forecast_near_its_recent_level():
    dates = weekly_dates(104)
    shapes = {"new": newborn(), "summer": cycle(seed=4), "winter": 0.4 - cycle(seed=5) + 0.2,
              "flat": 0.2 + np.random.default_rng(6).normal(0, 0.01, 104)}
    result = forecast_frame(long_frame(shapes, dates), horizon=13, period="W", reconcile=False, n_jobs=1)
    labels = result.labels.set_index("unique_id")
    best = result.forecasts[result.forecasts["model"] == "best"].groupby("unique_id")["mean"].mean()
    recent = shapes["new"][-13:].mean()
    assert labels.loc["new", "trend"] == "emerging"
    assert abs(best["new"] - recent) < 0.15 * recent
    # the seasonal styles keep their season: the forecast follows the true cycle over the horizon
    future = 0.08 * np.sin(2 * np.pi * np.arange(104, 117) / 52)
    rows = result.forecasts[result.forecasts["model"] == "best"].set_index("unique_id")["mean"]
    assert np.abs(rows.loc["summer"].to_numpy() - (0.2 + future)).mean() < 0.02
    assert np.abs(rows.loc["winter"].to_numpy() - (0.4 - future)).mean() < 0.02


def test_backtests_decide_the_season_on_their_own_history():
    # Whether a backtest window uses a season is decided on the history before its origin: changing the periods
    # after the origin must not change that window's forecasts (the final fit, which sees them, may differ).
    Y = np.vstack([newborn(T=130, born=40), cycle(T=130)])
    changed = Y.copy()
    changed[:, 110:] = 0.5  # a different future after the oldest origins
    a = run_batch(Y, ["snaive", "ses"], 13, 52, windows=2)
    b = run_batch(changed, ["snaive", "ses"], 13, 52, windows=2)
    for bt_a, bt_b in zip(a.backtests, b.backtests):
        if bt_a.origin <= 110:
            for alias in ("snaive", "ses"):
                np.testing.assert_allclose(bt_a.forecasts[alias]["mean"], bt_b.forecasts[alias]["mean"])
