"""Trend label rules on hand-made forecasts, where the right answer is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.errors import ForecastError
from trendgan.forecast.labels import (
    LabelRules,
    reference_level,
    seasonal_pattern,
    trend_labels,
    true_trends,
)


def forecast_of(mean: np.ndarray, half_width: float) -> dict:
    mean = np.atleast_2d(mean)
    return {"mean": mean, "lo-80": mean - half_width, "hi-80": mean + half_width,
            "lo-95": mean - 2 * half_width, "hi-95": mean + 2 * half_width}


def test_reference_is_the_same_weeks_one_season_earlier():
    history = np.arange(104, dtype=float)[None, :]
    np.testing.assert_allclose(reference_level(history, 52, 4), [np.mean([52, 53, 54, 55])])
    np.testing.assert_allclose(reference_level(history, 52, 60), [np.mean(np.arange(52, 104))])
    np.testing.assert_allclose(reference_level(history, 1, 4), [np.mean([100, 101, 102, 103])])


def test_a_seasonal_style_slightly_above_last_years_trough_is_seasonal_not_rising():
    t = np.arange(139)  # the history ends as the yearly trough (week 39 of 52) begins
    history = (0.15 + 0.1 * np.sin(2 * np.pi * t / 52))[None, :]
    future = 0.15 + 0.1 * np.sin(2 * np.pi * np.arange(139, 147) / 52)
    labels = trend_labels(history, forecast_of(future * 1.12, 0.002), 52, 8)
    assert labels["change"][0] > 0.1  # +12 % on the same weeks last year...
    assert labels["trend"][0] == "seasonal"  # ...but small next to the style's yearly level


def test_noise_is_not_a_season():
    rng = np.random.default_rng(0)
    noisy = 0.15 + rng.normal(0, 0.05, (20, 104))
    strength, amplitude = seasonal_pattern(noisy, 52)
    assert (strength < LabelRules().seasonal_strength).mean() >= 0.9
    cycle = 0.15 + 0.08 * np.sin(2 * np.pi * np.arange(104) / 52) + rng.normal(0, 0.05, (20, 104))
    strength, amplitude = seasonal_pattern(cycle, 52)
    assert (strength >= LabelRules().seasonal_strength).mean() >= 0.9 and (amplitude > 0.5).all()


def test_confidence_follows_how_much_of_the_band_is_on_the_side_of_the_call():
    history = np.full((2, 20), 0.1)
    sure = trend_labels(history, forecast_of(np.full((1, 4), 0.2), 0.01), 1, 4)
    unsure = trend_labels(history, forecast_of(np.full((1, 4), 0.12), 0.05), 1, 4)
    assert sure["trend"][0] == "rising" and unsure["trend"][0] == "rising"
    assert sure["confidence"][0] == 1.0
    assert 0.5 < unsure["confidence"][0] < 0.8


def test_a_style_that_doubles_from_near_zero_is_emerging_and_a_big_one_rising():
    history = np.vstack([np.full(20, 0.01), np.full(20, 0.3)])
    labels = trend_labels(history, forecast_of(np.array([[0.03] * 4, [0.65] * 4]), 0.001), 1, 4)
    assert list(labels["trend"]) == ["emerging", "rising"]
    assert list(labels["yoy"]) == ["up", "up"]


def perfect(future: np.ndarray) -> dict:
    return forecast_of(future, 0.0)


def test_a_fad_past_its_peak_is_declining_though_it_was_near_zero_a_year_ago():
    t = np.arange(117)
    fad = 0.01 + 0.2 * np.exp(-0.5 * ((t - 94) / 5) ** 2)  # peaked ten weeks before the end of 104 observed weeks
    labels = trend_labels(fad[None, :104], perfect(fad[None, 104:]), 52, 13)
    assert labels["yoy"][0] == "up"  # what the year-ago comparison alone sees: more than a year ago...
    assert labels["trend"][0] == "declining"  # ...but it is falling from where it is now
    assert labels["recent"][0] > labels["reference"][0]


def test_a_style_new_this_year_and_still_growing_is_emerging_but_not_when_its_forecast_falls_back():
    t = np.arange(117)
    new = np.where(t < 70, 0.0, 0.004 * (t - 70))  # absent a year ago, climbing since week 70
    past, future = new[None, :104], new[None, 104:]
    assert true_trends(past, future, 52)[0] == "emerging"
    falling = np.full((1, 13), new[-26:-13].mean() * 0.6)  # forecast well below the recent level
    assert trend_labels(past, perfect(falling), 52, 13)["trend"][0] == "declining"


def test_rising_and_declining_against_the_recent_and_the_year_ago_level():
    flat = np.full(104, 0.2)
    assert true_trends(flat[None], np.full((1, 13), 0.26), 52)[0] == "rising"
    assert true_trends(flat[None], np.full((1, 13), 0.2), 52)[0] == "stable"
    assert true_trends(flat[None], np.full((1, 13), 0.15), 52)[0] == "declining"
    # lost a third of its share over the year and expected to stay there: declining, though flat from now
    fallen = np.concatenate([np.full(80, 0.3), np.full(24, 0.2)])
    assert true_trends(fallen[None], np.full((1, 13), 0.2), 52)[0] == "declining"
    # and the mirror image: won its share over the year and holds it
    risen = np.concatenate([np.full(80, 0.2), np.full(24, 0.3)])
    assert true_trends(risen[None], np.full((1, 13), 0.3), 52)[0] == "rising"


def test_a_move_within_the_noise_of_a_few_images_a_week_is_no_trend():
    rng = np.random.default_rng(0)
    images = 14  # per week, as in the demo
    counted = rng.binomial(images, 0.12, size=(200, 104)) / images  # a stable style, counted from a dozen images
    smooth = np.full((200, 104), counted.mean())
    # a forecast 12 % below the recent level: beyond the 10 % threshold, but inside the sampling noise
    lower = counted[:, -13:].mean(axis=1, keepdims=True) * 0.88 * np.ones((1, 13))
    noisy = trend_labels(counted, perfect(lower), 52, 13)["trend"]
    assert (noisy == "declining").mean() < 0.1
    clean = trend_labels(smooth, perfect(smooth[:, -13:] * 0.88), 52, 13)["trend"]
    assert (clean == "declining").all()  # the same move on a smooth series is a decline


def test_a_seasonal_style_heading_into_its_peak_is_seasonal_not_rising():
    t = np.arange(117)
    cycle = 0.15 + 0.08 * np.cos(2 * np.pi * (t - 110) / 52)  # peaks in the middle of the horizon
    labels = trend_labels(cycle[None, :104], perfect(cycle[None, 104:]), 52, 13)
    assert labels["trend"][0] == "seasonal"
    assert labels["recent"][0] > cycle[91:104].mean()  # the recent level, moved to the horizon's part of the year


def test_a_one_off_spike_a_year_ago_is_not_a_season():
    t = np.arange(104)
    spike = 0.05 + 0.3 * np.exp(-0.5 * ((t - 40) / 4) ** 2)
    cycle = 0.15 + 0.08 * np.sin(2 * np.pi * t / 52)
    strength, _ = seasonal_pattern(np.vstack([spike, cycle]), 52)
    assert strength[0] < LabelRules().seasonal_strength <= strength[1]


def test_bad_label_rules_are_clear_errors():
    with pytest.raises(ForecastError, match="recent_periods"):
        LabelRules(recent_periods=0)
    with pytest.raises(ForecastError, match="negative"):
        LabelRules(noise_z=-1)
    with pytest.raises(ForecastError, match="future period"):
        true_trends(np.ones((1, 10)), np.ones((1, 0)), 1)


def monthly_season(peak: int, rate: float = 0.0, months: int = 27) -> np.ndarray:
    """A style's true monthly share swinging from 1.8x to 0.2x of 0.125 around the year (the simulator's seasonal
    curve), growing ``rate`` a year."""
    t = np.arange(months)
    return 0.125 * (1 + 0.8 * np.cos(2 * np.pi * (t - peak) / 12)) * (1 + rate) ** ((t - 23) / 12)


def test_a_monthly_season_is_not_noise():
    from trendgan.forecast.labels import recent_noise

    # A smooth season's month-to-month steps are not sampling noise: measured around the season they are nil.
    season = np.stack([monthly_season(peak)[:24] for peak in range(12)])
    steps = recent_noise(season, 12, 3)
    around = recent_noise(season, 12, 3, np.ones(12, dtype=bool))
    assert (steps > 0.1 * 0.125).all()  # raw first differences: a quarter of the level for a 2-sigma bar
    assert (around < 0.002 * 0.125).all()


def test_a_purely_seasonal_monthly_style_is_seasonal_in_every_month_of_the_year():
    # The recent level moved to the horizon's months through the seasonal profile must land where the season puts
    # it: a profile smoothed over +/- 1 month flattened the swing and called some months "declining".
    paths = np.stack([monthly_season(peak) for peak in range(12)])
    assert (true_trends(paths[:, :24], paths[:, 24:], 12) == "seasonal").all()


def test_a_monthly_seasonal_style_rising_50_pct_a_year_is_rising_out_of_its_trough():
    # At the trough the season is not the story: the year-on-year rise is (the noise bar no longer holds the
    # season's own monthly steps).
    paths = np.stack([monthly_season(peak, rate=0.5) for peak in range(12)])
    labels = true_trends(paths[:, :24], paths[:, 24:], 12)
    assert (labels == "rising").sum() >= 6
    assert not (labels == "declining").any()
