"""Forecasting a long frame of style series: ``forecast_frame(series, horizon) -> ForecastResult``.

Pure on frames (no store): the stage wrapper in ``trendgan.forecast.stage`` reads and writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trendgan.errors import ConfigError, ForecastError
from trendgan.forecast.engine import (
    ENSEMBLE_POOL,
    add_ensemble,
    ensemble_weights,
    growth_features,
    leading_correction,
    run_parallel,
    scale_prediction,
    score_backtests,
)
from trendgan.forecast.labels import LabelRules, trend_labels
from trendgan.forecast.models import LEVELS, MODEL_ALIASES
from trendgan.periods import future_periods, infer_period, period_grid, season_length

# Cheap vectorised models: thousands of series in seconds. Add "ets" / "arima" (statsmodels, per series) for a
# few dozen styles where their cost does not matter.
DEFAULT_MODELS = ("snaive", "ses", "theta", "damped", "ensemble")


@dataclass
class ForecastResult:
    forecasts: "object"  # pandas DataFrame: unique_id, ds, model, mean, lo-80, hi-80, lo-95, hi-95
    backtests: "object"  # unique_id, model, window, origin, mase, smape, coverage_80, coverage_95
    labels: "object"  # unique_id, trend, change, confidence, yoy, model, reference
    failures: "object"  # unique_id, model, message
    summary: dict = field(default_factory=dict)
    folder: "object" = None  # the run folder when written by the stage


def period_of(ds) -> str:
    """The period code (D, W, M, Q, Y) from the spacing of the period starts."""
    try:
        return infer_period(ds)
    except ConfigError as exc:
        raise ForecastError(str(exc)) from None


def season_length_for(period: str) -> int:
    """W 52, M 12, Q 4, D 7, Y none (1)."""
    try:
        return season_length(period)
    except ConfigError as exc:
        raise ForecastError(str(exc)) from None


def check_models(models) -> tuple[str, ...]:
    models = tuple(dict.fromkeys(m.strip().lower() for m in models if m and m.strip()))
    unknown = [m for m in models if m not in MODEL_ALIASES and m not in ("ensemble", "arimax")]
    if unknown:
        raise ForecastError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODEL_ALIASES)}, arimax, ensemble")
    if not models:
        raise ForecastError("no models given: pass at least one, e.g. --models snaive,theta,ensemble")
    if models == ("ensemble",):
        models = DEFAULT_MODELS
    return models


def escape_id(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def to_matrix(series, period: str):
    """Wide matrix (styles x periods) on the full period grid, plus the grid, ids and the leading signal (or None).

    The grid runs from the first to the last period in the frame, so every style gets the same length and the
    vectorised models run on one matrix. Missing values (NaN ``y``: a period without images; or missing rows) are
    interpolated linearly in time, and carried flat before a series' first and after its last value. The styles
    stage writes a row for every style and period, with 0 where a style had no images, so this only touches
    periods with no images at all.
    """
    import pandas as pd

    missing = {"unique_id", "ds", "y"} - set(series.columns)
    if missing:
        raise ForecastError(f"the series frame lacks column(s) {', '.join(sorted(missing))}; expected unique_id, ds, y")
    frame = series.copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    if frame["y"].isna().all() or len(frame) == 0:
        raise ForecastError("the series frame holds no values to forecast")
    first, last = frame["ds"].min(), frame["ds"].max()
    grid = period_grid(first, last, period)
    if period in ("M", "Q", "Y") and (len(grid) == 0 or grid[0] != first):
        grid = pd.DatetimeIndex(sorted(frame["ds"].unique()))
    if not frame["ds"].isin(grid).all():
        grid = pd.DatetimeIndex(sorted(set(grid) | set(frame["ds"].unique())))
    wide = frame.pivot_table(index="unique_id", columns="ds", values="y", aggfunc="mean", dropna=False).reindex(columns=grid)
    if wide.isna().all(axis=1).any():
        empty = ", ".join(escape_id(i) for i in wide.index[wide.isna().all(axis=1)][:5])
        raise ForecastError(f"series {empty} hold no values at all; drop them or give them shares (0 is a share)")
    # A period without any images has no share (NaN), not a share of 0: interpolate it from its neighbours.
    Y = wide.T.interpolate(limit_direction="both").T.to_numpy(dtype=float)
    leading = None
    if "y_leading" in frame.columns and frame["y_leading"].notna().any():
        lead = frame.pivot_table(index="unique_id", columns="ds", values="y_leading", aggfunc="mean")
        lead = lead.reindex(index=wide.index, columns=grid)
        # Periods without leading images carry no information: fill from neighbours rather than call them zero.
        leading = lead.T.interpolate(limit_direction="both").T.fillna(0.0).to_numpy(dtype=float)
    return Y, grid, list(wide.index), leading


def forecast_frame(
    series,
    horizon: int,
    season_length: int | None = None,
    models=DEFAULT_MODELS,
    backtest_windows: int = 3,
    period: str | None = None,
    reconcile: bool = True,
    use_leading: bool | str = "auto",
    clip: bool = True,
    n_jobs: int = -1,
    level=LEVELS,
    rules: LabelRules | None = None,
    on_progress=None,
) -> ForecastResult:
    """Forecast every series of a long frame ``horizon`` periods ahead, with backtests and trend labels.

    - ``models``: aliases from ``trendgan.forecast.models.MODEL_ALIASES`` plus ``ensemble`` (a weighted mean of the
      seasonal members, weights from pooled backtest MASE). The model reported as ``best`` is the ensemble when it is
      asked for, else the model with the lowest mean backtest MASE per series.
    - ``season_length``: from ``period`` when not given (W 52, M 12, Q 4, Y none); models drop the season when the
      history is shorter than two seasons.
    - ``use_leading``: with a ``y_leading`` column, learn a correction of the best forecast from the leading sources'
      growth, kept only when it lowers backtest error ("auto"); ``False`` ignores the column.
    - ``reconcile``: scale each period's forecasts so all styles' shares sum to the total they had (1 when the
      series cover every image).
    - ``n_jobs``: processes for big frames (-1: all cores); ``on_progress(n)`` hears of each finished chunk.
    """
    import pandas as pd

    if int(horizon) < 1:
        raise ForecastError(f"horizon must be at least 1 period, got {horizon}")
    h = int(horizon)
    if int(backtest_windows) < 0:
        raise ForecastError(f"backtest windows cannot be negative, got {backtest_windows}")
    models = check_models(models)
    period = (period or period_of(series["ds"] if "ds" in series.columns else [])).upper()[:1]
    m = season_length if season_length is not None else season_length_for(period)
    Y, grid, ids, leading = to_matrix(series, period)
    if Y.shape[1] < 3:
        raise ForecastError(f"the series hold {Y.shape[1]} period(s); forecasting needs at least 3")
    if clip:
        Y = np.clip(Y, 0.0, 1.0)

    base = [a for a in models if a != "ensemble"]
    if "arimax" in base and leading is None:
        raise ForecastError("model arimax needs the leading sources' share (a y_leading column); the series have none")
    if leading is not None and use_leading and "arima" in base and "arimax" not in base:
        # Regression with ARIMA errors on the leading signal, as a competitor of plain ARIMA: backtests decide
        # (per-series choice, ensemble weights) whether it earns its place.
        base.insert(base.index("arima") + 1, "arimax")
    wants_ensemble = "ensemble" in models
    members = [a for a in ENSEMBLE_POOL if a in base] or base
    result = run_parallel(Y, base, h, m, backtest_windows, n_jobs=n_jobs, level=level,
                          leading=leading if "arimax" in base else None, on_progress=on_progress)
    scores = score_backtests(Y, result, m, level)
    weights = {}
    if wants_ensemble:
        weights = ensemble_weights(scores, members)
        add_ensemble(Y, result, weights, m, level)
        scores["ensemble"] = score_backtests(Y, _only(result, "ensemble"), m, level)["ensemble"]

    best_alias = _choose_best(scores, result, wants_ensemble)
    best = _pick_rows(result.forecasts, best_alias)
    best_name = np.array(best_alias, dtype=object)

    leading_report = {"used": False, "reason": "no y_leading column"}
    if leading is not None and not use_leading:
        leading_report = {"used": False, "reason": "switched off"}
    elif leading is not None:
        for bt in result.backtests:
            bt.forecasts["best"] = _pick_rows(bt.forecasts, best_alias)
        corrector, leading_report = leading_correction(Y, leading, result, "best", m, h)
        for bt in result.backtests:
            del bt.forecasts["best"]
        if corrector is not None:
            factor = corrector.factor(growth_features(Y, leading, corrector.window))
            best = scale_prediction(best, factor)
            best_name = np.array([f"{name}+leading" for name in best_name], dtype=object)

    result.forecasts["best"] = best
    if clip:
        for alias in result.forecasts:
            result.forecasts[alias] = {k: np.clip(v, 0.0, 1.0) for k, v in result.forecasts[alias].items()}
    if reconcile:
        target = reconcile_target(Y, m)
        for alias in result.forecasts:
            result.forecasts[alias] = reconcile_shares(result.forecasts[alias], target)

    labels = trend_labels(Y, result.forecasts["best"], m, h, rules)
    dates = future_periods(grid[-1], h, period)
    forecasts = _forecast_frame(ids, dates, result.forecasts, level)
    backtests = _backtest_frame(ids, scores, result.backtests, level)
    label_frame = pd.DataFrame({
        "unique_id": ids,
        "trend": labels["trend"],
        "change": labels["change"],
        "change_recent": labels["change_recent"],
        "confidence": labels["confidence"],
        "yoy": labels["yoy"],
        "model": best_name,
        "reference": labels["reference"],
        "recent": labels["recent"],
    })
    failures = pd.DataFrame(
        [(ids[row], alias, msg) for row, alias, msg in result.failures], columns=["unique_id", "model", "message"]
    )
    summary = {
        "series": len(ids),
        "periods": int(Y.shape[1]),
        "period": period,
        "season_length": m,
        "horizon": h,
        "models": list(models),
        "backtest_windows": len(result.backtests),
        "ensemble_weights": weights,
        "leading": leading_report,
        "failures": int(len(failures)),
        "mase": {alias: _mean(s["mase"]) for alias, s in scores.items()},
        "trends": {t: int((labels["trend"] == t).sum()) for t in np.unique(labels["trend"])},
    }
    return ForecastResult(forecasts, backtests, label_frame, failures, summary)


def _only(result, alias):
    from trendgan.forecast.engine import Backtest, BatchResult

    return BatchResult({alias: result.forecasts[alias]}, [Backtest(b.origin, b.h, {alias: b.forecasts[alias]}) for b in result.backtests])


def _mean(values) -> float | None:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if values.size and np.isfinite(values).any() else None


def _choose_best(scores: dict, result, wants_ensemble: bool) -> list[str]:
    aliases = list(result.forecasts)
    n = next(iter(result.forecasts.values()))["mean"].shape[0]
    if wants_ensemble:
        return ["ensemble"] * n
    if not result.backtests:
        return [aliases[0]] * n
    table = np.column_stack([np.nanmean(np.where(np.isfinite(scores[a]["mase"]), scores[a]["mase"], np.inf), axis=1) for a in aliases])
    table = np.where(np.isfinite(table), table, np.inf)
    return [aliases[i] for i in np.argmin(table, axis=1)]


def _pick_rows(forecasts: dict, aliases: list[str]) -> dict:
    keys = forecasts[aliases[0]].keys()
    return {k: np.vstack([forecasts[a][k][row] for row, a in enumerate(aliases)]) for k in keys}


def reconcile_target(Y: np.ndarray, m: int) -> float:
    """What all styles' shares of a period add up to: 1 when the series cover every image, else their recent total."""
    totals = Y.sum(axis=0)
    recent = totals[-max(m, 1):]
    return 1.0 if np.allclose(recent, 1.0, atol=1e-6) else float(np.mean(recent))


def reconcile_shares(prediction: dict, target: float) -> dict:
    """Scale each period's forecasts (and their bounds) so the styles' means sum to ``target``."""
    total = prediction["mean"].sum(axis=0, keepdims=True)
    factor = np.divide(target, total, out=np.ones_like(total), where=total > 0)
    return {k: np.clip(v * factor, 0.0, 1.0) for k, v in prediction.items()}


def _forecast_frame(ids, dates, forecasts: dict, level):
    import pandas as pd

    n, h = len(ids), len(dates)
    frames = []
    for alias, pred in forecasts.items():
        frame = {"unique_id": np.repeat(ids, h), "ds": np.tile(dates.values, n), "model": alias}
        frame["mean"] = pred["mean"].ravel()
        for lv in level:
            frame[f"lo-{lv}"] = pred[f"lo-{lv}"].ravel()
            frame[f"hi-{lv}"] = pred[f"hi-{lv}"].ravel()
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _backtest_frame(ids, scores: dict, backtests, level):
    import pandas as pd

    frames = []
    for alias, per in scores.items():
        for w, bt in enumerate(backtests):
            frame = {"unique_id": ids, "model": alias, "window": w, "origin": bt.origin, "h": bt.h}
            for key, values in per.items():
                frame[key] = values[:, w]
            frames.append(pd.DataFrame(frame))
    columns = ["unique_id", "model", "window", "origin", "h", "mase", "smape", *[f"coverage_{lv}" for lv in level]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
