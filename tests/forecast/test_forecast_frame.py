"""forecast_frame on simulated series: labels recovered, intervals calibrated, shares reconciled, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendgan.errors import ForecastError
from trendgan.forecast import forecast_frame
from trendgan.forecast.models import ETS

from forecast_sim import long_frame, trend_shapes, weekly_dates


def best_rows(result):
    return result.forecasts[result.forecasts["model"] == "best"]


def test_each_trend_label_is_recovered_on_simulated_series():
    shapes = trend_shapes()
    frame = long_frame(shapes, weekly_dates(156))
    result = forecast_frame(frame, horizon=26, reconcile=False, n_jobs=1)
    labels = result.labels.set_index("unique_id")
    assert labels["trend"].to_dict() == {name: name for name in shapes}
    assert labels.loc["rising", "change"] > 0.1 and labels.loc["declining", "change"] < -0.1
    assert labels.loc["emerging", "change"] >= 1.0
    assert labels.loc["rising", "yoy"] == "up" and labels.loc["declining", "yoy"] == "down"
    assert labels.loc["stable", "yoy"] == "flat"
    assert (labels["confidence"] > 0.5).all(), labels
    assert result.summary["season_length"] == 52 and result.summary["period"] == "W"


def test_output_frames_follow_the_contract():
    frame = long_frame(trend_shapes(n=120), weekly_dates(120))
    result = forecast_frame(frame, horizon=8, models=("snaive", "theta", "ensemble"), backtest_windows=2, n_jobs=1)
    assert list(result.forecasts.columns) == ["unique_id", "ds", "model", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert set(result.forecasts["model"]) == {"snaive", "theta", "ensemble", "best"}
    first_future = result.forecasts["ds"].min()
    assert first_future == pd.Timestamp(weekly_dates(121)[-1])
    assert {"unique_id", "model", "window", "mase", "smape", "coverage_80", "coverage_95"} <= set(result.backtests.columns)
    assert result.backtests["window"].nunique() == 2
    assert set(result.labels.columns) >= {"unique_id", "trend", "change", "confidence", "yoy", "model"}


def test_intervals_cover_at_about_their_level_on_simulated_noise():
    rng = np.random.default_rng(7)
    n, T, h = 300, 96, 12
    t = np.arange(T + h)
    levels = rng.uniform(0.05, 0.3, n)[:, None]
    season = 0.03 * np.sin(2 * np.pi * t / 12)[None, :]
    values = levels + season + rng.normal(0, 0.01, (n, T + h))
    dates = pd.date_range("2015-01-01", periods=T, freq="MS")
    frame = pd.DataFrame({
        "unique_id": np.repeat(np.arange(n), T), "ds": np.tile(dates, n), "y": values[:, :T].ravel(),
    })
    result = forecast_frame(frame, horizon=h, models=("snaive", "ses", "theta", "damped", "ensemble"),
                            reconcile=False, n_jobs=1)
    future = values[:, T:]
    for model in ("ensemble", "theta", "ses"):
        rows = result.forecasts[result.forecasts["model"] == model].sort_values(["unique_id", "ds"])
        for lv, tolerance in ((80, 0.07), (95, 0.04)):
            lo = rows[f"lo-{lv}"].to_numpy().reshape(n, h)
            hi = rows[f"hi-{lv}"].to_numpy().reshape(n, h)
            covered = np.mean((future >= lo) & (future <= hi))
            assert abs(covered - lv / 100) < tolerance, (model, lv, covered)
    backtest_cover = result.backtests.query("model == 'ensemble'")["coverage_80"].mean()
    assert 0.7 < backtest_cover < 0.9


def test_forecasts_of_all_styles_sum_to_one_and_stay_shares():
    shapes = {k: v for k, v in trend_shapes(n=110, seed=3).items() if k != "emerging"}
    total = sum(shapes.values())
    shapes = {k: v / total for k, v in shapes.items()}
    result = forecast_frame(long_frame(shapes, weekly_dates(110)), horizon=20, n_jobs=1)
    for model, rows in result.forecasts.groupby("model"):
        sums = rows.groupby("ds")["mean"].sum()
        np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9, err_msg=model)
        assert rows[["mean", "lo-80", "hi-80", "lo-95", "hi-95"]].ge(0).all().all()
        assert rows[["mean", "lo-80", "hi-80", "lo-95", "hi-95"]].le(1).all().all()


def test_short_history_and_all_zero_series_still_get_forecasts():
    dates = weekly_dates(6)
    frame = long_frame({"new": [0.0, 0.01, 0.02, 0.03, 0.05, 0.08], "never": [0.0] * 6}, dates)
    result = forecast_frame(frame, horizon=4, reconcile=False, n_jobs=1)
    best = best_rows(result).set_index("unique_id")
    assert np.isfinite(best[["mean", "lo-95", "hi-95"]].to_numpy()).all()
    assert (best.loc["never", "mean"] == 0).all()
    labels = result.labels.set_index("unique_id")
    assert labels.loc["never", "trend"] == "stable"
    assert labels.loc["new", "trend"] in {"emerging", "rising"}


def test_too_few_periods_is_a_clear_error():
    frame = long_frame({"a": [0.1, 0.2]}, weekly_dates(2))
    with pytest.raises(ForecastError, match="at least 3"):
        forecast_frame(frame, horizon=4, period="W")


def test_missing_columns_and_bad_models_are_clear_errors():
    with pytest.raises(ForecastError, match="lacks column"):
        forecast_frame(pd.DataFrame({"ds": weekly_dates(5), "y": 0.1}), horizon=2, period="W")
    frame = long_frame({"a": np.linspace(0.1, 0.2, 10)}, weekly_dates(10))
    with pytest.raises(ForecastError, match="unknown model"):
        forecast_frame(frame, horizon=2, models=("theta", "prophet"))


def test_a_model_failing_on_every_series_falls_back_and_is_reported(monkeypatch):
    def broken(self, y, x):
        raise ValueError("optimizer diverged")

    monkeypatch.setattr(ETS, "_fit_one", broken)
    frame = long_frame(trend_shapes(n=60), weekly_dates(60))
    result = forecast_frame(frame, horizon=4, models=("ets", "snaive"), backtest_windows=1, reconcile=False, n_jobs=1)
    assert set(result.failures["model"]) == {"ets"}
    assert result.failures["message"].str.contains("optimizer diverged").all()
    ets = result.forecasts.query("model == 'ets'")["mean"].to_numpy()
    snaive = result.forecasts.query("model == 'snaive'")["mean"].to_numpy()
    np.testing.assert_allclose(ets, snaive)


def test_without_ensemble_best_is_chosen_per_series_from_backtests():
    shapes = trend_shapes(n=130)
    result = forecast_frame(long_frame(shapes, weekly_dates(130)), horizon=13, models=("naive", "damped"),
                            reconcile=False, n_jobs=1)
    # A strong trend call carries its trend into the chosen model's forecast ("damped+trend"): the choice is before it.
    chosen = result.labels.set_index("unique_id")["model"].str.split("+").str[0]
    assert set(chosen) <= {"naive", "damped"}
    # A straight rise is what a damped trend is for; carrying the last value forward lags behind it.
    assert chosen["rising"] == "damped"


def test_a_leading_signal_that_runs_ahead_is_learnt_and_used():
    rng = np.random.default_rng(11)
    n_styles, T = 60, 160
    t = np.arange(T + 52)
    shapes, leading = {}, {}
    for i in range(n_styles):
        slope = rng.normal(0, 0.0006)
        base = np.clip(0.1 + slope * (t - 100) + rng.normal(0, 0.004, T + 52), 0.001, None)
        shapes[f"s{i}"] = base[:T]
        leading[f"s{i}"] = base[26 : T + 26]  # fashion-forward accounts show today what everyone wears in half a year
    frame = long_frame(shapes, weekly_dates(T), leading)
    result = forecast_frame(frame, horizon=26, season_length=1, reconcile=False, n_jobs=1)
    report = result.summary["leading"]
    assert report["used"], report
    assert report["mase_with"] < report["mase_without"]
    assert result.labels["model"].str.contains(r"\+leading").all()


@pytest.mark.slow
def test_arima_with_the_leading_signal_as_regressor_competes_with_plain_arima():
    rng = np.random.default_rng(5)
    T, lag = 80, 8
    shapes, leading = {}, {}
    for i in range(3):
        driver = 0.1 + 0.03 * np.sin(np.arange(T + lag) / 5 + i) + rng.normal(0, 0.002, T + lag)
        shapes[f"s{i}"] = driver[:T]
        leading[f"s{i}"] = driver[lag:]  # the leading share shows the main share 8 weeks early
    frame = long_frame(shapes, weekly_dates(T), leading)
    result = forecast_frame(frame, horizon=lag, season_length=1, models=("arima", "ensemble"), backtest_windows=2,
                            reconcile=False, n_jobs=1)
    assert "arimax" in set(result.forecasts["model"])
    assert result.summary["mase"]["arimax"] < result.summary["mase"]["arima"]


def test_a_period_without_images_is_interpolated_not_read_as_zero():
    dates = weekly_dates(30)
    a = np.full(30, 0.6)
    b = np.full(30, 0.4)
    a[10] = b[10] = np.nan  # the styles stage writes NaN shares for a week with no images at all
    result = forecast_frame(long_frame({"a": a, "b": b}, dates), horizon=4, n_jobs=1)
    best = best_rows(result).set_index("unique_id")
    np.testing.assert_allclose(best.loc["a", "mean"], 0.6, atol=1e-9)
    np.testing.assert_allclose(best.loc["b", "mean"], 0.4, atol=1e-9)


def test_a_series_without_any_value_is_a_clear_error():
    frame = long_frame({"a": np.linspace(0.1, 0.2, 10), "ghost": [np.nan] * 10}, weekly_dates(10))
    with pytest.raises(ForecastError, match="'ghost' hold no values"):
        forecast_frame(frame, horizon=2)


@pytest.mark.parametrize("freq, period, season", [("MS", "M", 12), ("QS", "Q", 4), ("YS", "Y", 1), ("7D", "W", 52)])
def test_period_and_season_length_follow_the_dates(freq, period, season):
    dates = pd.date_range("2010-01-01", periods=30, freq=freq)
    frame = long_frame({"a": np.linspace(0.2, 0.3, 30), "b": np.linspace(0.3, 0.2, 30)}, dates)
    result = forecast_frame(frame, horizon=3, reconcile=False, n_jobs=1)
    assert result.summary["period"] == period and result.summary["season_length"] == season
    future = sorted(result.forecasts["ds"].unique())
    expected = pd.date_range(dates[-1], periods=4, freq=freq)[1:]
    assert list(pd.DatetimeIndex(future)) == list(expected)
    labels = result.labels.set_index("unique_id")["trend"]
    assert labels["a"] in {"stable", "rising"} and labels["b"] in {"stable", "declining"}


def test_a_fad_past_its_peak_is_forecast_declining_and_a_new_growing_style_emerging():
    rng = np.random.default_rng(1)
    n = 130
    t = np.arange(n)
    shapes = {
        "fad": 0.01 + 0.25 * np.exp(-0.5 * ((t - (n - 10)) / 5) ** 2) + rng.normal(0, 0.002, n),
        "emerging": np.where(t < n - 40, 0.001, 0.001 + 0.005 * (t - (n - 40))) + rng.normal(0, 0.001, n),
        "stable": 0.3 + rng.normal(0, 0.004, n),
    }
    shapes = {k: np.clip(v, 0, None) for k, v in shapes.items()}
    result = forecast_frame(long_frame(shapes, weekly_dates(n)), horizon=13, reconcile=False, n_jobs=1)
    labels = result.labels.set_index("unique_id")
    assert labels.loc["fad", "yoy"] == "up"  # far above a year ago...
    assert labels.loc["fad", "trend"] == "declining"  # ...and falling from where it is now
    assert labels.loc["emerging", "trend"] == "emerging"
    assert labels.loc["stable", "trend"] == "stable"
