"""`forecast --engine ray`: series fitted in Ray tasks give the local engine's forecasts, backtests, calls and labels."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "forecast"))
from forecast_sim import long_frame, trend_shapes, weekly_dates  # noqa: E402

pytest.importorskip("ray", reason="the [ray] extra is not installed")


def many_styles(n_styles: int = 12, n_periods: int = 110, seed: int = 0) -> pd.DataFrame:
    """``n_styles`` shares: the five known trend shapes, each repeated with its own noise, summing to 1 a week."""
    rng = np.random.default_rng(seed)
    shapes = list(trend_shapes(n=n_periods, seed=seed).values())
    raw = {i: np.clip(shapes[i % 5] * rng.uniform(0.5, 1.5) + rng.normal(0, 0.003, n_periods), 1e-4, None)
           for i in range(n_styles)}
    total = sum(raw.values())
    series = long_frame({i: v / total for i, v in raw.items()}, weekly_dates(n_periods))
    series["total"] = 2000
    series["count"] = (series["y"] * 2000).round()
    series["y_leading"] = np.clip(series["y"] * rng.uniform(0.8, 1.2, len(series)), 0, 1)
    return series


def assert_same(local, on_ray) -> None:
    for name in ("forecasts", "backtests", "labels", "calibration", "failures"):
        a, b = getattr(local, name), getattr(on_ray, name)
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False,
                                      rtol=1e-9, atol=1e-12, obj=name)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_forecast_frame_on_ray_matches_local(local_ray):
    from trendgan.forecast.core import forecast_frame

    series = many_styles()
    options = dict(horizon=8, models=("snaive", "ses", "theta", "damped", "ensemble"), backtest_windows=2,
                   period="W")
    local = forecast_frame(series, n_jobs=1, **options)
    on_ray = forecast_frame(series, engine="ray", **options)
    assert len(local.labels) == 12 and local.forecasts["model"].nunique() == 6
    assert local.summary["leading"] == on_ray.summary["leading"]
    assert_same(local, on_ray)


def test_trend_calls_in_ray_chunks_match_local(local_ray):
    from trendgan.engines import engine_session
    from trendgan.forecast.calls import trend_calls

    series = many_styles(n_styles=24, n_periods=120, seed=3)
    Y = series.pivot(index="unique_id", columns="ds", values="y").to_numpy()
    options = dict(totals=np.full(Y.shape, 2000.0), draws=60, max_origins=3, chunk=7, table_origins=2, table_draws=40)
    local = trend_calls(Y, 8, 52, **options)
    with engine_session("ray"):
        on_ray = trend_calls(Y, 8, 52, engine="ray", **options)  # 4 chunks of 7 styles, 4 Ray tasks
    for name in ("probabilities", "yoy_probabilities", "future_median", "future_mean", "growth_per_season", "p_trend",
                 "p_season"):
        np.testing.assert_allclose(getattr(on_ray, name), getattr(local, name), rtol=1e-9, atol=1e-12, err_msg=name)
    pd.testing.assert_frame_equal(on_ray.table, local.table)


def test_forecast_stage_and_cli_take_the_engine(local_ray, store):
    from typer.testing import CliRunner

    from trendgan.cli.app import app
    from trendgan.forecast import forecast, load_forecast
    from trendgan.runs import StylesRun, start_run

    series = many_styles(n_styles=8)
    with start_run(store, StylesRun, name="20260101-000000", settings={"period": "W"},
                   inputs={"encoder": "effnet-lite0"}) as run:
        run.write_table("series", series.assign(low_volume=False))
    local = forecast(store, horizon=6, models=["snaive", "theta", "ensemble"], backtest_windows=2, n_jobs=1)
    result = CliRunner().invoke(app, ["forecast", "--horizon", "6", "--models", "snaive,theta,ensemble",
                                      "--backtest-windows", "2", "--engine", "ray", "--store", str(store.root), "-q"])
    assert result.exit_code == 0, result.output
    on_ray = load_forecast(store)
    assert on_ray.name != local.folder.name and on_ray.settings["engine"] == "ray"
    pd.testing.assert_frame_equal(on_ray.forecasts, load_forecast(store, local.folder.name).forecasts,
                                  check_exact=False, rtol=1e-9)
