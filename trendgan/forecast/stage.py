"""The forecast stage: latest styles run -> ``forecasts/<run>/`` in the store.

Files: ``forecast.parquet`` (unique_id, ds, model, mean, lo-80, hi-80, lo-95, hi-95), ``backtests.parquet``,
``labels.parquet``, ``failures.parquet``, ``metrics.jsonl`` and, last, ``config.json`` (styles run, horizon, models,
period...): a run folder without it is unfinished and ignored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from trendgan.errors import ForecastError, StageNotRunError
from trendgan.forecast.core import DEFAULT_MODELS, ForecastResult, forecast_frame, season_length_for
from trendgan.store import Store, append_jsonl, read_json, utcnow, write_json_atomic, write_parquet_atomic

STAGE_FOLDER = "forecasts"


def default_horizon(period: str) -> int:
    """One season ahead (52 weeks, 12 months, 4 quarters); 3 periods when there is no season."""
    m = season_length_for(period)
    return m if m > 1 else 3


def read_styles_series(store: Store, styles_run: str | None = None):
    """(series frame, period, styles run name) from a styles run (the latest finished one by default)."""
    from trendgan.styles import load_styles

    folder = store.run_dir("styles", styles_run)
    series_path = folder / "series.parquet"
    if not series_path.exists():
        raise StageNotRunError(f"the styles run {folder.name} has no series.parquet: run `trendgan styles` again")
    config = read_json(folder / "config.json")
    series = load_styles(store, folder.name).level_series  # styles, or families when the run says --level family
    period = str(config.get("period") or config.get("settings", {}).get("period") or "").upper()[:1] or None
    return series, period, folder.name


def forecast(
    store: Store | str | None = None,
    styles_run: str | None = None,
    horizon: int | None = None,
    models=None,
    backtest_windows: int = 3,
    n_jobs: int = -1,
    use_leading: bool | str = "auto",
) -> ForecastResult:
    """Forecast every style of a styles run and write ``forecasts/<run>/``; returns the result with ``.folder``.

    ``horizon`` defaults to one season of the styles run's period; ``models`` to ``DEFAULT_MODELS``.
    Noise (style -1) is left out: it is not a style anyone can act on.
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
    with store.writer("forecast"):
        from trendgan.forecast.core import period_of

        period = period or period_of(series["ds"])
        h = horizon or default_horizon(period)
        from trendgan.console import progress

        with progress(series["unique_id"].nunique(), "forecasting", unit="styles") as bar:
            result = forecast_frame(series, h, models=models, backtest_windows=backtest_windows, period=period,
                                    n_jobs=n_jobs, use_leading=use_leading, on_progress=bar.advance)
        folder = store.new_run(STAGE_FOLDER)
        write_parquet_atomic(result.forecasts, folder / "forecast.parquet")
        write_parquet_atomic(result.backtests, folder / "backtests.parquet")
        write_parquet_atomic(result.labels, folder / "labels.parquet")
        write_parquet_atomic(result.failures, folder / "failures.parquet")
        seconds = time.perf_counter() - started
        append_jsonl(folder / "metrics.jsonl", {"at": utcnow(), "seconds": round(seconds, 3), **result.summary})
        config = {
            "stage": "forecast",
            "styles_run": run_name,
            "horizon": h,
            "models": list(result.summary["models"]),
            "period": period,
            "season_length": result.summary["season_length"],
            "backtest_windows": backtest_windows,
            "use_leading": use_leading,
            "created_at": utcnow(),
        }
        write_json_atomic(folder / "config.json", config)
    result.folder = folder
    result.summary["seconds"] = seconds
    return result


@dataclass
class ForecastRun:
    """A finished forecast run, frames loaded on first use."""

    folder: Path

    def _read(self, name):
        import pandas as pd

        return pd.read_parquet(self.folder / name)

    @property
    def forecasts(self):
        return self._read("forecast.parquet")

    @property
    def backtests(self):
        return self._read("backtests.parquet")

    @property
    def labels(self):
        return self._read("labels.parquet")

    @property
    def failures(self):
        return self._read("failures.parquet")

    @property
    def config(self) -> dict:
        return json.loads((self.folder / "config.json").read_text(encoding="utf-8"))


def load_forecast(store: Store | str | None = None, run: str | None = None) -> ForecastRun:
    """The named forecast run, or the latest finished one."""
    store = store if isinstance(store, Store) else Store(store)
    return ForecastRun(store.run_dir(STAGE_FOLDER, run))
