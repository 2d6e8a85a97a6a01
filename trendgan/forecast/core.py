"""Forecasting a long frame of style series: ``forecast_frame(series, horizon) -> ForecastResult``.

Pure on frames (no store): the stage wrapper in ``trendgan.forecast.stage`` reads and writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trendgan.engines import in_engine_session
from trendgan.errors import ConfigError, ForecastError
from trendgan.forecast.calls import TrendCalls, YOY_CLASSES, trend_calls
from trendgan.forecast.engine import (
    growth_features,
    leading_correction,
    run_parallel,
    scale_prediction,
    score_backtests,
)
from trendgan.forecast.ensemble import Ensemble, add_ensemble
from trendgan.forecast.labels import TRENDS, LabelRules, trend_labels
from trendgan.forecast.models import ARIMA, ARIMAX, LEVELS, MODEL_ALIASES, ForecastModel, make_model
from trendgan.periods import future_periods, infer_period, period_grid, season_length

# Cheap vectorised models: thousands of series in seconds. Add "ets" / "arima" (statsmodels, per series) for a
# few dozen styles where their cost does not matter.
DEFAULT_MODELS = ("snaive", "ses", "theta", "damped", "ensemble")


@dataclass
class ForecastResult:
    forecasts: "object"  # pandas DataFrame: unique_id, ds, model, mean, lo-80, hi-80, lo-95, hi-95
    backtests: "object"  # unique_id, model, window, origin, mase, smape, coverage_80, coverage_95
    labels: "object"  # unique_id, trend, change, confidence, p_<trend>..., yoy, p_up..., evidence (LABEL_COLUMNS)
    failures: "object"  # unique_id, model, message
    summary: dict = field(default_factory=dict)
    folder: "object" = None  # the run folder when written by the stage
    calibration: "object" = None  # reliability of the calls on rolling-origin backtests (CALIBRATION_COLUMNS)


# The labels frame, in order. p_<trend> sum to 1 and confidence is the chosen trend's; p_up/p_flat/p_down are the
# year-on-year direction's (yoy). The rest is the evidence behind a call, enough for a sentence (``explain``).
LABEL_COLUMNS = (
    "unique_id", "trend", "change", "change_recent", "confidence",
    *[f"p_{t}" for t in TRENDS], "yoy", *[f"p_{c}" for c in YOY_CLASSES],
    "model", "reference", "recent", "previous", "images_recent", "growth_per_season", "p_trend", "p_season",
    "backtest_hits", "backtest_calls", "explanation",
)
CALIBRATION_COLUMNS = ("kind", "bin_lo", "bin_hi", "calls", "predicted", "observed")


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
    """Model names, lowercased and de-duplicated; ("ensemble",) alone means the default set. Kept for callers that
    name models by string; ``resolve_models`` also takes objects."""
    names = tuple(dict.fromkeys(m.strip().lower() for m in models if m and m.strip()))
    unknown = [m for m in names if m not in MODEL_ALIASES and m not in ("ensemble", "arimax")]
    if unknown:
        raise ForecastError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODEL_ALIASES)}, arimax, ensemble")
    if not names:
        raise ForecastError("no models given: pass at least one, e.g. --models snaive,theta,ensemble")
    if names == ("ensemble",):
        names = DEFAULT_MODELS
    return names


def resolve_models(models, season_length: int) -> tuple[list[ForecastModel], Ensemble | None]:
    """(the models to fit, the ensemble or None) from names and/or model objects.

    A name gets the frame's season (``"theta"`` -> ``Theta(season_length)``); an object keeps its own settings.
    At most one ensemble; two models may not share an alias.
    """
    if isinstance(models, (str, ForecastModel)):
        models = [models]
    models = list(models)
    if all(isinstance(m, str) for m in models):
        models = list(check_models(models))
    objects = []
    for spec in models:
        if isinstance(spec, str):
            name = spec.strip().lower()
            if name == "ensemble":
                objects.append(Ensemble(season_length=season_length))
            elif name in MODEL_ALIASES or name == "arimax":
                objects.append(make_model(name, season_length))
            else:
                raise ForecastError(f"unknown model {spec!r}; choose from {', '.join(MODEL_ALIASES)}, arimax, ensemble")
        elif isinstance(spec, ForecastModel):
            objects.append(spec)
        else:
            raise ForecastError(f"{spec!r} is not a forecast model: pass a name ('theta') or a model object (Theta(52))")
    ensembles = [m for m in objects if getattr(m, "is_ensemble", False)]
    if len(ensembles) > 1:
        raise ForecastError("give at most one ensemble")
    base = [m for m in objects if not getattr(m, "is_ensemble", False)]
    if not base:
        raise ForecastError("an ensemble needs models to combine: pass them too, e.g. snaive,theta,ensemble")
    aliases = [m.alias for m in objects]
    twice = sorted({a for a in aliases if aliases.count(a) > 1})
    if twice:
        raise ForecastError(f"two models are named {', '.join(map(repr, twice))}: give one of them alias='...'")
    return base, (ensembles[0] if ensembles else None)


def resolve_fallback(fallback, season_length: int) -> ForecastModel | None:
    if fallback is None or isinstance(fallback, ForecastModel):
        return fallback
    if isinstance(fallback, str):
        return make_model(fallback.strip().lower(), season_length)
    raise ForecastError(f"fallback {fallback!r} is not a forecast model")


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


def image_totals(series, ids, grid):
    """(styles x periods) images behind each share (the ``total`` column: the period's images), or None without it.

    A missing period or total counts as no images (0): the count model then gives that period no weight.
    """
    import pandas as pd

    if "total" not in series.columns or series["total"].isna().all():
        return None
    frame = series[["unique_id", "ds", "total"]].copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    wide = frame.pivot_table(index="unique_id", columns="ds", values="total", aggfunc="max")
    return wide.reindex(index=ids, columns=grid).fillna(0.0).clip(lower=0).to_numpy(dtype=float)


@in_engine_session
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
    fallback=None,
    calls: bool = True,
    seed: int = 0,
    engine: str = "local",
) -> ForecastResult:
    """Forecast every series of a long frame ``horizon`` periods ahead, with backtests and trend calls.

    - ``models``: names (``MODEL_ALIASES``, ``arimax``, ``ensemble``) or model objects (``Theta(season_length=52)``,
      ``Ensemble(members=["ses", "theta"])``), or both. The ensemble is a weighted mean of its members, weights from
      pooled backtest MASE. The model reported as ``best`` is the ensemble when it is asked for, else the model with
      the lowest mean backtest MASE per series.
    - ``fallback``: the model (object or name) for rows a model fails on; default seasonal naive with the season.
    - ``season_length``: from ``period`` when not given (W 52, M 12, Q 4, Y none); models drop the season when the
      history is shorter than two seasons.
    - ``use_leading``: with a ``y_leading`` column, learn a correction of the best forecast from the leading sources'
      growth, kept only when it lowers backtest error ("auto"), and let the trend calls weigh the same growth;
      ``False`` ignores the column.
    - ``calls``: trend calls with calibrated probabilities (``trendgan.forecast.calls``): the count model of each
      style's shares (counts from the ``total`` column when present), calibrated on rolling origins. A call of
      rising, declining or emerging is carried into the ``best`` forecast (its mean over the horizon moved to the
      calls' median), so a damped ensemble does not hide a clear trend. ``False``: labels from the rule on the best
      forecast alone (the earlier behaviour).
    - ``reconcile``: scale each period's forecasts so all styles' shares sum to the total they had (1 when the
      series cover every image).
    - ``n_jobs``: processes for big frames (-1: all cores); ``on_progress(n)`` hears of each finished chunk.
    - ``engine``: ``local`` (processes, ``n_jobs``) or ``ray``: the per-series fits, backtests and final trend calls
      run in Ray tasks (``trendgan.engines``); ensemble weights, the leading correction and the calls' calibration
      pool the series and stay in this process. Same forecasts either way.
    """
    import pandas as pd

    if int(horizon) < 1:
        raise ForecastError(f"horizon must be at least 1 period, got {horizon}")
    h = int(horizon)
    if int(backtest_windows) < 0:
        raise ForecastError(f"backtest windows cannot be negative, got {backtest_windows}")
    period = (period or period_of(series["ds"] if "ds" in series.columns else [])).upper()[:1]
    m = season_length if season_length is not None else season_length_for(period)
    base, ensemble = resolve_models(models, m)
    fallback = resolve_fallback(fallback, m)
    Y, grid, ids, leading = to_matrix(series, period)
    totals = image_totals(series, ids, grid)
    if Y.shape[1] < 3:
        raise ForecastError(f"the series hold {Y.shape[1]} period(s); forecasting needs at least 3")
    if clip:
        Y = np.clip(Y, 0.0, 1.0)

    if any(model.uses_leading for model in base) and leading is None:
        raise ForecastError("model arimax needs the leading sources' share (a y_leading column); the series have none")
    aliases = [model.alias for model in base]
    if leading is not None and use_leading and "arima" in aliases and not any(model.uses_leading for model in base):
        # Regression with ARIMA errors on the leading signal, as a competitor of plain ARIMA: backtests decide
        # (per-series choice, ensemble weights) whether it earns its place.
        arima = base[aliases.index("arima")]
        base.insert(aliases.index("arima") + 1, ARIMAX(arima.season_length if isinstance(arima, ARIMA) else m))
    needs_leading = any(model.uses_leading for model in base)
    result = run_parallel(Y, base, h, m, backtest_windows, n_jobs=n_jobs, level=level,
                          leading=leading if needs_leading else None, on_progress=on_progress, fallback=fallback,
                          engine=engine)
    scores = score_backtests(Y, result, m, level)
    weights = {}
    if ensemble is not None:
        members = ensemble.member_aliases(result.forecasts)
        if not members:
            raise ForecastError(f"the ensemble's members {ensemble.members} are not among the models; add them to models")
        weights = ensemble.weights(scores, members)
        add_ensemble(Y, result, weights, m, level, alias=ensemble.alias)
        scores[ensemble.alias] = score_backtests(Y, _only(result, ensemble.alias), m, level)[ensemble.alias]

    best_alias = _choose_best(scores, result, None if ensemble is None else ensemble.alias)
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

    made = None
    if calls:
        made = trend_calls(Y, h, m, totals=totals, leading=leading if (leading is not None and use_leading) else None,
                           rules=rules, seed=seed, levels=level, n_jobs=n_jobs, engine=engine)
        best, carried = carry_trends(best, made, level)
        best_name = np.where(carried, np.array([f"{name}+trend" for name in best_name], dtype=object), best_name)

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
    label_frame = _label_frame(ids, Y, totals, labels, made, best_name, m, h, rules)
    failures = pd.DataFrame(
        [(ids[row], alias, msg) for row, alias, msg in result.failures], columns=["unique_id", "model", "message"]
    )
    calibration = made.table if made is not None else pd.DataFrame(columns=list(CALIBRATION_COLUMNS))
    summary = {
        "series": len(ids),
        "periods": int(Y.shape[1]),
        "period": period,
        "season_length": m,
        "horizon": h,
        "models": [model.alias for model in base] + ([ensemble.alias] if ensemble is not None else []),
        "backtest_windows": len(result.backtests),
        "ensemble_weights": weights,
        "leading": leading_report,
        "failures": int(len(failures)),
        "mase": {alias: _mean(s["mase"]) for alias, s in scores.items()},
        "trends": {t: int((label_frame["trend"] == t).sum()) for t in np.unique(label_frame["trend"])},
        "calls": made.report if made is not None else {"used": False},
    }
    return ForecastResult(forecasts, backtests, label_frame, failures, summary, calibration=calibration)


# A call is carried into the best forecast when it is at least this likely: strong evidence, not a coin toss among
# five labels. At the HERMES 157-week origin carrying every trend call cost 0.010 MASE and carrying those at 0.6 or
# more 0.0007; on simulated counts the carried paths follow the true trend (benchmarks/trend_calls.py).
CARRY_CONFIDENCE = 0.6


def carry_trends(best: dict, made: TrendCalls, level=LEVELS, confidence: float = CARRY_CONFIDENCE) -> tuple[dict, np.ndarray]:
    """Move the best forecast of every style called rising, declining or emerging with at least ``confidence`` so
    that its mean over the horizon is the calls' median (the calibrated count model's), keeping its shape and
    relative band; where the best forecast is (near) zero, take the calls' own median path and quantiles. Returns
    (best, carried rows)."""
    trend = made.trend
    carried = np.isin(trend, ("rising", "declining", "emerging")) & (made.probabilities.max(axis=1) >= confidence)
    if not carried.any():
        return best, carried
    target = made.future_mean
    current = best["mean"].mean(axis=1)
    out = {k: v.copy() for k, v in best.items()}
    scalable = carried & (current > 1e-6) & (target > 0)
    factor = np.divide(target, current, out=np.ones_like(target), where=scalable)
    for key in out:
        out[key][scalable] = best[key][scalable] * factor[scalable, None]
    own = carried & ~scalable
    if own.any():
        out["mean"][own] = made.future_median[own]
        for lv in level:
            lo, hi = made.future_bounds[lv]
            out[f"lo-{lv}"][own], out[f"hi-{lv}"][own] = lo[own], hi[own]
    return out, carried


def _label_frame(ids, Y, totals, labels: dict, made: TrendCalls | None, best_name, m: int, h: int, rules):
    import pandas as pd

    from trendgan.forecast.labels import recent_window

    n, T = Y.shape
    window = recent_window(m, h, rules or LabelRules())
    frame = {"unique_id": ids}
    if made is not None:
        frame["trend"] = made.trend
        probabilities = made.probabilities
        frame["confidence"] = probabilities.max(axis=1)
        frame["yoy"] = made.yoy
        yoy_probabilities = made.yoy_probabilities
    else:  # the rule on the best forecast alone
        frame["trend"] = labels["trend"]
        probabilities = np.stack([(labels["trend"] == t).astype(float) for t in TRENDS], axis=1)
        frame["confidence"] = labels["confidence"]
        frame["yoy"] = labels["yoy"]
        yoy_probabilities = np.stack([(labels["yoy"] == c).astype(float) for c in YOY_CLASSES], axis=1)
    frame["change"] = labels["change"]
    frame["change_recent"] = labels["change_recent"]
    for k, t in enumerate(TRENDS):
        frame[f"p_{t}"] = probabilities[:, k]
    for k, c in enumerate(YOY_CLASSES):
        frame[f"p_{c}"] = yoy_probabilities[:, k]
    frame["model"] = best_name
    frame["reference"] = labels["reference"]
    frame["recent"] = labels["recent"]
    before = Y[:, max(0, T - 2 * window) : max(1, T - window)]
    frame["previous"] = before.mean(axis=1) if before.shape[1] else np.full(n, np.nan)
    frame["images_recent"] = totals[:, -window:].sum(axis=1) if totals is not None else np.full(n, np.nan)
    if made is not None:
        frame["growth_per_season"] = made.growth_per_season
        frame["p_trend"], frame["p_season"] = made.p_trend, made.p_season
        frame["backtest_hits"], frame["backtest_calls"] = made.backtest_hits, made.backtest_calls
    else:
        for key in ("growth_per_season", "p_trend", "p_season"):
            frame[key] = np.full(n, np.nan)
        frame["backtest_hits"] = frame["backtest_calls"] = np.zeros(n, dtype=int)
    table = pd.DataFrame(frame)
    table["explanation"] = [explain(row, m, h) for row in table.to_dict("records")]
    return table[list(LABEL_COLUMNS)]


PERIOD_WORDS = {52: ("week", "weeks"), 12: ("month", "months"), 4: ("quarter", "quarters"), 7: ("day", "days")}


def explain(row: dict, season_length: int, horizon: int) -> str:
    """One sentence behind a call, from the labels frame's evidence columns (plain text; escape it for HTML)."""
    unit = PERIOD_WORDS.get(season_length, ("period", "periods"))[1]
    trend, confidence = row["trend"], row["confidence"]
    recent, reference = row.get("recent"), row.get("reference")
    parts = [f"{trend} ({confidence:.0%} likely)"]
    if recent is not None and reference is not None and np.isfinite(recent) and np.isfinite(reference):
        parts.append(f"share {recent:.1%} lately vs {reference:.1%} a year ago" if season_length > 1
                     else f"share {recent:.1%} lately vs {reference:.1%} before")
    images = row.get("images_recent")
    if images is not None and np.isfinite(images) and images > 0:
        parts[-1] += f" (from {int(images)} images)"
    growth = row.get("growth_per_season")
    if growth is not None and np.isfinite(growth) and row.get("p_trend", 0) >= 0.5:
        per = "a year" if season_length > 1 else f"per {season_length} {unit}"
        parts.append(f"the counts show a {growth:+.0%} trend {per}")
    if row.get("backtest_calls"):
        parts.append(f"right in {row['backtest_hits']} of {row['backtest_calls']} backtests")
    parts.append(f"next {horizon} {unit}: {row['change_recent']:+.0%} from now")
    return "; ".join(parts) + "."


def _only(result, alias):
    from trendgan.forecast.engine import Backtest, BatchResult

    return BatchResult({alias: result.forecasts[alias]}, [Backtest(b.origin, b.h, {alias: b.forecasts[alias]}) for b in result.backtests])


def _mean(values) -> float | None:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if values.size and np.isfinite(values).any() else None


def _choose_best(scores: dict, result, ensemble_alias: str | None) -> list[str]:
    aliases = list(result.forecasts)
    n = next(iter(result.forecasts.values()))["mean"].shape[0]
    if ensemble_alias is not None:
        return [ensemble_alias] * n
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
