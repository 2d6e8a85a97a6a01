"""Forecast accuracy, vectorised over series: MASE, sMAPE and interval coverage.

All functions take (n_series, h) arrays of actuals and forecasts and return one number per series.
"""

from __future__ import annotations

import numpy as np


def mase_scale(history: np.ndarray, season_length: int) -> np.ndarray:
    """Mean absolute seasonal-naive error in the history: the denominator of MASE (Hyndman & Koehler 2006).

    The lag falls back to 1 when the history is shorter than a season and a bit; a flat (e.g. all-zero) history has
    scale 0 and MASE is then undefined (NaN) rather than infinite.
    """
    history = np.atleast_2d(history)
    T = history.shape[1]
    lag = season_length if season_length > 1 and T > season_length else 1
    if T <= lag:
        return np.full(len(history), np.nan)
    scale = np.mean(np.abs(history[:, lag:] - history[:, :-lag]), axis=1)
    return np.where(scale > 0, scale, np.nan)


def mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(np.atleast_2d(actual) - np.atleast_2d(forecast)), axis=1) / scale


def smape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Symmetric MAPE in percent (0..200); periods where both are zero count as a perfect forecast."""
    actual, forecast = np.atleast_2d(actual), np.atleast_2d(forecast)
    denom = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(actual - forecast), denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)
    return 100 * ratio.mean(axis=1)


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share of periods whose actual value falls inside [lo, hi]."""
    actual = np.atleast_2d(actual)
    return np.mean((actual >= np.atleast_2d(lo)) & (actual <= np.atleast_2d(hi)), axis=1)


def yoy_class(reference: np.ndarray, forecast_mean: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """HERMES' 3-class year-on-year label: 'up' / 'down' when the mean moves more than ``threshold`` relatively."""
    reference = np.asarray(reference, dtype=float)
    change = np.divide(forecast_mean - reference, reference, out=np.zeros_like(reference), where=reference > 0)
    change = np.where((reference <= 0) & (forecast_mean > 0), np.inf, change)
    return np.where(change > threshold, "up", np.where(change < -threshold, "down", "flat"))
