"""Running many series at once: fits, rolling-origin backtests, ensemble, intervals, leading-signal correction.

Works on (n_series, n_periods) matrices of equal-length series; ``trendgan.forecast.core`` turns a long frame into
such matrices and back. Series are independent, so chunks of rows run in parallel processes (joblib) or, with
``engine="ray"``, in Ray tasks over a cluster (``trendgan.engines``); pooled steps (ensemble weights, the
leading-signal correction, calibration) stay in this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trendgan.forecast.metrics import coverage, mase, mase_scale, smape
from trendgan.forecast.models import LEVELS, ForecastModel, SeasonalNaive, is_slow, make_model


@dataclass
class Backtest:
    """One rolling-origin window: fit on ``history`` = the first ``origin`` periods, forecast the next ``h``."""

    origin: int
    h: int
    forecasts: dict  # alias -> {"mean": (n, h), "lo-80": ...}


@dataclass
class BatchResult:
    forecasts: dict  # alias -> {"mean": (n, h), ...}
    backtests: list  # list[Backtest], newest origin first
    failures: list = field(default_factory=list)  # (row, alias, message)


def backtest_origins(n_obs: int, h: int, windows: int, min_train: int) -> list[tuple[int, int]]:
    """(origin, horizon) pairs, newest first: windows of ``h`` periods stepping back from the end.

    A window needs at least ``min_train`` periods before it; fewer windows are returned when the history is short,
    and the horizon shrinks for the first one when the history cannot hold a full ``h`` (very short series).
    """
    out = []
    for w in range(1, windows + 1):
        step_h = min(h, max(1, (n_obs - min_train) // w)) if w == 1 else out[0][1]
        origin = n_obs - w * step_h
        if origin < min_train or step_h < 1:
            break
        out.append((origin, step_h))
    return out


def lagged_signal(leading: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The leading share ``lag`` periods earlier as a regressor: (X for the history, X for the next ``lag`` periods).

    Lagging by the horizon makes every future regressor value already observed. The first ``lag`` history periods
    have no earlier value and repeat the first one.
    """
    n, T = leading.shape
    X = np.empty((n, T))
    X[:, lag:] = leading[:, : max(T - lag, 0)]
    X[:, : min(lag, T)] = leading[:, :1]
    return X[:, :, None], leading[:, T - lag :][:, :, None] if T >= lag else None


def as_models(models, season_length: int) -> list[ForecastModel]:
    """Model objects from objects or aliases (an alias gets the frame's season)."""
    return [make_model(m, season_length) if isinstance(m, str) else m for m in models]


def fit_predict(Y: np.ndarray, models, h: int, season_length: int, level=LEVELS, leading=None, fallback=None):
    """Fit a fresh copy of each model on the batch and forecast ``h`` periods; returns ({alias: prediction}, failures).

    ``models``: model objects or aliases. A model with ``uses_leading`` (ARIMAX) gets the leading sources' share,
    lagged by ``h``, as its regressor. ``fallback`` (a model; default seasonal naive with the batch's season)
    forecasts the rows a model fails on.
    """
    forecasts, failures = {}, []
    for template in as_models(models, season_length):
        alias = template.alias
        model = template.clone()
        if fallback is not None and getattr(model, "fallback", None) is None:
            model.fallback = fallback
        try:
            if model.uses_leading:
                if leading is None:
                    raise ValueError("this model needs the leading sources' share (a y_leading column)")
                X, X_future = lagged_signal(leading, h)
                if X_future is None:
                    raise ValueError(f"the history is shorter than the horizon ({h}) the signal is lagged by")
                model.fit(Y, X=X)
                forecasts[alias] = model.predict(h, X_future=X_future, level=level)
            else:
                model.fit(Y)
                forecasts[alias] = model.predict(h, level=level)
            failures.extend((row, alias, msg) for row, msg in model.failures_)
            _replace_broken_rows(forecasts, alias, Y, h, level, failures, _fallback_for(model, fallback, season_length))
        except Exception as exc:  # a whole-batch failure (should be rare): every row falls back
            forecasts[alias] = _fallback_for(model, fallback, season_length).fit(Y).predict(h, level=level)
            failures.extend((row, alias, f"{type(exc).__name__}: {exc}"[:200]) for row in range(len(Y)))
    return forecasts, failures


def _fallback_for(model, fallback, season_length) -> ForecastModel:
    """The model's own fallback, else the frame's, else seasonal naive with the batch's season."""
    chosen = getattr(model, "fallback", None) or fallback
    return chosen.clone() if chosen is not None else SeasonalNaive(season_length)


def _replace_broken_rows(forecasts, alias, Y, h, level, failures, fallback) -> None:
    """Rows whose forecast is not finite (a numerical blow-up) get the fallback's forecast instead."""
    prediction = forecasts[alias]
    broken = ~np.all(np.isfinite(np.column_stack(list(prediction.values()))), axis=1)
    if broken.any():
        replacement = fallback.fit(Y[broken]).predict(h, level=level)
        for key in prediction:
            prediction[key][broken] = replacement[key]
        failures.extend((int(row), alias, "non-finite forecast") for row in np.flatnonzero(broken))


def run_batch(Y: np.ndarray, models, h: int, season_length: int, windows: int, level=LEVELS, leading=None,
              fallback=None) -> BatchResult:
    """Final forecasts plus backtest forecasts for every model on one batch of equal-length series."""
    forecasts, failures = fit_predict(Y, models, h, season_length, level, leading, fallback)
    min_train = max(4, min(2 * season_length, Y.shape[1] // 2)) if season_length > 1 else 4
    backtests = []
    for origin, step_h in backtest_origins(Y.shape[1], h, windows, min_train):
        window_leading = None if leading is None else leading[:, :origin]
        window_forecasts, _ = fit_predict(Y[:, :origin], models, step_h, season_length, level, window_leading, fallback)
        backtests.append(Backtest(origin, step_h, window_forecasts))
    return BatchResult(forecasts, backtests, failures)


def run_parallel(Y: np.ndarray, models, h: int, season_length: int, windows: int, n_jobs: int = -1, level=LEVELS,
                 leading=None, on_progress=None, fallback=None, engine: str = "local") -> BatchResult:
    """``run_batch`` over chunks of rows in parallel processes (or Ray tasks with ``engine="ray"``, as many chunks
    as the cluster has CPUs at least); rows are independent so results just concatenate.

    ``on_progress(n)`` is called with the number of series finished as each chunk completes.
    """
    models = as_models(models, season_length)
    n_workers = _ray_workers(len(Y)) if engine == "ray" else _workers(n_jobs, len(Y), models)
    slow = any(is_slow(m) for m in models)
    # Several chunks per worker keep the per-series models balanced across processes and the progress bar moving;
    # the vectorised models want big chunks (numpy per step costs the same for 500 rows as for 5).
    per_chunk = 8 if slow else 2500
    n_chunks = max(n_workers, int(np.ceil(len(Y) / per_chunk)))
    edges = np.linspace(0, len(Y), n_chunks + 1).astype(int)
    bounds = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def chunk(a, b):
        return Y[a:b], models, h, season_length, windows, level, None if leading is None else leading[a:b], fallback

    parts = []
    if engine == "ray":
        from trendgan.engines import ray_map

        for (a, b), part in zip(bounds, ray_map(run_batch, (chunk(a, b) for a, b in bounds))):
            parts.append(part)
            if on_progress:
                on_progress(b - a)
    elif n_workers <= 1:
        for a, b in bounds:
            parts.append(run_batch(*chunk(a, b)))
            if on_progress:
                on_progress(b - a)
    else:
        from joblib import Parallel, delayed

        jobs = Parallel(n_jobs=n_workers, return_as="generator")(delayed(run_batch)(*chunk(a, b)) for a, b in bounds)
        for (a, b), part in zip(bounds, jobs):
            parts.append(part)
            if on_progress:
                on_progress(b - a)
    return parts[0] if len(parts) == 1 else concat_batches(parts, [a for a, _ in bounds])


def _ray_workers(n_series: int) -> int:
    """One chunk per CPU of the connected Ray cluster (at least)."""
    import ray

    from trendgan.engines import cluster_cpus

    return min(cluster_cpus(ray), max(1, n_series))


def _workers(n_jobs: int, n_series: int, models) -> int:
    import os

    cores = os.cpu_count() or 1
    wanted = cores if n_jobs in (-1, 0, None) else max(1, min(n_jobs, cores))
    # Process start-up costs more than the vectorised models save on a handful of series.
    heavy = any(is_slow(m) for m in models)
    if n_series < (4 if heavy else 2000):
        return 1
    return min(wanted, n_series)


def concat_batches(parts: list, offsets: list) -> BatchResult:
    def stack(dicts):
        return {alias: {k: np.vstack([d[alias][k] for d in dicts]) for k in dicts[0][alias]} for alias in dicts[0]}

    forecasts = stack([p.forecasts for p in parts])
    backtests = []
    for i, first in enumerate(parts[0].backtests):
        backtests.append(Backtest(first.origin, first.h, stack([p.backtests[i].forecasts for p in parts])))
    failures = [(row + off, alias, msg) for p, off in zip(parts, offsets) for row, alias, msg in p.failures]
    return BatchResult(forecasts, backtests, failures)


# --------------------------------------------------------------------------- scoring


def score_backtests(Y: np.ndarray, result: BatchResult, season_length: int, level=LEVELS) -> dict:
    """{alias: {"mase": (n, W), "smape": (n, W), "coverage_80": (n, W), ...}} over the backtest windows."""
    scores = {}
    for alias in result.forecasts:
        per = {"mase": [], "smape": []} | {f"coverage_{lv}": [] for lv in level}
        for bt in result.backtests:
            actual = Y[:, bt.origin : bt.origin + bt.h]
            pred = bt.forecasts[alias]
            scale = mase_scale(Y[:, : bt.origin], season_length)
            per["mase"].append(mase(actual, pred["mean"], scale))
            per["smape"].append(smape(actual, pred["mean"]))
            for lv in level:
                per[f"coverage_{lv}"].append(coverage(actual, pred[f"lo-{lv}"], pred[f"hi-{lv}"]))
        scores[alias] = {k: np.column_stack(v) if v else np.empty((len(Y), 0)) for k, v in per.items()}
    return scores


# --------------------------------------------------------------------------- leading-signal correction


def growth_features(Y: np.ndarray, leading: np.ndarray, window: int) -> np.ndarray:
    """Log growth of the leading sources' share and of the main share: last ``window`` periods vs the ones before.

    In the spirit of HERMES: what fashion-forward accounts adopted over the last season tends to reach everyone
    next. NaN where the history is shorter than two windows.
    """
    eps = 1e-6
    n, T = Y.shape
    if T < 2 * window:
        return np.full((n, 2), np.nan)

    def growth(M):
        recent = np.nanmean(M[:, -window:], axis=1)
        before = np.nanmean(M[:, -2 * window : -window], axis=1)
        return np.log((recent + eps) / (before + eps))

    return np.column_stack([growth(leading), growth(Y)])


class LeadingCorrector:
    """A global ridge model correcting the level of a forecast from the leading signal's recent growth.

    Target: log(actual mean over the window / forecast mean), learnt ACROSS series on backtest windows only (the
    training parts), so the final forecast never sees its own future. Applied as a multiplicative level factor.
    """

    def __init__(self, window: int, alpha_grid=(0.01, 0.1, 1.0, 10.0)):
        self.window = window
        self.alpha_grid = alpha_grid

    def fit(self, features: np.ndarray, target: np.ndarray) -> "LeadingCorrector":
        from sklearn.linear_model import RidgeCV

        ok = np.isfinite(features).all(axis=1) & np.isfinite(target)
        if ok.sum() < 8:
            raise ValueError("too few backtest windows with a leading signal to learn a correction")
        # Extreme log-ratios (a style collapsing to zero) would dominate a least-squares fit.
        target = np.clip(target[ok], -2, 2)
        self.model_ = RidgeCV(alphas=self.alpha_grid).fit(features[ok], target)
        self.n_samples_ = int(ok.sum())
        return self

    def factor(self, features: np.ndarray) -> np.ndarray:
        ok = np.isfinite(features).all(axis=1)
        out = np.ones(len(features))
        if ok.any():
            out[ok] = np.exp(np.clip(self.model_.predict(features[ok]), -1, 1))
        return out


def correction_samples(Y, leading, backtests, alias, window):
    """(features, target, rows, window index) from the backtest windows of one model's forecasts."""
    feats, targets, rows, which = [], [], [], []
    for i, bt in enumerate(backtests):
        f = growth_features(Y[:, : bt.origin], leading[:, : bt.origin], window)
        actual = Y[:, bt.origin : bt.origin + bt.h].mean(axis=1)
        predicted = bt.forecasts[alias]["mean"].mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.log((actual + 1e-6) / (np.maximum(predicted, 0) + 1e-6))
        feats.append(f)
        targets.append(target)
        rows.append(np.arange(len(Y)))
        which.append(np.full(len(Y), i))
    if not feats:
        return np.empty((0, 2)), np.empty(0), np.empty(0, int), np.empty(0, int)
    return np.vstack(feats), np.concatenate(targets), np.concatenate(rows), np.concatenate(which)


def scale_prediction(prediction: dict, factor: np.ndarray) -> dict:
    return {k: v * factor[:, None] for k, v in prediction.items()}


def leading_correction(Y, leading, result: BatchResult, alias: str, season_length: int, horizon: int):
    """Fit the corrector on backtests; keep it only if it lowers MASE on the newest window when learnt on older ones.

    Returns (corrector or None, report dict). The check is honest: the gate's corrector never sees the newest
    window it is judged on.
    """
    # Growth over a season when every backtest window has two seasons behind it; else over the horizon (short
    # histories, e.g. two years of weekly data with a 13-week horizon), so there is something to learn from.
    oldest = min((bt.origin for bt in result.backtests), default=0)
    if season_length > 1 and oldest >= 2 * season_length:
        window = season_length
    else:
        window = max(2, min(max(horizon, 4), oldest // 2))
    X, target, rows, which = correction_samples(Y, leading, result.backtests, alias, window)
    report = {"window": window, "used": False}
    if len(result.backtests) < 2:
        report["reason"] = "needs at least two backtest windows"
        return None, report
    try:
        gate = LeadingCorrector(window).fit(X[which > 0], target[which > 0])
    except ValueError as exc:
        report["reason"] = str(exc)
        return None, report
    newest = result.backtests[0]
    actual = Y[:, newest.origin : newest.origin + newest.h]
    scale = mase_scale(Y[:, : newest.origin], season_length)
    plain = newest.forecasts[alias]["mean"]
    corrected = plain * gate.factor(X[which == 0])[:, None]
    before, after = np.nanmean(mase(actual, plain, scale)), np.nanmean(mase(actual, corrected, scale))
    report.update({"mase_without": float(before), "mase_with": float(after)})
    if not (np.isfinite(after) and after < before):
        report["reason"] = "did not improve the newest backtest window"
        return None, report
    corrector = LeadingCorrector(window).fit(X, target)
    report.update({"used": True, "samples": corrector.n_samples_})
    return corrector, report
