"""Forecast models as objects as well as names: aliases, settings, clones, the ensemble and the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.errors import ForecastError
from trendgan.forecast import forecast_frame
from trendgan.forecast.ensemble import Ensemble
from trendgan.forecast.models import ARIMAX, ETS, SES, Naive, SeasonalNaive, Theta, make_model

from forecast_sim import long_frame, trend_shapes, weekly_dates


def frame(n=110):
    return long_frame(trend_shapes(n=n), weekly_dates(n))


def test_models_given_as_objects_keep_their_settings_and_aliases():
    models = [Theta(season_length=52), SES(52, season_decay=0.9, alias="ses_slow"), "snaive", Ensemble()]
    result = forecast_frame(frame(), horizon=8, models=models, backtest_windows=2, reconcile=False, n_jobs=1, calls=False)
    assert set(result.forecasts["model"]) == {"theta", "ses_slow", "snaive", "ensemble", "best"}
    assert result.summary["models"] == ["theta", "ses_slow", "snaive", "ensemble"]
    assert set(result.summary["ensemble_weights"]) <= {"theta", "ses_slow", "snaive"}
    # the named model and the object with the same settings forecast alike
    by_name = forecast_frame(frame(), horizon=8, models=["theta"], backtest_windows=2, reconcile=False, n_jobs=1, calls=False)
    np.testing.assert_allclose(result.forecasts.query("model == 'theta'")["mean"], by_name.forecasts.query("model == 'theta'")["mean"])


def test_clone_is_unfitted_with_the_same_settings():
    model = SES(52, season_decay=0.8, alias="ses8")
    model.fit(np.random.default_rng(0).random((3, 110)))
    twin = model.clone()
    assert twin.get_params() == {"season_length": 52, "season_shrink": 0.0, "season_decay": 0.8, "season_smooth": 1,
                                 "season_check": True, "alias": "ses8"}
    assert not hasattr(twin, "level_") and twin.alias == "ses8"
    assert repr(Theta(12)) == "Theta(season_length=12, season_shrink=0.0, season_decay=0.6, season_smooth=1, season_check=True)"


def test_two_models_with_one_alias_or_a_non_model_are_clear_errors():
    with pytest.raises(ForecastError, match="alias="):
        forecast_frame(frame(), horizon=4, models=[Theta(52), Theta(12)], n_jobs=1)
    with pytest.raises(ForecastError, match="not a forecast model"):
        forecast_frame(frame(), horizon=4, models=[Theta(52), object()], n_jobs=1)
    with pytest.raises(ForecastError, match="needs models to combine"):
        forecast_frame(frame(), horizon=4, models=[Ensemble()], n_jobs=1)


def test_the_fallback_model_takes_the_rows_a_model_fails_on(monkeypatch):
    def broken(self, y, x):
        raise ValueError("optimizer diverged")

    monkeypatch.setattr(ETS, "_fit_one", broken)
    result = forecast_frame(frame(60), horizon=4, models=("ets", "snaive"), backtest_windows=1, reconcile=False,
                            n_jobs=1, fallback=Naive(), calls=False)
    ets = result.forecasts.query("model == 'ets'").pivot(index="unique_id", columns="ds", values="mean")
    last = frame(60).groupby("unique_id")["y"].last()
    np.testing.assert_allclose(ets.to_numpy(), np.repeat(last.loc[ets.index].to_numpy()[:, None], 4, axis=1))
    assert set(result.failures["model"]) == {"ets"}


def test_the_ensemble_works_on_its_own():
    rng = np.random.default_rng(1)
    t = np.arange(120)
    Y = 0.2 + 0.05 * np.sin(2 * np.pi * t / 52)[None, :] + rng.normal(0, 0.005, (6, 120))
    model = Ensemble(["snaive", "theta", SES(52)], season_length=52, windows=2)
    pred = model.fit(Y).predict(13)
    assert pred["mean"].shape == (6, 13) and np.isfinite(pred["mean"]).all()
    assert set(model.weights_) <= {"snaive", "theta", "ses"} and abs(sum(model.weights_.values()) - 1) < 1e-9
    assert np.all(pred["hi-95"] >= pred["hi-80"]) and np.all(pred["lo-80"] >= pred["lo-95"])


def test_arimax_is_a_model_that_asks_for_the_leading_signal():
    assert make_model("arimax", 12).uses_leading and isinstance(make_model("arimax", 12), ARIMAX)
    assert not SeasonalNaive(52).uses_leading
    with pytest.raises(ForecastError, match="leading"):
        forecast_frame(frame(), horizon=4, models=[ARIMAX(1), "snaive"], n_jobs=1)
