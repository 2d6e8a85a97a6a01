"""The forecast stage against a store, and `trendgan forecast` through Typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trendgan.cli.app import app
from trendgan.forecast import forecast, load_forecast
from trendgan.runs import StylesRun, start_run

from forecast_sim import long_frame, trend_shapes, weekly_dates

runner = CliRunner()


def write_styles_run(store, n_periods=110, name="20260101-000000", with_noise=True):
    """A finished styles run holding the series table, written through trendgan.runs as the styles stage does."""
    shapes = trend_shapes(n=n_periods)
    total = sum(shapes.values())
    shares = {i: v / total for i, v in enumerate(shapes.values())}
    series = long_frame(shares, weekly_dates(n_periods))
    series["total"] = 1000
    series["low_volume"] = False
    series["y_leading"] = np.nan
    if with_noise:
        noise = series[series["unique_id"] == 0].assign(unique_id=-1, y=0.0)
        series = pd.concat([series, noise], ignore_index=True)
    with start_run(store, StylesRun, name=name, settings={"period": "W"}, inputs={"encoder": "effnet-lite0"}) as run:
        run.write_table("series", series)
    return run.folder


def test_stage_writes_a_complete_run_and_loads_back(store):
    styles = write_styles_run(store)
    result = forecast(store, horizon=8, models=["snaive", "theta", "ensemble"], backtest_windows=2)
    folder = result.folder
    for name in ("forecast.parquet", "backtests.parquet", "labels.parquet", "calibration.parquet", "config.json",
                 "metrics.jsonl"):
        assert (folder / name).exists(), name
    run = load_forecast(store)
    assert run.styles_run == styles.name and run.horizon == 8 and run.period == "W"
    assert run.settings["models"] == ["snaive", "theta", "ensemble"]
    assert run.folder == folder
    assert set(run.labels["unique_id"]) == {0, 1, 2, 3, 4}  # noise (-1) is not a style
    from trendgan.forecast.core import CALIBRATION_COLUMNS, LABEL_COLUMNS

    assert list(run.labels.columns) == list(LABEL_COLUMNS)
    calibration = run.calibration
    assert list(calibration.columns) == list(CALIBRATION_COLUMNS)
    assert len(calibration) and set(calibration["kind"]) <= {"trend", "yoy"}
    assert calibration["predicted"].between(0, 1).all() and calibration["observed"].between(0, 1).all()
    best = run.forecasts.query("model == 'best'")
    np.testing.assert_allclose(best.groupby("ds")["mean"].sum(), 1.0, atol=1e-9)
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["series"] == 5


def test_default_horizon_is_one_season(store):
    write_styles_run(store, n_periods=60)
    result = forecast(store, models=["snaive", "ses", "ensemble"], backtest_windows=1)
    assert result.summary["horizon"] == 52


def test_forecast_without_a_styles_run_says_what_to_do(store):
    from trendgan.errors import StageNotRunError

    with pytest.raises(StageNotRunError, match="trendgan styles"):
        forecast(store)


def test_cli_forecast_prints_a_summary_and_the_run_folder(store):
    write_styles_run(store)
    result = runner.invoke(app, ["forecast", "--store", str(store.root), "--horizon", "6", "--models",
                                 "snaive,theta,ensemble", "--backtest-windows", "2"])
    assert result.exit_code == 0, result.output
    assert "forecast 5 styles 6 periods ahead" in result.output
    folder = result.output.strip().splitlines()[-1]
    assert folder.endswith(load_forecast(store).folder.name)


def test_cli_bad_model_is_one_clean_line(store):
    write_styles_run(store)
    result = runner.invoke(app, ["forecast", "--store", str(store.root), "--models", "theta,prophet"])
    assert result.exit_code == 1
    assert "unknown model(s) prophet" in result.output
    assert "Traceback" not in result.output
    assert not store.runs("forecasts")  # nothing half-written


def test_cli_without_styles_run_exits_1(store):
    result = runner.invoke(app, ["forecast", "--store", str(store.root)])
    assert result.exit_code == 1
    assert "no styles run yet" in result.output
