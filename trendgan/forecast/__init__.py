"""Forecasting style shares: models behind one interface, backtests, intervals, reconciliation, trend labels.

- ``forecast_frame(series, horizon, ...)``: pure on a long frame (unique_id, ds, y[, y_leading]).
- ``forecast(store, ...)``: the stage; reads the latest styles run, writes ``forecasts/<run>/``.
- ``load_forecast(store, run=None)``: read a forecast run back.
"""

from trendgan.forecast.core import DEFAULT_MODELS, ForecastResult, forecast_frame, season_length_for
from trendgan.forecast.labels import TRENDS, LabelRules, trend_labels, true_trends
from trendgan.forecast.models import MODEL_ALIASES, make_model

__all__ = [
    "DEFAULT_MODELS",
    "ForecastResult",
    "forecast_frame",
    "season_length_for",
    "TRENDS",
    "LabelRules",
    "trend_labels",
    "true_trends",
    "MODEL_ALIASES",
    "make_model",
    "forecast",
    "load_forecast",
    "ForecastRun",
]


def __getattr__(name):
    if name in ("forecast", "load_forecast", "ForecastRun"):
        from trendgan.forecast import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'trendgan.forecast' has no attribute {name!r}")
