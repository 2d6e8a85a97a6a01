"""Trend calls as calibrated probabilities: P(emerging), P(rising), P(stable), P(seasonal), P(declining) per style.

How a call is made, for every style at once:

1. **Count model** (``trendgan.forecast.trend.CountTrend``): the style's counts say what its true share did over the
   last seasons (a flat level, a line, or a bending local trend; with or without a season) and where it goes next;
   draws from that posterior are *true share paths*, the past and the next ``horizon`` periods.
2. **Calibration on rolling origins** (``DirectionCalibration``): how much of the predicted year-on-year change
   actually comes true is learnt on backtests: the same calls made at earlier origins inside the history and scored
   against what was observed after them. An observed change ``r = log(F / A)`` (the mean over the horizon against
   the same periods a season earlier) is modelled as normal around the count model's change with its level held
   (shrunk toward no change by ``shrink``), plus its trend's extrapolation times ``slope``, a move toward the Theta
   method's level (``blend``) and the leading sources' growth times ``leading``; its spread is the draws' spread
   times ``spread``, an unforeseen drift, and the sampling noise of the observed means (from the counts). Fitted by
   maximum a posteriori on binned outcomes with a little contamination (a few wild styles cost a bounded amount),
   priors at "the count model as it is", so a short history keeps the count model and a long one teaches it. The
   leading growth's coefficient starts at 0 and moves only as far as the backtests carry it.
3. **The label rule on every draw**: each calibrated path is labelled by ``trendgan.forecast.labels.trend_labels``,
   the rule the simulator's truth uses, with the path's own future as a perfect forecast. ``p_<trend>`` is the share
   of draws with that label; the call is the most probable label and ``confidence`` its probability. Where a style
   has fewer than TEMPER_IMAGES of its own images in the history, its probabilities are tempered (``call_temperature``:
   the draws there are mostly the count model's prior, which is surer of "no trend" than the simulated mix bears out);
   a temperature keeps the most probable label, so only the stated confidence changes.
4. **The year-on-year direction** (HERMES' up / flat / down beyond +/- 5 %: ``p_up``, ``p_flat``, ``p_down``): a
   pooled ordered-probit classifier over the count model's, the Theta method's and the leading sources' signals with
   a per-style scale (``trendgan.forecast.direction.DirectionModel``), fitted on the same backtests. Where there is
   no backtest to learn from (a history of under two seasons for a quarter's horizon), the calibrated draws plus the
   sampling noise of an observed mean give it instead. On the HERMES dev series at origins 105-157 the classifier's
   calls were right for 0.58 (0.51 without the signal), the draws' for 0.54 (0.49) (benchmarks/trend_calls.py).

The calibration table (``calibration``) holds, per backtest origin, each call's predicted probability against what
came true, made with a calibration fitted on the origins whose windows do not overlap it, binned for a reliability
plot: for the trend calls what the counts said once the periods after the origin were observed (``hindsight_labels``),
for the year-on-year direction the observed change. The simulated benchmark (benchmarks/trend_calls.py) checks the
calls against the true labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trendgan.forecast.direction import YOY_CLASSES, DirectionModel, DirectionSignals, direction_signals
from trendgan.forecast.labels import TRENDS, LabelRules, reference_level, trend_labels
from trendgan.forecast.trend import CountTrend
# Bin edges of an observed log change for the calibration's likelihood: the +/- 5 % of the direction call, then wider.
OUTCOME_EDGES = np.log(np.array([0.6, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.6]))
CALIBRATION_BINS = np.linspace(0.0, 1.0, 11)
# How far (in log change) the calibration reshapes a year-on-year move: +/- 65 %. The observed yearly moves of the
# HERMES dev series at origins up to week 157 have a standard deviation of 0.12-0.19; the demo's emerging sneaker is
# up 20-fold on a year ago, far beyond what any backtest there can teach.
REACH = 0.5
# The calibration map of the stated probabilities (``call_temperature``): a style with fewer than TEMPER_IMAGES of its
# own images in the history has its five probabilities tempered, p^(1 / t) renormalised, t = 1 + TEMPER_SLOPE *
# log(TEMPER_IMAGES / images). Chosen on simulated monthly corpora (seeds 1000-1199, never the benchmark's 0-29):
# see ``call_temperature``.
TEMPER_IMAGES = 250.0
TEMPER_SLOPE = 0.28


def _normal_cdf(x):
    from scipy.special import ndtr

    return ndtr(x)


# --------------------------------------------------------------------------- features at one origin


@dataclass
class OriginCalls:
    """The count model's view of every series at one origin: draws and the features the calibration uses."""

    origin: int
    horizon: int
    paths: np.ndarray        # (n, draws, window + horizon) true share paths
    window: int
    reference: np.ndarray    # (n,) observed mean over the same periods a season before the horizon (A)
    r: np.ndarray            # (n, draws) log(F / A) per draw: its mean over the horizon and a season earlier
    extrapolation: np.ndarray  # (n, draws) log(F / F held): the part of r that the trend's extrapolation adds
    median: np.ndarray       # (n,) median of r - extrapolation (the level held) and of the extrapolation
    trend_median: np.ndarray
    moments: np.ndarray      # (n, 3) var(held part), cov(held, extrapolation), var(extrapolation) over the draws
    noise: np.ndarray        # (n,) sd that sampling adds to an observed change (future mean and year-ago mean)
    future_noise: np.ndarray  # (n,) sd that sampling adds to an observed future mean (log)
    leading: np.ndarray      # (n,) g (0 without a leading signal)
    smoothed: np.ndarray     # (n,) the change with the Theta method's level in place of the count model's held one
    model: CountTrend = field(repr=False, default=None)
    signals: DirectionSignals = field(repr=False, default=None)  # the year-on-year direction model's inputs
    images: np.ndarray | None = field(repr=False, default=None)  # (n,) each style's own images in the history


def leading_growth(leading: np.ndarray | None, origin: int, season_length: int) -> np.ndarray | None:
    """Log growth of the leading sources' share: the last season against the season before (or the last half of the
    history against the first, when it is shorter than two seasons). On the HERMES dev series the influencers'
    yearly growth correlated 0.41-0.61 with the next year's change at every origin from week 104 to 157, while the
    series' own yearly momentum fell from 0.46 to 0.01 (benchmarks/trend_calls.py)."""
    if leading is None:
        return None
    L = leading[:, :origin]
    w = season_length if season_length > 1 and origin >= 2 * season_length else max(1, origin // 2)
    if origin < 2 * w:
        return None
    eps = 1e-4
    recent, before = np.nanmean(L[:, -w:], axis=1), np.nanmean(L[:, -2 * w : -w], axis=1)
    g = np.log((recent + eps) / (before + eps))
    # Clipped to +/- 1 (a factor of 2.7): a style the leading sources did not show a season ago would otherwise
    # grow "infinitely" there and decide its own call through one coefficient.
    g = np.clip(np.where(np.isfinite(g), g, 0.0), -1.0, 1.0)
    # A leading share counted from a few influencer posts a period swings by chance: shrink each growth toward 0 by
    # its own noise (the period-to-period scatter, from first differences) against the spread of growth across
    # styles (empirical Bayes), so noise in a small leading sample does not pass for a signal.
    window = L[:, -2 * w:]
    scatter = np.nanmean(np.diff(window, axis=1) ** 2, axis=1) / 2
    noise = scatter / w * (1 / (recent + eps) ** 2 + 1 / (before + eps) ** 2)
    noise = np.where(np.isfinite(noise), noise, np.inf)
    finite = np.isfinite(noise)
    signal = max(float(np.var(g) - np.mean(noise[finite])), 0.0) if finite.any() and len(g) > 1 else 0.0
    return g * np.where(finite, signal / (signal + noise + 1e-12), 0.0)


def origin_calls(Y, totals, leading, origin: int, horizon: int, season_length: int, draws: int, seed: int,
                 trend_options: dict | None = None) -> OriginCalls:
    """Fit the count model on the first ``origin`` periods and draw paths ``horizon`` periods past it.

    The change ``r`` of each draw is its own: its future mean over its own mean a season earlier (the true past as
    that draw has it), so sampling noise in the observed year-ago mean stays out of it; ``noise`` holds that noise
    and the future mean's, which an observed change adds.
    """
    history = Y[:, :origin]
    sizes = None if totals is None else totals[:, :origin]
    model = CountTrend(season_length, **(trend_options or {})).fit(history, sizes)
    paths, held = model.sample(horizon, draws, seed, held=True)
    W = model.window_
    reference = reference_level(history, season_length, horizon)
    floor = 1e-6
    future = np.maximum(paths[:, :, W:].mean(axis=2), floor)
    year_ago_idx = reference_columns(W, season_length, horizon)
    year_ago = np.maximum(paths[:, :, year_ago_idx].mean(axis=2), floor)
    r = np.log(future / year_ago)
    extrapolation = np.log(future / np.maximum(held.mean(axis=2), floor))
    base = r - extrapolation
    median, trend_median = np.median(base, axis=1), np.median(extrapolation, axis=1)
    moments = draw_moments(base, extrapolation)
    # Sampling noise of observed means (phi (1 - p) / (p images) on the log scale): the horizon's and the year ago's.
    size = model.size_
    future_noise = _log_mean_noise(np.median(future, axis=1), size[:, -min(horizon, size.shape[1]):].mean(axis=1) * horizon,
                                   model.phi_)
    year_ago_noise = _log_mean_noise(np.median(year_ago, axis=1), size[:, year_ago_idx].sum(axis=1), model.phi_)
    noise = np.minimum(np.sqrt(future_noise**2 + year_ago_noise**2), 5.0)
    g = leading_growth(leading, origin, season_length)
    theta_mean = theta_level(history, horizon, season_length)
    smoothed = median + smoothed_gap(theta_mean, np.median(held.mean(axis=2), axis=1))
    signals = direction_signals(history, reference, np.median(future, axis=1), theta_mean, g,
                                np.minimum(future_noise, 5.0), season_length)
    return OriginCalls(origin, horizon, paths, W, reference, r, extrapolation, median, trend_median, moments,
                       noise, np.minimum(future_noise, 5.0), np.zeros(len(Y)) if g is None else g, smoothed, model,
                       signals, style_images(history, sizes))


def reference_columns(window: int, season_length: int, horizon: int) -> np.ndarray:
    """Columns of a window holding the year-ago periods of ``reference_level`` (the same periods a season before
    the horizon; the last ``horizon`` periods without a season or when the window is shorter than one)."""
    if season_length > 1 and window >= season_length:
        return np.unique(window - season_length + np.arange(horizon) % season_length)
    return np.arange(window - min(window, horizon), window)


def _log_mean_noise(p, images, phi) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.sqrt(phi * (1 - p) / np.maximum(p * images, 1e-12))


def theta_level(history, horizon: int, season_length: int) -> np.ndarray:
    """The Theta method's forecast mean over the horizon (deseasonalised exponential smoothing plus half the linear
    drift)."""
    from trendgan.forecast.models import Theta

    with np.errstate(all="ignore"):
        return Theta(season_length).fit(history).predict(horizon)["mean"].mean(axis=1)


def smoothed_gap(mean, held_mean) -> np.ndarray:
    """log of the Theta method's forecast mean (``theta_level``) over the count model's held level: where the count
    model's local trend reads a wobbly series' last weeks too literally, a smoothed level is the steadier anchor. On
    the HERMES dev series the Theta method's year-on-year change correlated 0.17-0.62 with the observed one at origins
    53-157, the count model's 0.03-0.35 (benchmarks/trend_calls.py); the calibration weighs the two."""
    floor = 1e-6
    gap = np.log(np.maximum(mean, floor) / np.maximum(held_mean, floor))
    return np.where(np.isfinite(gap), np.clip(gap, -3, 3), 0.0)


def draw_moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(var a, cov ab, var b) per row over the draws, each clipped to its 2-98 % range first: a few draws from a
    wildly wiggling local trend would otherwise decide the spread."""
    def clip(x):
        lo, hi = np.quantile(x, [0.02, 0.98], axis=1, keepdims=True)
        return np.clip(x, lo, hi)

    a, b = clip(a), clip(b)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    return np.column_stack([(a * a).mean(axis=1), (a * b).mean(axis=1), (b * b).mean(axis=1)])


# --------------------------------------------------------------------------- calibration


@dataclass
class DirectionCalibration:
    """How the count model's year-on-year change maps to what is observed (see the module docstring).

    The observed ``r = log(F / A)`` is modelled as normal with mean
    ``held + (shrink - 1) * c(held) + slope * extrapolation + blend * c(smoothed - held) + leading * growth`` and sd
    ``sqrt(spread^2 * var(draws) + noise^2)``: ``held`` the count model's change with its level held where it is now,
    ``extrapolation`` what its trend adds, ``smoothed`` the Theta method's change, ``growth`` the leading sources'.
    ``c`` clips to +/- ``REACH``: the calibration reshapes year-on-year moves of the size its backtests hold, and leaves
    the excess of a bigger one (a style that barely existed a year ago) as the count model has it.
    Priors (what holds when no backtest can be scored): shrink ~ N(1, 0.5^2), slope ~ N(1, 0.5^2),
    blend ~ N(0, 0.5^2), leading ~ N(0, 0.5^2), log spread ~ N(0, 0.5^2): "the count model as it is".

    Why each term (measured at the HERMES origins up to week 157 and on simulated counts, benchmarks/trend_calls.py):
    on HERMES the count model's 52-week extrapolations carry no signal (slope near 0), this year's level against last
    year's is mostly undone the year after (shrink about 0.3), the Theta method's level is a steadier anchor than the
    count model's last weeks (blend), and the influencers' yearly growth is the one steady predictor; on simulated
    counts, whose trends continue by construction, the fit stays near the prior.
    """

    shrink: float = 1.0
    slope: float = 1.0
    blend: float = 0.0
    leading: float = 0.0
    spread: float = 1.0
    drift: float = 0.05
    use_leading: bool = False
    samples: int = 0
    prior_sd: float = 0.5

    def _params(self):
        return np.array([self.shrink, self.slope, self.blend, self.leading if self.use_leading else 0.0,
                         np.log(self.spread), np.log(self.drift)])

    def predictive(self, calls: OriginCalls) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) of the observed log change per series."""
        return _predictive(self._params(), calls.median, calls.trend_median, calls.moments, calls.noise,
                           calls.leading, calls.smoothed)

    def fit(self, origins: list[OriginCalls], observed: list[np.ndarray], use_leading: bool,
            weight: float = 1.0) -> "DirectionCalibration":
        """MAP fit on the observed changes at ``origins``; ``weight`` (0..1] per observation discounts origins whose
        windows overlap (rolling origins a quarter of a horizon apart count a quarter each)."""
        from scipy.optimize import minimize

        held, trend, moments, noise, growth, smoothed, r = _stack(origins, observed)
        self.use_leading = bool(use_leading)
        self.samples = int(len(r))
        if len(r) == 0:
            return self
        centre = np.array([1.0, 1.0, 0.0, 0.0, 0.0, np.log(0.05)])
        scale = np.array([self.prior_sd] * 5 + [1.0])

        def negative_log_posterior(theta):
            if not self.use_leading:
                theta = np.concatenate([theta[:3], [0.0], theta[4:]])
            mean, sd = _predictive(theta, held, trend, moments, noise, growth, smoothed)
            prior = np.sum(((theta - centre) / scale) ** 2) / 2
            return -weight * binned_loglik(r, mean, sd).sum() + prior

        best = minimize(negative_log_posterior, centre.copy(), method="Nelder-Mead",
                        options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 6000, "adaptive": True})
        shrink, slope, blend, lead, log_spread, log_drift = best.x
        self.shrink, self.slope, self.blend = float(shrink), float(slope), float(blend)
        self.leading = float(lead) if self.use_leading else 0.0
        self.spread, self.drift = float(np.exp(log_spread)), float(np.exp(log_drift))
        return self

    def transform(self, calls: OriginCalls, rng) -> np.ndarray:
        """Per draw, the log shift that moves the count model's draws onto the calibrated distribution."""
        moved = calls.r + (self.slope - 1) * calls.extrapolation
        centre = np.median(moved, axis=1)
        target = centre + (self.shrink - 1) * _reach(calls.median) + self.blend * _reach(calls.smoothed - calls.median)
        if self.use_leading:
            target = target + self.leading * calls.leading
        # What the count model does not foresee at all: a change of the true level of sd ``drift`` over the horizon.
        drift = self.drift * rng.standard_normal(calls.r.shape)
        return target[:, None] + self.spread * (moved - centre[:, None]) + drift - calls.r

    def as_dict(self) -> dict:
        return {"shrink": round(self.shrink, 4), "slope": round(self.slope, 4), "blend": round(self.blend, 4),
                "leading": round(self.leading, 4), "spread": round(self.spread, 4), "drift": round(self.drift, 4),
                "use_leading": self.use_leading, "samples": self.samples}


def binned_loglik(r, mean, sd, contamination: float = 0.05) -> np.ndarray:
    """Log probability of each observed change's bin (OUTCOME_EDGES) under N(mean, sd), mixed with ``contamination``
    spread evenly over the bins: a few styles the count model cannot follow at all (a style born between two
    origins) then cost a bounded amount, instead of widening every style's spread to cover them."""
    edges = np.concatenate([[-np.inf], OUTCOME_EDGES, [np.inf]])
    k = np.clip(np.searchsorted(OUTCOME_EDGES, r, side="right"), 0, len(edges) - 2)
    sd = np.maximum(sd, 1e-6)
    upper = _normal_cdf((edges[k + 1] - mean) / sd)
    lower = _normal_cdf((edges[k] - mean) / sd)
    probability = (1 - contamination) * (upper - lower) + contamination / (len(edges) - 1)
    return np.log(np.maximum(probability, 1e-12))


def _reach(x):
    return np.clip(x, -REACH, REACH)


def _predictive(theta, held, trend, moments, noise, growth, smoothed):
    shrink, slope, blend, lead, log_spread, log_drift = theta
    mean = held + (shrink - 1) * _reach(held) + slope * trend + blend * _reach(smoothed - held) + lead * growth
    var = moments[:, 0] + 2 * slope * moments[:, 1] + slope**2 * moments[:, 2]
    sd = np.sqrt(np.exp(2 * log_spread) * np.maximum(var, 1e-8) + np.exp(2 * log_drift) + noise**2)
    return mean, sd


def _stack(origins, observed):
    if not origins:
        return (np.empty(0),) * 2 + (np.empty((0, 3)),) + (np.empty(0),) * 4
    keep = [np.isfinite(o) for o in observed]
    cat = lambda name: np.concatenate([getattr(c, name)[k] for c, k in zip(origins, keep)])  # noqa: E731
    r = np.concatenate([o[k] for o, k in zip(observed, keep)])
    return cat("median"), cat("trend_median"), cat("moments"), cat("noise"), cat("leading"), cat("smoothed"), r


def observed_change(Y, calls: OriginCalls) -> np.ndarray:
    """log(observed mean over the backtest horizon / A); NaN where either is zero (no direction to score)."""
    actual = Y[:, calls.origin : calls.origin + calls.horizon].mean(axis=1)
    ok = (actual > 0) & (calls.reference > 0)
    return np.where(ok, np.log(np.where(ok, actual, 1) / np.where(ok, calls.reference, 1)), np.nan)


def choose_calibration(origins: list[OriginCalls], observed: list[np.ndarray], has_leading: bool,
                       weight: float = 1.0) -> tuple[DirectionCalibration, dict]:
    """The calibration fitted on every backtest origin, with the leading growth as a feature where there is a leading
    signal. Its coefficient starts at 0 (the prior), so it moves only as far as the backtests carry it: the signal is
    used where it helps and stays out where it does not (benchmarks/trend_calls.py measures the calls with and
    without it)."""
    report = {"origins": len(origins)}
    calibration = DirectionCalibration().fit(origins, observed, use_leading=bool(has_leading), weight=weight)
    report["leading"] = ({"used": True, "coefficient": round(calibration.leading, 4)} if has_leading
                         else {"used": False, "reason": "no leading signal"})
    return calibration, report


def heldout_origins(origins, i: int, allowed=None) -> list[int]:
    """The origins (of ``allowed``, default all) whose backtest windows do not overlap origin ``i``'s."""
    allowed = range(len(origins)) if allowed is None else allowed
    return [j for j in allowed if j != i and abs(origins[j].origin - origins[i].origin) >= origins[i].horizon]


def choose_direction(origins: list[OriginCalls], observed: list[np.ndarray], learn, weight: float,
                     rules: LabelRules | None = None) -> DirectionModel | None:
    """The year-on-year direction model (``trendgan.forecast.direction``) fitted on the backtest origins ``learn``;
    None where there is none to learn from (the calibrated draws then give P(up), P(flat), P(down))."""
    learn = list(learn)
    if not learn:
        return None
    threshold = (rules or LabelRules()).yoy_threshold
    return DirectionModel(threshold=threshold).fit([origins[j].signals for j in learn], [observed[j] for j in learn],
                                                   weight)


def heldout_calibration(origins, observed, i: int, use_leading: bool, weight: float, allowed=None) -> DirectionCalibration:
    """A calibration for origin ``i`` fitted on the origins (of ``allowed``, default all) whose backtest windows do not
    overlap its own."""
    keep = heldout_origins(origins, i, allowed)
    if not keep:
        return DirectionCalibration(use_leading=use_leading)
    return DirectionCalibration().fit([origins[j] for j in keep], [observed[j] for j in keep], use_leading, weight)


# --------------------------------------------------------------------------- probabilities


def call_probabilities(calls: OriginCalls, calibration: DirectionCalibration, season_length: int,
                       rules: LabelRules | None = None, seed: int = 0, chunk: int = 20000) -> dict:
    """5-class and year-on-year probabilities from the calibrated draws of one origin.

    Returns ``probabilities`` (n, 5) in TRENDS order, ``yoy_probabilities`` (n, 3) in YOY_CLASSES order, and
    ``future`` (n, draws, horizon): the calibrated future paths.
    """
    rng = np.random.default_rng(seed)
    n, J, _ = calls.paths.shape
    W, h = calls.window, calls.horizon
    shift = calibration.transform(calls, rng)
    future = calls.paths[:, :, W:] * np.exp(shift)[:, :, None]
    future = np.clip(future, 0.0, 1.0)
    past = calls.paths[:, :, :W]
    labels = np.empty(n * J, dtype=object)
    flat_past, flat_future = past.reshape(n * J, W), future.reshape(n * J, h)
    for a in range(0, n * J, chunk):
        b = min(n * J, a + chunk)
        perfect = {k: flat_future[a:b] for k in ("mean", "lo-80", "hi-80", "lo-95", "hi-95")}
        labels[a:b] = trend_labels(flat_past[a:b], perfect, season_length, h, rules)["trend"]
    labels = labels.reshape(n, J)
    probabilities = np.stack([(labels == t).mean(axis=1) for t in TRENDS], axis=1)
    # Year on year as HERMES scores it: an observed future mean against the observed year-ago mean.
    observed_future = np.log(np.maximum(future.mean(axis=2), 1e-6))
    r = observed_future - np.log(np.maximum(calls.reference, 1e-6))[:, None] \
        + calls.future_noise[:, None] * rng.standard_normal((n, J))
    threshold = np.log1p((rules or LabelRules()).yoy_threshold)
    yoy = np.stack([(r < -threshold).mean(axis=1), (np.abs(r) <= threshold).mean(axis=1), (r > threshold).mean(axis=1)], axis=1)
    return {"probabilities": probabilities, "yoy_probabilities": yoy, "future": future}


def style_images(Y, totals) -> np.ndarray | None:
    """Each style's own images over the history (share times the period's images, summed); None without totals."""
    if totals is None:
        return None
    counts = np.asarray(Y, dtype=float) * np.asarray(totals, dtype=float)
    return np.nansum(counts, axis=1)


def call_temperature(images) -> np.ndarray | None:
    """The temperature of each style's stated probabilities: 1 + TEMPER_SLOPE * log(TEMPER_IMAGES / images), and 1
    from TEMPER_IMAGES images up or where the images are unknown (None: shares measured elsewhere, e.g. HERMES).

    Why: where a style's counts say little, its probabilities are mostly the count model's prior (a style may well be
    flat: 0.35 on "no trend", slopes ~ N(0, 0.3^2)), and the simulated standard mix moves more than that prior says
    (5 of its 8 styles rise, fall, emerge or spike). A 30 % a year riser and a flat style, counted from 60 of their own
    images over 24 months, are both called "stable" at about 0.77; the flat one is right 0.96 of the time, the riser
    0.22. Over simulated monthly corpora (seeds 1000-1199, a feed of 20 images a month: 2.5 of a style's own a month)
    the calls at 0.7-0.9 were right 0.660 of the time at a stated 0.785, the over-confident ones "stable" (right 0.50)
    and "seasonal" (0.57) calls on true risers and decliners. The true labels there are not borderline: a 30 % riser's
    true year-on-year move sits 2.0-2.9 times the rule's bar (10th-90th percentile), its move since a year ago 1.3
    times or more in 9 of 10 seeds.

    How it was chosen: per volume, the temperature that minimises the top call's expected calibration error on the
    standard mix (10 bins; monthly feeds of 5, 20, 50, 100 and 160 images, seeds 1000-1199 or 1000-1099) was 1.75,
    1.40, 1.15, 0.90 and 1.00 at 15, 60, 150, 300 and 480 of a style's images; 1 + 0.28 log(250 / images) follows
    these (a grid over 150-400 images and slopes 0.15-0.4 put 250 and 0.28 within 0.001 of the best mean error:
    0.026 against 0.059 untempered). The log loss preferred milder temperatures (1.44, 1.18, 1.03 at 15-150 images):
    a temperature lifts the rare misses' probability less than it lowers the common hits'; the reliability a buyer
    reads is the top call's, so its error chose. A temperature keeps the most probable label, so the calls (and the
    riser found, the false calls) do not change: only how sure they say they are.

    What it did there (seeds 1000-1199 monthly, 1000-1099 weekly; calls at 0.7-0.9, stated -> right): a feed of 20 a
    month 0.785 -> 0.660 became 0.783 -> 0.829 (and 0.5-0.7: 0.60 -> 0.49 became 0.60 -> 0.56), 50 a month 0.812 ->
    0.752 became 0.801 -> 0.798; a feed of 5 a week (65 images, where the weekly optimum was 1.35, as the monthly's
    1.40 at 60: images, not the period, set it) 0.787 -> 0.678 became 0.787 -> 0.852; from 250 images up (a feed of
    20 a week, 100 or 160 a month) nothing changes. Measured afterwards on the benchmark's own seeds 0-29
    (benchmarks/trend_calls.py --part sim --volumes 20,160): monthly calls at 0.7-0.9 on the standard mix 0.794 ->
    0.676 became 0.782 -> 0.748 (the feed of 20 alone, through trend_calls directly: 0.788 -> 0.683 became 0.761 ->
    0.783), on the power corpora 0.784 -> 0.595 became 0.801 -> 0.772; weekly unchanged (0.824 -> 0.867).

    Not fixed by it: from 300-480 images (a feed of 100-160 a month) the power corpora's calls at 0.7-0.9 stay right
    0.65-0.66 of the time at 0.81, all of it at 10-20 % a year, at the rule's bar: there the true label is itself a
    coin toss (a 15 % mover's true label is a move 0.6 of the time, a 10 % one's 0.2), and a 20 % riser, true label
    rising 0.94 of the time, was called "stable" at about 0.81 in 52 of 94 such calls (seeds 1000-1199, a feed of 160
    a month). A temperature by the images cannot see that.

    What is left (the calls lean toward "no move" by called class) and the corrections tried and not kept: docs/
    experiments.md, "The calls' stated probabilities".
    """
    if images is None:
        return None
    images = np.maximum(np.asarray(images, dtype=float), 1.0)
    return 1.0 + TEMPER_SLOPE * np.maximum(np.log(TEMPER_IMAGES / images), 0.0)


def temper(probabilities: np.ndarray, temperature: np.ndarray | None) -> np.ndarray:
    """p^(1 / t) per row, renormalised (``call_temperature``); the most probable label stays the most probable."""
    if temperature is None:
        return probabilities
    tempered = np.power(np.clip(probabilities, 0.0, 1.0), 1.0 / np.asarray(temperature, dtype=float)[:, None])
    total = tempered.sum(axis=1, keepdims=True)
    return np.where(total > 0, tempered / np.where(total > 0, total, 1.0), probabilities)


def hindsight_labels(Y, totals, origin: int, horizon: int, season_length: int, rules: LabelRules | None = None,
                     draws: int = 200, seed: int = 0, trend_options: dict | None = None) -> np.ndarray:
    """What the counts said about a backtest's call once its ``horizon`` periods were observed: the count model fitted
    through ``origin + horizon``, the rule applied to its draws with the first ``origin`` periods as the past and the
    next ``horizon`` as the future, the most probable label kept.

    The rule on raw observed shares would judge a quarter's move against the noise of a dozen images a week and
    call most moves "stable": on simulated counts (benchmarks/trend_calls.py) its labels agreed with the true ones
    58 % of the time at 20 images a week and 75 % at 100, the count model's in hindsight 85 % and 94 %.
    """
    end = origin + horizon
    model = CountTrend(season_length, **(trend_options or {})).fit(Y[:, :end], None if totals is None else totals[:, :end])
    paths = model.sample(0, draws, seed)
    n, J, W = paths.shape
    past, future = paths[:, :, : W - horizon].reshape(n * J, -1), paths[:, :, W - horizon :].reshape(n * J, -1)
    perfect = {k: future for k in ("mean", "lo-80", "hi-80", "lo-95", "hi-95")}
    labels = trend_labels(past, perfect, season_length, horizon, rules)["trend"].reshape(n, J)
    counts = np.stack([(labels == t).sum(axis=1) for t in TRENDS], axis=1)
    return np.array(TRENDS, dtype=object)[counts.argmax(axis=1)]


def reliability_table(predicted: np.ndarray, hits: np.ndarray, kind: str, bins=CALIBRATION_BINS):
    """Predicted probability bin vs observed frequency: one row per non-empty bin."""
    import pandas as pd

    predicted, hits = np.asarray(predicted, dtype=float).ravel(), np.asarray(hits, dtype=float).ravel()
    which = np.clip(np.digitize(predicted, bins[1:-1]), 0, len(bins) - 2)
    rows = []
    for k in range(len(bins) - 1):
        sel = which == k
        if sel.any():
            rows.append({"kind": kind, "bin_lo": float(bins[k]), "bin_hi": float(bins[k + 1]), "calls": int(sel.sum()),
                         "predicted": float(predicted[sel].mean()), "observed": float(hits[sel].mean())})
    return pd.DataFrame(rows, columns=["kind", "bin_lo", "bin_hi", "calls", "predicted", "observed"])


# --------------------------------------------------------------------------- everything together


@dataclass
class TrendCalls:
    """Result of ``trend_calls``: per-series probabilities and evidence, the calibration and its table."""

    probabilities: np.ndarray       # (n, 5) TRENDS order
    yoy_probabilities: np.ndarray   # (n, 3) YOY_CLASSES order
    future_median: np.ndarray       # (n, horizon) median of the calibrated true-share paths
    future_bounds: dict             # level -> (lo, hi), each (n, horizon): their central intervals
    future_mean: np.ndarray         # (n,) median over the draws of the mean over the horizon (F)
    growth_per_season: np.ndarray   # (n,) the count model's slope over the last season, as a share change
    p_trend: np.ndarray             # (n,) posterior weight of the count model's trend configurations
    p_season: np.ndarray            # (n,) ... and of its seasonal ones
    calibration: DirectionCalibration
    table: object                   # pandas DataFrame (reliability)
    backtest_hits: np.ndarray       # (n,) backtest origins whose call came true (by the rule on observed data)
    backtest_calls: np.ndarray      # (n,) backtest origins scored (0 for styles outside the calibration sample)
    report: dict

    @property
    def trend(self) -> np.ndarray:
        return np.array(TRENDS, dtype=object)[self.probabilities.argmax(axis=1)]

    @property
    def yoy(self) -> np.ndarray:
        return np.array(YOY_CLASSES, dtype=object)[self.yoy_probabilities.argmax(axis=1)]


def calibration_origins(T: int, horizon: int, season_length: int, max_origins: int) -> tuple[list[int], int]:
    """(backtest origins newest first, the first origin the calibration may learn from).

    Origins every quarter of a horizon (at least one period) back from ``T - horizon`` while a season of history (at
    least 8 periods) lies before them: all are scored for the reliability table. The calibration learns only from
    those where the count model can do what it does at the end: with two seasons of history when the whole history
    holds two (so it could tell a season from a trend there too). A calibration learnt where the model could not see
    the season would teach it to distrust a change that only the season made.
    """
    step = max(1, horizon // 4)
    # A horizon of a full season compares whole years, in which the season cancels: one season of history is enough.
    seasons = 2 if season_length > 1 and T >= 2 * season_length and horizon < season_length else 1
    first_fit = max(seasons * season_length if season_length > 1 else 0, 8)
    first = max(season_length if season_length > 1 else 0, 8)
    out = []
    origin = T - horizon
    while origin >= first and len(out) < max_origins:
        out.append(origin)
        origin -= step
    return out, first_fit


def _rows(X, rows):
    return None if X is None else X[rows]


def _final_chunk(Y, totals, leading, T, h, season_length, draws, seed, trend_options, calibration, rules, levels,
                 direction=None, temper_calls: bool = False) -> dict:
    """The calls of one chunk of styles at the last origin: probabilities and the summaries the forecast needs."""
    final = origin_calls(Y, totals, leading, T, h, season_length, draws, seed, trend_options)
    result = call_probabilities(final, calibration, season_length, rules, seed)
    if temper_calls:
        result["probabilities"] = temper(result["probabilities"], call_temperature(final.images))
    if direction is not None:
        result["yoy_probabilities"] = direction.predict_proba(final.signals)
    future = result["future"]
    bounds = {lv: tuple(np.quantile(future, [0.5 - lv / 200, 0.5 + lv / 200], axis=1)) for lv in levels}
    model = final.model
    slope = model.slope_ * model.m_ / model.unit_ if model.m_ > 1 else model.slope_
    return {"p": result["probabilities"], "yoy": result["yoy_probabilities"], "median": np.median(future, axis=1),
            "mean": np.median(future.mean(axis=2), axis=1), "bounds": bounds,
            "growth": np.expm1(np.clip(slope, -20, 20)), "p_trend": model.p_trend_, "p_season": model.p_season_}


def _workers(n_jobs, chunks: int) -> int:
    import os

    cores = os.cpu_count() or 1
    wanted = cores if n_jobs in (-1, 0, None) else max(1, int(n_jobs))
    return max(1, min(wanted, cores, chunks))


def trend_calls(Y, horizon: int, season_length: int, totals=None, leading=None, rules: LabelRules | None = None,
                draws: int = 200, max_origins: int = 8, seed: int = 0, trend_options: dict | None = None,
                calibrate: bool = True, calibration_series: int = 150, chunk: int = 400,
                levels=(80, 95), table_origins: int = 4, table_draws: int = 100, n_jobs: int = 1,
                engine: str = "local") -> TrendCalls:
    """Calibrated trend calls for every row of ``Y`` (n, T) shares, ``horizon`` periods ahead.

    ``totals`` (n, T) images per period (None: unknown, e.g. shares measured elsewhere); ``leading`` (n, T) the
    leading sources' share or None. ``max_origins`` rolling origins (default 8, newest first) calibrate the calls and
    fill the reliability table, on at most ``calibration_series`` styles (a seeded sample: the calibration has a
    handful of parameters, and a few hundred styles pin them down); ``calibrate=False`` keeps the count model's own
    probabilities (untempered too). The final calls are made ``chunk`` styles at a time, so memory stays flat for 10,000 styles.
    ``draws`` per style (200: probabilities to the nearest half percent); the reliability table scores at most
    ``table_origins`` of the origins (spread over them) with ``table_draws`` draws each. ``n_jobs`` processes share
    the chunks (-1: all cores), or Ray tasks do with ``engine="ray"``; calibration stays here (it pools the styles).
    """
    import pandas as pd

    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    n, T = Y.shape
    h = int(horizon)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=calibration_series, replace=False)) if n > calibration_series else np.arange(n)
    Ys, totals_s, leading_s = Y[sample], _rows(totals, sample), _rows(leading, sample)
    origins, first_fit = calibration_origins(T, h, season_length, max_origins) if calibrate else ([], 0)
    backtests, observed = [], []
    for k, origin in enumerate(origins):
        calls = origin_calls(Ys, totals_s, leading_s, origin, h, season_length, table_draws, seed + 1 + k, trend_options)
        backtests.append(calls)
        observed.append(observed_change(Ys, calls))
    learn = [i for i, o in enumerate(origins) if o >= first_fit]
    # Rolling origins a quarter of a horizon apart see overlapping futures: each observation counts as the share of
    # its window that no other origin sees.
    weight = 1.0 / min(len(learn), int(np.ceil(h / max(1, h // 4)))) if learn else 1.0
    calibration, report = choose_calibration([backtests[i] for i in learn], [observed[i] for i in learn],
                                             leading is not None, weight)
    # The year-on-year direction: a pooled classifier over the direction signals where the backtests can teach one;
    # without backtests, the calibrated draws' own share beyond +/- 5 %.
    direction = choose_direction(backtests, observed, learn, weight, rules)

    # The final calls, a chunk of styles at a time.
    probabilities, yoy = np.zeros((n, len(TRENDS))), np.zeros((n, len(YOY_CLASSES)))
    median, mean = np.zeros((n, h)), np.zeros(n)
    bounds = {lv: (np.zeros((n, h)), np.zeros((n, h))) for lv in levels}
    growth, p_trend, p_season = np.zeros(n), np.zeros(n), np.zeros(n)
    starts = list(range(0, n, chunk))
    args = [(Y[a:a + chunk], _rows(totals, slice(a, a + chunk)), _rows(leading, slice(a, a + chunk)), T, h,
             season_length, draws, seed + a, trend_options, calibration, rules, levels, direction, calibrate)
            for a in starts]
    workers = _workers(n_jobs, len(starts))
    if engine == "ray":
        from trendgan.engines import ray_map

        parts = list(ray_map(_final_chunk, args))
    elif workers > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=workers)(delayed(_final_chunk)(*arg) for arg in args)
    else:
        parts = [_final_chunk(*arg) for arg in args]
    for a, part in zip(starts, parts):
        rows = slice(a, a + chunk)
        probabilities[rows], yoy[rows], median[rows], mean[rows] = part["p"], part["yoy"], part["median"], part["mean"]
        for lv in levels:
            bounds[lv][0][rows], bounds[lv][1][rows] = part["bounds"][lv]
        growth[rows], p_trend[rows], p_season[rows] = part["growth"], part["p_trend"], part["p_season"]

    # Reliability on the backtests, each origin called with a calibration fitted on the origins it does not overlap.
    tables, hits, scored = [], np.zeros(n), np.zeros(n)
    trend_pairs, yoy_pairs = ([], []), ([], [])
    threshold = np.log1p((rules or LabelRules()).yoy_threshold)
    scored_origins = sorted(set(np.linspace(0, len(backtests) - 1, min(table_origins, len(backtests))).round().astype(int)))
    for i in scored_origins if backtests else []:
        calls = backtests[i]
        cal = heldout_calibration(backtests, observed, i, calibration.use_leading, weight, learn)
        probs = call_probabilities(calls, cal, season_length, rules, seed + 100 + i)
        probs["probabilities"] = temper(probs["probabilities"], call_temperature(calls.images))
        held = choose_direction(backtests, observed, heldout_origins(backtests, i, learn), weight, rules) \
            if direction is not None else None
        if held is not None:
            probs["yoy_probabilities"] = held.predict_proba(calls.signals)
        truth = hindsight_labels(Ys, totals_s, calls.origin, h, season_length, rules, draws=table_draws,
                                 seed=seed + 200 + i, trend_options=trend_options)
        onehot = np.stack([truth == t for t in TRENDS], axis=1)
        trend_pairs[0].append(probs["probabilities"]), trend_pairs[1].append(onehot)
        called = np.array(TRENDS, dtype=object)[probs["probabilities"].argmax(axis=1)]
        hits[sample] += called == truth
        scored[sample] += 1
        ok = np.isfinite(observed[i])
        yoy_truth = np.where(observed[i] > threshold, "up", np.where(observed[i] < -threshold, "down", "flat"))
        yoy_onehot = np.stack([yoy_truth == c for c in YOY_CLASSES], axis=1)
        yoy_pairs[0].append(probs["yoy_probabilities"][ok]), yoy_pairs[1].append(yoy_onehot[ok])
    if backtests:
        tables.append(reliability_table(np.concatenate(trend_pairs[0]), np.concatenate(trend_pairs[1]), "trend"))
        tables.append(reliability_table(np.concatenate(yoy_pairs[0]), np.concatenate(yoy_pairs[1]), "yoy"))
    table = pd.concat(tables, ignore_index=True) if tables else reliability_table(np.empty(0), np.empty(0), "trend")
    report["direction"] = (direction.as_dict() | {"from": "direction model"} if direction is not None
                           else {"from": "calibrated draws", "reason": "no backtest to learn from"})
    report.update({"calibration": calibration.as_dict(), "draws": draws, "backtest_origins": [int(o) for o in origins],
                   "scored_origins": [int(origins[i]) for i in scored_origins] if backtests else [],
                   "calibration_origins": [int(origins[i]) for i in learn], "calibration_series": int(len(sample))})
    return TrendCalls(probabilities, yoy, median, bounds, mean, growth, p_trend, p_season, calibration, table,
                      hits.astype(int), scored.astype(int), report)
