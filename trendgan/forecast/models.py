"""Forecasting models behind one interface, in the statsforecast style.

Every model has an ``alias``, ``fit(y, X=None)`` and ``predict(h, X_future=None, level=(80, 95))`` returning a dict
``{"mean": ..., "lo-80": ..., "hi-80": ..., "lo-95": ..., "hi-95": ...}``. ``y`` is one series (1-D) or a batch of
series of equal length (2-D, one row per series); the simple models are vectorised across rows, which is what makes
10,000 weekly series cheap. Models that wrap statsmodels loop over rows; when one fails on a row, that row falls back
to the seasonal naive forecast and the failure is kept in ``failures_`` (row, message).

Intervals are model-based (normal approximations of each model's error variance) for every model here except the
ensemble, whose intervals come from backtest errors (``trendgan.forecast.ensemble``).

Models are objects (``Theta(season_length=52)``, ``ARIMA(12, alias="arima12")``) or names (``"theta"``, made by
``make_model`` with the frame's season): ``forecast_frame(models=[...])`` takes either, as statsforecast's
``StatsForecast(models=[...], fallback_model=...)`` does. ``clone()`` gives an unfitted copy with the same settings,
which the engine fits once per batch and backtest window.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Sequence

import numpy as np

LEVELS = (80, 95)


# --------------------------------------------------------------------------- helpers


def as_batch(y) -> np.ndarray:
    """A (n_series, n_periods) float array from one series or a batch."""
    arr = np.asarray(y, dtype=float)
    return arr[None, :] if arr.ndim == 1 else arr


def normal_quantile(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 200.0)


def with_intervals(mean: np.ndarray, sd: np.ndarray, level: Sequence[int]) -> dict:
    """Mean plus symmetric normal intervals from a per-step standard deviation."""
    out = {"mean": mean}
    for lv in level:
        z = normal_quantile(lv)
        out[f"lo-{lv}"] = mean - z * sd
        out[f"hi-{lv}"] = mean + z * sd
    return out


def squeeze_like(result: dict, single: bool) -> dict:
    return {k: v[0] for k, v in result.items()} if single else result


def season_positions(n_obs: int, h: int, m: int) -> np.ndarray:
    """For each future step, the index (0..m-1) of its season position, counting from the first observation."""
    return (n_obs + np.arange(h)) % m


# --------------------------------------------------------------------------- seasonal decomposition


def seasonal_profile(Y: np.ndarray, m: int, decay: float = 1.0, smooth: int = 0) -> np.ndarray:
    """Additive seasonal index per season position, from the series minus a centred moving-average trend.

    Additive rather than multiplicative: shares of small styles sit near zero, where ratios explode.
    Returns (n, m), centred to mean zero per series; zeros when the history is shorter than two seasons.
    """
    n, T = Y.shape
    if m <= 1 or T < 2 * m:
        return np.zeros((n, max(m, 1)))
    trend = centred_moving_average(Y, m)
    detrended = Y - trend
    # Seasons long ago count less (decay per season back): fashion calendars drift from year to year.
    age = (T - 1 - np.arange(T)) // m
    missing = np.isnan(detrended)
    weights = np.where(missing, 0.0, decay ** age[None, :])
    values = np.where(missing, 0.0, detrended)
    # Lay the periods out as (seasons, positions): column t sits at position t % m (the tail padded with zero weight).
    seasons = -(-T // m)
    pad = ((0, 0), (0, seasons * m - T))
    weights = np.pad(weights, pad).reshape(n, seasons, m)
    values = np.pad(values, pad).reshape(n, seasons, m)
    total = weights.sum(axis=1)
    profile = np.divide((weights * values).sum(axis=1), total, out=np.zeros((n, m)), where=total > 0)
    if smooth:
        # A short circular moving average across neighbouring periods tames week-to-week noise in the index.
        kernel = np.ones(2 * smooth + 1) / (2 * smooth + 1)
        padded = np.concatenate([profile[:, -smooth:], profile, profile[:, :smooth]], axis=1)
        profile = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=1) @ kernel
    return profile - profile.mean(axis=1, keepdims=True)


def centred_moving_average(Y: np.ndarray, m: int) -> np.ndarray:
    """The classic 2 x m (even m) or m (odd m) centred moving average, NaN where the window does not fit.

    From cumulative sums, so it costs O(n T) memory: the trend calls run it on hundreds of sampled paths per style.
    """
    n, T = Y.shape
    width = m + 1 if m % 2 == 0 else m
    half = width // 2
    out = np.full((n, T), np.nan)
    if T < width:
        return out
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(Y, axis=1)], axis=1)
    if m % 2 == 0:
        # m inner points at full weight, the two ends at half weight: the mean of two m-wide windows.
        inner = csum[:, m : T + 1] - csum[:, : T + 1 - m]  # sums of m consecutive points, starting at 0..T-m
        out[:, half : T - half] = (inner[:, :-1] + inner[:, 1:]) / (2 * m)
    else:
        out[:, half : T - half] = (csum[:, m:] - csum[:, :-m]) / m
    return out


def seasonal_pattern(Y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(strength 0..1, peak-to-trough amplitude relative to the mean share) of each series' seasonal pattern.

    Strength is Hyndman's 1 - var(remainder) / var(season + remainder) from a classical decomposition whose
    seasonal profile is smoothed over neighbouring periods (+/- m/17: 3 weeks, 1 month), so that week-to-week
    noise, which dominates small image counts, does not pass for a season. A season must also repeat: the strength
    is capped by the correlation of the last season with the one before (both smoothed alike), because with two
    seasons of history the moving-average trend leaves one season of remainder, and a one-off spike there would
    pass for a perfect season. Zeros without a season (m <= 1) or with less than two seasons of history.
    """
    n, T = Y.shape
    if m <= 1 or T < 2 * m:
        return np.zeros(n), np.zeros(n)
    profile = seasonal_profile(Y, m, smooth=int(round(m / 17)))
    detrended = Y - centred_moving_average(Y, m)
    remainder = detrended - profile[:, np.arange(T) % m]
    ok = np.isfinite(detrended[0])
    var_detrended = np.var(detrended[:, ok], axis=1)
    var_remainder = np.var(remainder[:, ok], axis=1)
    strength = np.clip(1 - np.divide(var_remainder, var_detrended, out=np.ones(n), where=var_detrended > 0), 0, 1)
    strength = np.minimum(strength, np.clip(season_repeat(Y, m), 0, 1))
    mean = Y[:, -m:].mean(axis=1)
    span = profile.max(axis=1) - profile.min(axis=1)
    amplitude = np.divide(span, mean, out=np.zeros(n), where=mean > 0)
    return strength, amplitude


def smooth_rows(X: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Each row convolved with a symmetric odd-width kernel; at the ends, the weighted mean of the neighbours there.

    Not zero-padded (``np.convolve(row, kernel, "same")``): zeros pull both ends of every season down alike, and
    that shared dip made any two seasons of a flat, noisy series look correlated.
    """
    half = len(kernel) // 2
    padded = np.pad(X, ((0, 0), (half, half)))
    window = lambda A: np.lib.stride_tricks.sliding_window_view(A, len(kernel), axis=1) @ kernel  # noqa: E731
    weight = window(np.pad(np.ones((1, X.shape[1])), ((0, 0), (half, half))))
    return window(padded) / weight


def season_repeat(Y: np.ndarray, m: int) -> np.ndarray:
    """Correlation of each series' last season with the season before it, both smoothed over +/- m/17 periods."""
    n, T = Y.shape
    if m <= 1 or T < 2 * m:
        return np.zeros(n)
    width = 2 * round(m / 17) + 1
    kernel = np.ones(width) / width
    last, before = Y[:, -m:], Y[:, -2 * m:-m]
    a, b = (smooth_rows(X, kernel) for X in (last, before))
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.divide((a * b).sum(axis=1), norm, out=np.zeros(n), where=norm > 0)


# A season is used (seasonal naive, the profile of ses / theta / damped, ETS's and ARIMA's seasonal terms) only where
# the last season repeats the one before: their correlation (``season_repeat``) at least this. Not Hyndman's strength
# (``seasonal_pattern``, what the "seasonal" label needs): on the HERMES dev series, which are seasonal, a strength bar
# of 0.3 dropped the season of a quarter of them and MASE went from 0.728 to 0.794; the correlation keeps them.
SEASON_MIN_REPEAT = 0.3
# ...and only where the style was there for both seasons: the older one's mean share at least this part of the last
# one's. A style absent a year ago has no season yet; its "season" would be last year's zeros.
SEASON_MIN_PRESENCE = 0.2


def usable_season(Y: np.ndarray, m: int, min_repeat: float = SEASON_MIN_REPEAT,
                  min_presence: float = SEASON_MIN_PRESENCE) -> np.ndarray:
    """Per series (row): does it have a season the models may use? (n,) bool.

    Needs two full seasons of history (one season cannot tell a yearly pattern from a one-off), the style present in
    both (the older season's mean share at least ``min_presence`` of the last one's) and a pattern that repeats (the
    correlation of the last season with the one before, both smoothed, at least ``min_repeat``; noise does not
    repeat). Uses only ``Y``: fitted on a backtest's history, it sees nothing after that origin.
    """
    Y = as_batch(Y)
    n, T = Y.shape
    if m <= 1 or T < 2 * m:
        return np.zeros(n, dtype=bool)
    last, before = Y[:, -m:].mean(axis=1), Y[:, -2 * m:-m].mean(axis=1)
    present = (before > 0) & (before >= min_presence * last)
    return present & (season_repeat(Y, m) >= min_repeat)


# --------------------------------------------------------------------------- base classes


class ForecastModel:
    """Base class. Subclasses set ``alias`` and implement ``_fit`` / ``_predict`` on (n, T) batches.

    ``alias`` names the model's forecasts (the ``model`` column); pass ``alias=`` to tell two settings of one model
    apart. ``uses_leading``: the engine passes the leading sources' share, lagged by the horizon, as ``X``.
    ``fallback`` (a model, default seasonal naive) forecasts the rows this model fails on.
    """

    alias = "model"
    uses_leading = False

    def __init__(self, alias: str | None = None):
        if alias:
            self.alias = alias

    def fit(self, y, X=None) -> "ForecastModel":
        self._single = np.asarray(y).ndim == 1
        Y = as_batch(y)
        self.n_obs_ = Y.shape[1]
        self.failures_: list[tuple[int, str]] = []
        self._fit(Y, None if X is None else np.asarray(X, dtype=float))
        return self

    def predict(self, h: int, X_future=None, level: Sequence[int] = LEVELS) -> dict:
        result = self._predict(int(h), None if X_future is None else np.asarray(X_future, dtype=float), tuple(level))
        return squeeze_like(result, self._single)

    def forecast(self, y, h: int, X=None, X_future=None, level: Sequence[int] = LEVELS) -> dict:
        """``fit`` then ``predict`` in one call (statsforecast's name for it)."""
        return self.fit(y, X).predict(h, X_future, level)

    def get_params(self) -> dict:
        """The constructor's arguments as set on this object (scikit-learn's convention)."""
        names = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        params = {name: getattr(self, name) for name in names if name != "alias" and hasattr(self, name)}
        if "alias" in names and self.alias != type(self).alias:
            params["alias"] = self.alias
        return params

    def clone(self) -> "ForecastModel":
        """A fresh, unfitted model with the same settings (and fallback)."""
        twin = type(self)(**self.get_params())
        if getattr(self, "fallback", None) is not None:
            twin.fallback = self.fallback
        return twin

    def fallback_model(self) -> "ForecastModel":
        """The model for rows this one cannot forecast: ``self.fallback`` or seasonal naive with this season."""
        chosen = getattr(self, "fallback", None)
        if chosen is not None:
            return chosen.clone()
        return SeasonalNaive(getattr(self, "season_length", 1) or 1, getattr(self, "season_check", True))

    def _fit(self, Y: np.ndarray, X) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int, X_future, level) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class PerSeriesModel(ForecastModel):
    """A model that fits one series at a time (statsmodels); a row that fails falls back to ``fallback_model()``."""

    def __init__(self, season_length: int = 1, season_check: bool = True, alias: str | None = None):
        super().__init__(alias)
        self.season_length = season_length
        self.season_check = season_check

    def _season_for(self, y) -> int:
        """The season length this series is fitted with: 1 without two seasons of history or a usable season."""
        m = self.season_length
        if m <= 1 or len(y) < 2 * m:
            return 1
        return m if not self.season_check or usable_season(y[None, :], m)[0] else 1

    def _fit(self, Y, X):
        self._Y, self._X = Y, X
        self.fitted_ = []
        for row, y in enumerate(Y):
            x = None if X is None else (X[row] if X.ndim == 3 else X)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.fitted_.append(self._fit_one(y, x))
            except Exception as exc:  # any numerical failure on one series must not stop the others
                self.failures_.append((row, f"{type(exc).__name__}: {exc}"[:200]))
                self.fitted_.append(None)

    def _predict(self, h, X_future, level):
        fallback = None
        rows = []
        for row, fitted in enumerate(self.fitted_):
            x = None if X_future is None else (X_future[row] if X_future.ndim == 3 else X_future)
            result = None
            if fitted is not None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        result = self._predict_one(fitted, h, x, level)
                    if not np.all(np.isfinite(result["mean"])):
                        raise FloatingPointError("non-finite forecast")
                except Exception as exc:
                    self.failures_.append((row, f"{type(exc).__name__}: {exc}"[:200]))
                    result = None
            if result is None:
                if fallback is None:
                    fallback = self.fallback_model().fit(self._Y).predict(h, level=level)
                result = {k: v[row] for k, v in fallback.items()}
            rows.append(result)
        return {k: np.vstack([r[k] for r in rows]) for k in rows[0]}

    def _fit_one(self, y, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_one(self, fitted, h, x, level) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------- the simple, vectorised models


class Naive(ForecastModel):
    """Last value carried forward."""

    alias = "naive"

    def _fit(self, Y, X):
        self.last_ = Y[:, -1]
        diffs = np.diff(Y, axis=1)
        self.sigma_ = np.sqrt(np.mean(diffs**2, axis=1)) if Y.shape[1] > 1 else np.zeros(len(Y))

    def _predict(self, h, X_future, level):
        mean = np.repeat(self.last_[:, None], h, axis=1)
        sd = self.sigma_[:, None] * np.sqrt(np.arange(1, h + 1))[None, :]
        return with_intervals(mean, sd, level)


class SeasonalNaive(ForecastModel):
    """The same period one season ago, for series with a usable season (``usable_season``); plain naive (the last
    value) for the others, e.g. a style that did not exist a season ago, whose "same period" is a zero.

    ``season_check=False`` uses the season for every series with one season of history (the textbook form).
    """

    alias = "snaive"

    def __init__(self, season_length: int = 1, season_check: bool = True, alias: str | None = None):
        super().__init__(alias)
        self.season_length = season_length
        self.season_check = season_check

    def _fit(self, Y, X):
        n, T = Y.shape
        m = self.season_length if self.season_length and T >= self.season_length else 1
        self.m_ = m
        seasonal = np.full(n, m > 1)
        if m > 1 and self.season_check:
            seasonal = usable_season(Y, m)
        self.seasonal_ = seasonal
        # Rows without a season repeat their last value over a season-long template.
        self.last_season_ = np.where(seasonal[:, None], Y[:, -m:], Y[:, -1:])
        diffs = Y[:, m:] - Y[:, :-m]
        sigma_season = np.sqrt(np.mean(diffs**2, axis=1)) if diffs.shape[1] else np.zeros(n)
        steps = np.diff(Y, axis=1)
        sigma_naive = np.sqrt(np.mean(steps**2, axis=1)) if T > 1 else np.zeros(n)
        self.sigma_ = np.where(seasonal, sigma_season, sigma_naive)

    def _predict(self, h, X_future, level):
        steps = np.arange(h)
        mean = self.last_season_[:, steps % self.m_]
        # Seasonal naive's error grows once per season; naive's (a random walk) with every step.
        growth = np.where(self.seasonal_[:, None], (steps // self.m_ + 1)[None, :], (steps + 1)[None, :])
        sd = self.sigma_[:, None] * np.sqrt(growth)
        return with_intervals(mean, sd, level)


class Drift(ForecastModel):
    """A straight line from the first to the last observation (random walk with drift)."""

    alias = "drift"

    def _fit(self, Y, X):
        T = Y.shape[1]
        self.last_ = Y[:, -1]
        self.slope_ = (Y[:, -1] - Y[:, 0]) / max(T - 1, 1)
        resid = np.diff(Y, axis=1) - self.slope_[:, None]
        self.sigma_ = np.sqrt(np.mean(resid**2, axis=1)) if T > 1 else np.zeros(len(Y))

    def _predict(self, h, X_future, level):
        steps = np.arange(1, h + 1)
        T = self.n_obs_
        mean = self.last_[:, None] + self.slope_[:, None] * steps[None, :]
        sd = self.sigma_[:, None] * np.sqrt(steps * (1 + steps / max(T - 1, 1)))[None, :]
        return with_intervals(mean, sd, level)


class _Deseasonalised(ForecastModel):
    """Shared machinery: remove an additive seasonal profile, forecast the rest, put the season back.

    The season is dropped when the history is shorter than two full seasons (too little to estimate it), and per
    series where it has no usable season (``usable_season``: absent a season ago, or no pattern that repeats);
    those rows are forecast by the same method without the profile. With only three or four years of weekly data
    each of the 52 indices rests on three or four points, so by default the index is smoothed over neighbouring
    periods (``season_smooth``: +/- 1 period), recent seasons weigh more (``season_decay`` 0.6 per season back), and
    ``season_shrink`` can pull it toward zero.
    """

    def __init__(self, season_length: int = 1, season_shrink: float = 0.0, season_decay: float = 0.6,
                 season_smooth: int = 1, season_check: bool = True, alias: str | None = None):
        super().__init__(alias)
        self.season_length = season_length
        self.season_shrink = season_shrink
        self.season_decay = season_decay
        self.season_smooth = season_smooth
        self.season_check = season_check

    def _fit(self, Y, X):
        m = self.season_length or 1
        self.m_ = m if m > 1 and Y.shape[1] >= 2 * m else 1
        profile = seasonal_profile(Y, self.m_, self.season_decay, self.season_smooth)
        self.seasonal_ = np.full(len(Y), self.m_ > 1)
        if self.m_ > 1 and self.season_check:
            self.seasonal_ = usable_season(Y, self.m_)
        # A profile estimated from a season the style was absent in (or from noise) is not a season: drop it.
        self.profile_ = profile * (1.0 - self.season_shrink) * self.seasonal_[:, None]
        adjusted = Y - self.profile_[:, np.arange(Y.shape[1]) % self.m_]
        self._fit_adjusted(adjusted)

    def _predict(self, h, X_future, level):
        mean, sd = self._predict_adjusted(h)
        mean = mean + self.profile_[:, season_positions(self.n_obs_, h, self.m_)]
        return with_intervals(mean, sd, level)

    def _fit_adjusted(self, Z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_adjusted(self, h):  # pragma: no cover - abstract
        raise NotImplementedError


def ses_grid(Z: np.ndarray, alphas: np.ndarray):
    """Simple exponential smoothing for every series and every alpha at once.

    Returns (final level (n, A), sum of squared one-step errors (n, A)). The level starts at the mean of the
    first few points so early errors do not dominate the choice of alpha.
    """
    n, T = Z.shape
    level = np.repeat(Z[:, : min(4, T)].mean(axis=1, keepdims=True), len(alphas), axis=1)
    sse = np.zeros_like(level)
    for t in range(T):
        err = Z[:, t : t + 1] - level
        sse += err**2
        level = level + alphas[None, :] * err
    return level, sse


class SES(_Deseasonalised):
    """Simple exponential smoothing of the deseasonalised series, alpha chosen per series by one-step error."""

    alias = "ses"
    alphas = np.array([0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0])

    def _fit_adjusted(self, Z):
        level, sse = ses_grid(Z, self.alphas)
        best = np.argmin(sse, axis=1)
        rows = np.arange(len(Z))
        self.level_ = level[rows, best]
        self.alpha_ = self.alphas[best]
        self.sigma_ = np.sqrt(sse[rows, best] / Z.shape[1])

    def _predict_adjusted(self, h):
        steps = np.arange(h)
        mean = np.repeat(self.level_[:, None], h, axis=1)
        sd = self.sigma_[:, None] * np.sqrt(1 + steps[None, :] * self.alpha_[:, None] ** 2)
        return mean, sd


class Theta(SES):
    """The Theta method (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah's SES-with-drift form).

    SES on the deseasonalised series plus half the slope of its linear trend, the M3 competition's winner.
    """

    alias = "theta"

    def _fit_adjusted(self, Z):
        super()._fit_adjusted(Z)
        T = Z.shape[1]
        t = np.arange(T) - (T - 1) / 2
        self.slope_ = (Z @ t) / max(float(t @ t), 1e-12)

    def _predict_adjusted(self, h):
        mean, sd = super()._predict_adjusted(h)
        a, T = self.alpha_[:, None], self.n_obs_
        steps = np.arange(1, h + 1)[None, :]
        drift = 0.5 * self.slope_[:, None] * (steps - 1 + 1 / a - ((1 - a) ** T) / a)
        return mean + drift, sd


class DampedTrend(_Deseasonalised):
    """Holt's linear trend with damping (Gardner & McKenzie) on the deseasonalised series.

    Smoothing and damping parameters are chosen per series from a small grid by one-step error: a vectorised
    stand-in for ETS(A,Ad,N) that runs over thousands of series in seconds.
    """

    alias = "damped"
    grid_alpha = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.8])
    grid_beta = np.array([0.01, 0.05, 0.15])  # as a fraction of alpha
    grid_phi = np.array([0.8, 0.9, 0.95, 0.98])

    def _fit_adjusted(self, Z):
        a, b, p = np.meshgrid(self.grid_alpha, self.grid_beta, self.grid_phi, indexing="ij")
        a, b, p = a.ravel(), (a * b).ravel(), p.ravel()
        n, T = Z.shape
        level = np.repeat(Z[:, :1], len(a), axis=1).astype(float)
        trend = np.repeat(((Z[:, min(T - 1, 4)] - Z[:, 0]) / max(min(T - 1, 4), 1))[:, None], len(a), axis=1)
        sse = np.zeros_like(level)
        for t in range(1, T):
            guess = level + p * trend
            err = Z[:, t : t + 1] - guess
            sse += err**2
            level = guess + a * err
            trend = p * trend + b * err
        best = np.argmin(sse, axis=1)
        rows = np.arange(n)
        self.level_, self.trend_ = level[rows, best], trend[rows, best]
        self.alpha_, self.beta_, self.phi_ = a[best], b[best], p[best]
        self.sigma_ = np.sqrt(sse[rows, best] / max(T - 1, 1))

    def _predict_adjusted(self, h):
        steps = np.arange(1, h + 1)[None, :]
        phi = self.phi_[:, None]
        damp_sum = np.cumsum(phi ** steps, axis=1)
        mean = self.level_[:, None] + damp_sum * self.trend_[:, None]
        # Error variance of ETS(A,Ad,N): sigma^2 (1 + sum_{j<h} (alpha + beta * sum_{i<=j} phi^i)^2)
        c = self.alpha_[:, None] + self.beta_[:, None] * damp_sum
        var = np.concatenate([np.zeros((len(c), 1)), np.cumsum(c[:, :-1] ** 2, axis=1)], axis=1) + 1
        return mean, self.sigma_[:, None] * np.sqrt(var)


# --------------------------------------------------------------------------- statsmodels-backed models


class ETS(PerSeriesModel):
    """Exponential smoothing (statsmodels Holt-Winters); trend, damping and season chosen by AICc per series.

    Candidates: no trend / additive / damped additive, each with and without an additive season for seasons up to
    24 periods (the season only when the history holds two full seasons and ``usable_season`` finds one). Like R's
    ``forecast::ets``, a longer season (52 weeks) is not a state of the model: 51 free seasonal states on four years
    of data lose every AICc comparison and cost seconds per fit. The series is deseasonalised first with the same
    smoothed additive profile as the vectorised models (the ``stlf`` approach) and ETS models the rest. Errors are
    additive: shares near zero rule out multiplicative ones.
    """

    alias = "ets"
    max_state_season = 24

    def _fit_one(self, y, x):
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        m = self._season_for(y)
        profile = None
        if m > self.max_state_season:
            profile = seasonal_profile(y[None, :], m, decay=0.6, smooth=1)[0]
            y = y - profile[np.arange(len(y)) % m]
        seasons = [None, "add"] if 1 < m <= self.max_state_season else [None]
        best, best_ic = None, np.inf
        for seasonal in seasons:
            for trend, damped in ((None, False), ("add", False), ("add", True)):
                fitted = ExponentialSmoothing(
                    y, trend=trend, damped_trend=damped, seasonal=seasonal, seasonal_periods=m if seasonal else None,
                    initialization_method="estimated",
                ).fit()
                ic = fitted.aicc if np.isfinite(fitted.aicc) else fitted.aic
                if np.isfinite(ic) and ic < best_ic:
                    best, best_ic = fitted, ic
        if best is None:
            raise ValueError("no ETS configuration could be fitted")
        return best, profile, m

    def _predict_one(self, fitted, h, x, level):
        fitted, profile, m_profile = fitted
        mean = np.asarray(fitted.forecast(h), dtype=float)
        if profile is not None:
            mean = mean + profile[season_positions(self.n_obs_, h, m_profile)]

        def param(name, default):
            value = fitted.params.get(name, default)
            return default if value is None or not np.isfinite(value) else float(value)

        alpha, beta = param("smoothing_level", 0.0), param("smoothing_trend", 0.0)
        gamma = param("smoothing_seasonal", 0.0)
        phi = param("damping_trend", 1.0) if fitted.model.damped_trend else 1.0
        m = fitted.model.seasonal_periods or 0
        sigma = float(np.sqrt(fitted.sse / max(len(fitted.model.endog), 1)))
        # Error variance of additive Holt-Winters (Hyndman et al. 2008, class 1 models).
        var = np.ones(h)
        running = 0.0
        for j in range(1, h):
            trend_part = beta * sum(phi**i for i in range(1, j + 1)) if fitted.model.trend else 0.0
            season_part = gamma if (m and j % m == 0) else 0.0
            running += (alpha + trend_part + season_part) ** 2
            var[j] += running
        return with_intervals(mean, sigma * np.sqrt(var), level)


def fourier_terms(n_obs: int, start: int, m: int, harmonics: int) -> np.ndarray:
    """Sine/cosine columns for a long season (e.g. 52 weeks) that SARIMAX cannot afford as a seasonal lag."""
    t = np.arange(start, start + n_obs)[:, None]
    k = np.arange(1, harmonics + 1)[None, :]
    return np.hstack([np.sin(2 * np.pi * k * t / m), np.cos(2 * np.pi * k * t / m)])


class ARIMA(PerSeriesModel):
    """Regression with ARIMA errors (statsmodels SARIMAX) with a small automatic order search.

    d from the KPSS test; (p, q) in {0,1,2} x {0,1} by AICc. The season enters as a seasonal AR term for short
    seasons (<= 12) and as Fourier terms for long ones (52 weeks), dropped when the history is under two seasons or
    shows no usable season (``usable_season``).
    ``X`` (optional) adds exogenous regressors, e.g. the leading sources' lagged share; then ``predict`` needs
    ``X_future``.
    """

    alias = "arima"

    def __init__(self, season_length: int = 1, harmonics: int = 3, season_check: bool = True, alias: str | None = None):
        super().__init__(alias)
        self.season_length = season_length
        self.harmonics = harmonics
        self.season_check = season_check

    def _fit_one(self, y, x):
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        m = self._season_for(y)
        exog = self._exog(len(y), 0, m, x)
        d = self._differences(y)
        seasonal_order = (1, 0, 0, m) if 1 < m <= 12 else (0, 0, 0, 0)
        best, best_ic = None, np.inf
        for p in (0, 1, 2):
            for q in (0, 1):
                model = SARIMAX(
                    y, exog=exog, order=(p, d, q), seasonal_order=seasonal_order,
                    trend="c" if d == 0 else "n", enforce_stationarity=False, enforce_invertibility=False,
                )
                fitted = model.fit(disp=False, maxiter=50)
                if np.isfinite(fitted.aicc) and fitted.aicc < best_ic:
                    best, best_ic = fitted, fitted.aicc
        if best is None:
            raise ValueError("no ARIMA order could be fitted")
        return best, m

    def _predict_one(self, fitted, h, x, level):
        result, m = fitted
        exog = self._exog(h, self.n_obs_, m, x)
        forecast = result.get_forecast(h, exog=exog)
        out = {"mean": np.asarray(forecast.predicted_mean, dtype=float)}
        for lv in level:
            bounds = np.asarray(forecast.conf_int(alpha=1 - lv / 100))
            out[f"lo-{lv}"], out[f"hi-{lv}"] = bounds[:, 0], bounds[:, 1]
        return out

    def _exog(self, n_obs, start, m, x):
        parts = []
        if m > 12:
            parts.append(fourier_terms(n_obs, start, m, self.harmonics))
        if x is not None:
            parts.append(np.asarray(x, dtype=float).reshape(n_obs, -1))
        return np.hstack(parts) if parts else None

    @staticmethod
    def _differences(y) -> int:
        from statsmodels.tsa.stattools import kpss

        if np.std(y) == 0:
            return 0
        _, p_value, *_ = kpss(y, regression="c", nlags="auto")
        return 1 if p_value < 0.05 else 0


class ARIMAX(ARIMA):
    """ARIMA with the leading sources' share as a regressor, lagged by the horizon so that every future value of it
    is already observed (the engine builds that regressor; ``fit(y, X)`` / ``predict(h, X_future)`` also work by
    hand)."""

    alias = "arimax"
    uses_leading = True


# --------------------------------------------------------------------------- registry


def _make(alias: str, season_length: int) -> ForecastModel:
    makers = {
        "naive": lambda: Naive(),
        "snaive": lambda: SeasonalNaive(season_length),
        "drift": lambda: Drift(),
        "ses": lambda: SES(season_length),
        "theta": lambda: Theta(season_length),
        "damped": lambda: DampedTrend(season_length),
        "ets": lambda: ETS(season_length),
        "arima": lambda: ARIMA(season_length),
        "arimax": lambda: ARIMAX(season_length),
    }
    return makers[alias]()


MODEL_ALIASES = ("naive", "snaive", "drift", "ses", "theta", "damped", "ets", "arima")
SLOW_MODELS = ("ets", "arima", "arimax")


def make_model(alias: str, season_length: int = 1) -> ForecastModel:
    """A fresh model by alias (``arimax`` too; ``ensemble`` lives in ``trendgan.forecast.ensemble``); a clear error
    for an unknown one."""
    from trendgan.errors import ForecastError

    if alias not in MODEL_ALIASES and alias != "arimax":
        raise ForecastError(f"unknown model {alias!r}; choose from {', '.join(MODEL_ALIASES)}, arimax (or 'ensemble')")
    return _make(alias, season_length)


def is_slow(model) -> bool:
    """Does this model fit one series at a time (statsmodels), so that parallel processes pay off?"""
    return isinstance(model, PerSeriesModel) or getattr(model, "alias", model) in SLOW_MODELS
