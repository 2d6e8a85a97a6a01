"""The ensemble as a model: a weighted mean of other models' forecasts, weights from pooled backtest MASE, intervals
from backtest errors (conformal).

``Ensemble(members=None)`` can stand in ``forecast_frame(models=[...])`` beside the models it combines (there it reuses
their forecasts and backtests), or be used on its own like any model: ``Ensemble([SES(52), Theta(52)]).fit(Y)`` runs
its members with rolling-origin backtests and ``predict(h)`` combines them.
"""

from __future__ import annotations

import numpy as np

from trendgan.forecast.models import LEVELS, ForecastModel

# Ensemble members by default: the models that carry both a level and a season. Naive and drift lose the season, so
# they would only drag a seasonal ensemble down.
ENSEMBLE_POOL = ("snaive", "ses", "theta", "damped", "ets", "arima", "arimax")


class Ensemble(ForecastModel):
    """Weighted mean of ``members`` (aliases; None: those of ENSEMBLE_POOL that are present, else all).

    Weights: 1 / MASE^``power`` for members whose pooled backtest MASE is within ``tolerance`` of the best (1.25:
    25 %), others none; equal weights when nothing could be backtested. On its own (``fit``) it needs
    ``season_length`` and runs its members (objects, or aliases made with that season) with ``windows`` rolling-origin
    backtests of the horizon it is asked for; as ``fit`` does not know the horizon yet, ``predict`` does that work.
    """

    alias = "ensemble"
    is_ensemble = True

    def __init__(self, members=None, season_length: int = 1, windows: int = 3, tolerance: float = 1.25,
                 power: float = 2.0, alias: str | None = None):
        super().__init__(alias)
        self.members = members
        self.season_length = season_length
        self.windows = windows
        self.tolerance = tolerance
        self.power = power

    def member_aliases(self, available) -> list[str]:
        """Which of the ``available`` aliases this ensemble combines."""
        if self.members is not None:
            names = [m if isinstance(m, str) else m.alias for m in self.members]
            return [a for a in names if a in available]
        return [a for a in ENSEMBLE_POOL if a in available] or list(available)

    def weights(self, scores: dict, members) -> dict:
        return ensemble_weights(scores, members, self.tolerance, self.power)

    def _fit(self, Y, X):
        self._Y = Y

    def _predict(self, h, X_future, level):
        from trendgan.forecast.engine import run_batch, score_backtests

        members = self.members if self.members is not None else [a for a in ENSEMBLE_POOL if a not in ("ets", "arima", "arimax")]
        result = run_batch(self._Y, members, h, self.season_length, self.windows, level)
        scores = score_backtests(self._Y, result, self.season_length, level)
        self.weights_ = self.weights(scores, self.member_aliases(result.forecasts))
        add_ensemble(self._Y, result, self.weights_, self.season_length, level, alias=self.alias)
        self.failures_ = [(row, msg) for row, _, msg in result.failures]
        return result.forecasts[self.alias]


def ensemble_weights(scores: dict, members, tolerance: float = 1.25, power: float = 2.0) -> dict:
    """Weights of the ensemble members from their backtest MASE, pooled over all series and windows.

    Pooled rather than per series: three windows of one noisy series say little about which model suits it, while
    thousands of (series, window) pairs rank models reliably. Weight = 1 / MASE^2 for members within 25 % of the
    best one; the rest get none. Equal weights when nothing could be backtested.
    """
    means = {}
    for alias in members:
        values = scores.get(alias, {}).get("mase")
        if values is not None and values.size and np.isfinite(values).any():
            means[alias] = float(np.nanmean(np.clip(values, 0, 10)))
    if not means:
        return {alias: 1.0 / len(members) for alias in members}
    best = min(means.values())
    kept = {a: 1.0 / max(v, 1e-9) ** power for a, v in means.items() if v <= tolerance * best}
    total = sum(kept.values())
    return {a: w / total for a, w in kept.items()}
def combine(predictions: dict, weights: dict) -> np.ndarray:
    return sum(w * predictions[a]["mean"] for a, w in weights.items())


def conformal_intervals(mean: np.ndarray, errors: list, level=LEVELS) -> dict:
    """Intervals from backtest errors (``errors``: one (n, h) array per window, NaN past a window's end).

    Each series' errors are divided by its own mean absolute backtest error, so series of any size and noise pool
    together; per horizon step the pooled quantile of these standardised errors (neighbouring steps pooled for
    enough samples, never shrinking with the horizon) times the series' own error size gives the half-width.
    """
    n, h = mean.shape
    stacked = np.stack(errors)  # (windows, n, h)
    with np.errstate(invalid="ignore"):
        size = np.nanmean(np.abs(stacked), axis=(0, 2))
    size = np.where(np.isfinite(size), size, 0.0)
    standard = np.abs(stacked) / np.where(size > 0, size, np.nan)[None, :, None]
    standard = np.moveaxis(standard, 2, 0).reshape(stacked.shape[2], -1)  # (h, windows * n)
    k = max(1, h // 10)
    out = {"mean": mean}
    for lv in level:
        q = np.zeros(h)
        for j in range(h):
            values = standard[max(0, j - k) : min(standard.shape[0], j + k + 1)]
            values = values[np.isfinite(values)]
            if values.size == 0:
                values = standard[np.isfinite(standard)]
            q[j] = np.quantile(values, lv / 100) if values.size else 0.0
        half = np.maximum.accumulate(q)[None, :] * size[:, None]
        out[f"lo-{lv}"] = mean - half
        out[f"hi-{lv}"] = mean + half
    return out


def add_ensemble(Y: np.ndarray, result, weights: dict, season_length: int, level=LEVELS, alias: str = "ensemble") -> None:
    """Add ``alias`` (the ensemble) to the final and backtest forecasts of a ``BatchResult``, with conformal intervals.

    A backtest window's intervals come from the *other* windows' errors (leave one window out), so its coverage is
    an honest estimate; the final forecast's intervals use every window.
    """
    bt_means = [combine(bt.forecasts, weights) for bt in result.backtests]
    h = next(iter(result.forecasts.values()))["mean"].shape[1]
    errors = []
    for bt, mean in zip(result.backtests, bt_means):
        err = np.full((len(Y), h), np.nan)
        err[:, : bt.h] = Y[:, bt.origin : bt.origin + bt.h] - mean
        errors.append(err)
    final_mean = combine(result.forecasts, weights)
    if errors:
        result.forecasts[alias] = conformal_intervals(final_mean, errors, level)
    else:
        result.forecasts[alias] = _average_bounds(result.forecasts, weights, final_mean, level)
    for i, (bt, mean) in enumerate(zip(result.backtests, bt_means)):
        others = [e[:, : bt.h] for j, e in enumerate(errors) if j != i]
        if others:
            bt.forecasts[alias] = conformal_intervals(mean, others, level)
        else:
            bt.forecasts[alias] = _average_bounds(bt.forecasts, weights, mean, level)


def _average_bounds(predictions, weights, mean, level):
    out = {"mean": mean}
    for lv in level:
        for side in ("lo", "hi"):
            out[f"{side}-{lv}"] = sum(w * predictions[a][f"{side}-{lv}"] for a, w in weights.items())
    return out


