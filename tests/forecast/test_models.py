"""Each model on its own: shapes, intervals, the season, and the fallback when a fit fails."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.errors import ForecastError
from trendgan.forecast.models import ARIMA, ETS, DampedTrend, Drift, Naive, SeasonalNaive, SES, Theta, make_model


def seasonal_batch(n=20, T=104, m=52, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    return 0.3 + 0.1 * np.sin(2 * np.pi * t / m)[None, :] + rng.normal(0, 0.01, (n, T))


@pytest.mark.parametrize("model", [Naive(), SeasonalNaive(52), Drift(), SES(52), Theta(52), DampedTrend(52)])
def test_vectorised_models_give_ordered_intervals_for_every_series(model):
    Y = seasonal_batch()
    pred = model.fit(Y).predict(13)
    assert pred["mean"].shape == (20, 13)
    assert np.all(pred["lo-95"] <= pred["lo-80"]) and np.all(pred["lo-80"] <= pred["mean"])
    assert np.all(pred["mean"] <= pred["hi-80"]) and np.all(pred["hi-80"] <= pred["hi-95"])


def test_one_series_in_one_series_out():
    y = seasonal_batch(n=1)[0]
    pred = Theta(52).fit(y).predict(5)
    assert pred["mean"].shape == (5,)


def test_seasonal_models_follow_the_season_and_snaive_repeats_it():
    Y = seasonal_batch(T=156)
    truth = 0.3 + 0.1 * np.sin(2 * np.pi * np.arange(156, 208) / 52)
    for model in (SES(52), Theta(52), DampedTrend(52)):
        mean = model.fit(Y).predict(52)["mean"]
        assert np.abs(mean - truth).mean() < 0.01, model.alias
    np.testing.assert_allclose(SeasonalNaive(52).fit(Y).predict(52)["mean"], Y[:, -52:])


def test_season_is_dropped_when_history_is_short():
    Y = seasonal_batch(T=60)
    model = Theta(52).fit(Y)
    assert model.m_ == 1
    assert np.isfinite(model.predict(52)["mean"]).all()


def test_damped_trend_follows_a_line_and_theta_adds_drift():
    t = np.arange(80)
    Y = (0.1 + 0.002 * t)[None, :]
    damped = DampedTrend(1).fit(Y).predict(10)["mean"][0]
    theta = Theta(1).fit(Y).predict(10)["mean"][0]
    assert damped[0] > Y[0, -1] and np.all(np.diff(damped) > 0)
    assert theta[-1] > Y[0, -1]


def monthly_with_trend(seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(60)
    truth = 0.2 + 0.05 * np.sin(2 * np.pi * t / 12) + 0.001 * t
    return truth[:48] + rng.normal(0, 0.005, 48), truth[48:]


def test_ets_fits_a_seasonal_model():
    y, truth = monthly_with_trend()
    model = ETS(12).fit(y)
    pred = model.predict(12)
    assert not model.failures_, model.failures_
    assert model.fitted_[0][0].model.seasonal == "add"
    assert np.abs(pred["mean"] - truth).mean() < 0.02
    assert np.all(pred["hi-95"] > pred["hi-80"]) and np.all(np.diff(pred["hi-95"] - pred["lo-95"]) >= -1e-12)


@pytest.mark.slow
def test_arima_fits_a_seasonal_model():
    y, truth = monthly_with_trend()
    model = ARIMA(12).fit(y)
    pred = model.predict(12)
    assert not model.failures_, model.failures_
    assert np.abs(pred["mean"] - truth).mean() < 0.02
    assert np.all(pred["hi-95"] > pred["lo-95"])


def test_arima_uses_an_exogenous_signal():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 90)
    y = 0.5 + 0.2 * x + rng.normal(0, 0.01, 90)
    model = ARIMA(1).fit(y[:80], X=x[:80, None])
    pred = model.predict(10, X_future=x[80:, None])
    assert np.abs(pred["mean"] - y[80:]).mean() < 0.05


def test_a_failing_fit_falls_back_to_seasonal_naive_and_is_recorded(monkeypatch):
    Y = seasonal_batch(n=3, T=104)

    original = ETS._fit_one

    def broken(self, y, x):
        if y[0] == Y[1, 0]:
            raise np.linalg.LinAlgError("singular matrix")
        return original(self, y, x)

    monkeypatch.setattr(ETS, "_fit_one", broken)
    model = ETS(52).fit(Y[:, :60])  # short: the season is dropped, so real fits stay quick
    pred = model.predict(8)
    assert [row for row, _ in model.failures_] == [1]
    assert "singular" in model.failures_[0][1]
    np.testing.assert_allclose(pred["mean"][1], SeasonalNaive(52).fit(Y[:, :60]).predict(8)["mean"][1])
    assert np.isfinite(pred["mean"]).all()


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ForecastError, match="unknown model 'prophet'"):
        make_model("prophet")


def test_rows_with_a_numerical_blow_up_fall_back_in_the_batch(monkeypatch):
    from trendgan.forecast.engine import fit_predict

    original = Theta._predict_adjusted

    def blow_up(self, h):
        mean, sd = original(self, h)
        mean[0] = np.inf
        return mean, sd

    monkeypatch.setattr(Theta, "_predict_adjusted", blow_up)
    Y = seasonal_batch(n=3, T=104)
    forecasts, failures = fit_predict(Y, ["theta"], 6, 52)
    assert failures == [(0, "theta", "non-finite forecast")]
    np.testing.assert_allclose(forecasts["theta"]["mean"][0], Y[0, -52:-46])
    assert np.isfinite(forecasts["theta"]["mean"]).all()
