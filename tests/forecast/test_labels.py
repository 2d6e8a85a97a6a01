"""Trend label rules on hand-made forecasts, where the right answer is known exactly."""

from __future__ import annotations

import numpy as np

from trendgan.forecast.labels import LabelRules, reference_level, seasonal_pattern, trend_labels


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
