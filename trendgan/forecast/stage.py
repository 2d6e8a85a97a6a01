"""The forecast stage: latest styles run -> ``forecasts/<run>/`` in the store.

Files: ``forecast.parquet`` (unique_id, ds, model, mean, lo-80, hi-80, lo-95, hi-95), ``backtests.parquet``,
``labels.parquet`` (``trendgan.forecast.core.LABEL_COLUMNS``: the call, its probabilities and evidence),
``calibration.parquet`` (the calls' reliability on rolling-origin backtests: kind, bin_lo, bin_hi, calls, predicted,
observed), ``failures.parquet``, ``metrics.jsonl`` and, last, ``config.json`` (styles run, horizon, models,
period...): a run folder without it is unfinished and ignored.
"""

from __future__ import annotations

import time

from trendgan.errors import ForecastError
from trendgan.forecast.core import DEFAULT_MODELS, ForecastResult, forecast_frame, period_of, season_length_for
from trendgan.console import progress
from trendgan.runs import ForecastRun, StylesRun, start_run
from trendgan.store import Store


def default_horizon(period: str) -> int:
    """One season ahead (52 weeks, 12 months, 4 quarters); 3 periods when there is no season."""
    m = season_length_for(period)
    return m if m > 1 else 3


def read_styles_series(store: Store, styles_run: str | None = None):
    """(series frame, period, styles run name) from a styles run (the latest finished one by default)."""
    run = StylesRun.open(store, styles_run)
    period = str(run.period or "").upper()[:1] or None
    return run.level_series, period, run.name  # styles, or families when the run says --level family


def forecast(
    store: Store | str | None = None,
    styles_run: str | None = None,
    horizon: int | None = None,
    models=None,
    backtest_windows: int = 3,
    n_jobs: int = -1,
    use_leading: bool | str = "auto",
    engine: str = "local",
) -> ForecastResult:
    """Forecast every style of a styles run and write ``forecasts/<run>/``; returns the result with ``.folder``.

    ``horizon`` defaults to one season of the styles run's period; ``models`` to ``DEFAULT_MODELS``.
    Noise (style -1) is left out: it is not a style anyone can act on. ``engine="ray"`` fits the series in Ray
    tasks (``forecast_frame``); the run's files are written here either way.
    """
    store = store if isinstance(store, Store) else Store(store)
    series, period, run_name = read_styles_series(store, styles_run)
    if "unique_id" in series.columns:
        series = series[series["unique_id"] != -1]
    if series.empty:
        raise ForecastError(f"the styles run {run_name} has no style series to forecast: run `trendgan styles` with more images")
    models = tuple(models) if models else DEFAULT_MODELS
    if horizon is not None and horizon < 1:
        raise ForecastError(f"--horizon must be at least 1, got {horizon}")
    started = time.perf_counter()
    period = period or period_of(series["ds"])
    h = horizon or default_horizon(period)
    settings = {"horizon": horizon, "models": [str(getattr(m, "alias", m)) for m in models], "backtest_windows": backtest_windows, "n_jobs": n_jobs,
                "use_leading": use_leading, "engine": engine}
    with start_run(store, ForecastRun, settings=settings, inputs={"styles_run": run_name}) as run:
        with progress(series["unique_id"].nunique(), "forecasting", unit="styles") as bar:
            result = forecast_frame(series, h, models=models, backtest_windows=backtest_windows, period=period,
                                    n_jobs=n_jobs, use_leading=use_leading, on_progress=bar.advance, engine=engine)
        run.write_table("forecast", result.forecasts)
        run.write_table("backtests", result.backtests)
        run.write_table("labels", result.labels)
        run.write_table("calibration", result.calibration)
        run.write_table("failures", result.failures)
        seconds = time.perf_counter() - started
        run.log({"seconds": round(seconds, 3), **result.summary})
        run.finish(results={"horizon": h, "period": period, "models": list(result.summary["models"]),
                            "season_length": result.summary["season_length"]},
                   summary={"styles": int(series["unique_id"].nunique()), "horizon": h})
    result.folder = run.folder
    result.summary["seconds"] = seconds
    return result


def load_forecast(store: Store | str | None = None, run: str | None = None) -> ForecastRun:
    """The named forecast run, or the latest finished one."""
    return ForecastRun.open(store, run)
