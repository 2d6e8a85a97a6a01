"""Scoring trend calls as predictions: direction accuracy, macro-F1, confusion, power against the binomial limit.

Also the simulated styles the calls are scored on (``simulated_styles``): each style's true share follows a curve
(the shapes of ``trendgan.simulate.curves``, and constant yearly growth or decline for the power curve), its counts
are binomial draws from a feed of ``volume`` images a period, and its true trend is the forecast stage's own rule on
the true shares (``trendgan.forecast.labels.true_trends``), the past and a held-out future.
"""

from __future__ import annotations

import math

import numpy as np

from trendgan.forecast.labels import TRENDS, true_trends

DIRECTIONS = ("down", "flat", "up")


def direction_class(reference, mean, threshold: float = 0.05) -> np.ndarray:
    """HERMES' year-on-year class of a forecast-period mean against the reference (last year's mean)."""
    reference, mean = np.asarray(reference, dtype=float), np.asarray(mean, dtype=float)
    change = np.divide(mean, reference, out=np.full_like(mean, np.inf), where=reference > 0) - 1
    return np.where(change > threshold, "up", np.where(change < -threshold, "down", "flat"))


def classification_scores(truth, called, classes) -> dict:
    """Accuracy, macro-F1 (over the classes present in the truth or the calls), per-class precision and recall, and
    the confusion matrix as {truth: {called: count}}."""
    truth, called = np.asarray(truth, dtype=object), np.asarray(called, dtype=object)
    out = {"n": int(len(truth)), "accuracy": round(float(np.mean(truth == called)), 4) if len(truth) else None}
    per, f1s = {}, []
    for c in classes:
        tp = int(np.sum((truth == c) & (called == c)))
        n_called, n_true = int(np.sum(called == c)), int(np.sum(truth == c))
        precision = tp / n_called if n_called else None
        recall = tp / n_true if n_true else None
        if n_called or n_true:
            f1 = 0.0 if not tp else 2 * precision * recall / (precision + recall)
            f1s.append(f1)
        per[c] = {"precision": None if precision is None else round(precision, 4),
                  "recall": None if recall is None else round(recall, 4), "true": n_true, "called": n_called}
    out["macro_f1"] = round(float(np.mean(f1s)), 4) if f1s else None
    out["per_class"] = per
    out["confusion"] = {t: {c: int(np.sum((truth == t) & (called == c))) for c in classes} for t in classes}
    return out


# --------------------------------------------------------------------------- the binomial limit


def _slope_z(volume: float, share: float, periods: int, season_length: int, slope: float) -> float:
    """How many standard errors a logit-share slope of ``slope`` a year stands from zero, with the information the
    counts hold: 1 / var = sum_t volume p_t (1 - p_t) (t - mean t)^2 (t in years)."""
    years = (np.arange(periods) - (periods - 1) / 2) / max(season_length, 1)
    p = 1 / (1 + np.exp(-(math.log(share / (1 - share)) + slope * years)))
    return abs(slope) * math.sqrt(float(np.sum(volume * p * (1 - p) * years**2)))


def binomial_limit(volume: float, share: float, periods: int, season_length: int, alpha: float = 0.05,
                   power: float = 0.9) -> float:
    """The smallest yearly change (e.g. 0.3 = +30 % a year) of a style's share that a two-sided test at ``alpha`` on
    its counts detects with probability ``power``: a style centred on ``share`` of a feed of ``volume`` images a
    period, growing at a constant rate over ``periods`` periods (``season_length`` periods a year).

    The test is on the slope of the logit share, whose variance is 1 / sum_t volume p_t (1 - p_t) (t - mean t)^2
    (t in years): the information the counts themselves hold, with nothing else estimated. Any method that also
    allows for a season, a bending trend or over-dispersion needs more.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    lo, hi = 0.0, 10.0
    for _ in range(60):  # bisection on the logit slope per year
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _slope_z(volume, share, periods, season_length, mid) < z else (lo, mid)
    # The share's yearly change at the centre of the range for that logit slope.
    return 1 / (1 + math.exp(-(math.log(share / (1 - share)) + hi))) / share - 1


def oracle_power(change: float, volume: float, share: float, periods: int, season_length: int,
                 alpha: float = 0.05) -> float:
    """The probability that a two-sided test at ``alpha`` on the counts finds a style whose share changes by
    ``change`` a year (e.g. 0.3 or -0.3): the best any call that is wrong on ``alpha`` of flat styles can do, given
    a straight logit line, no season and nothing else to estimate (the counts' information, as in
    ``binomial_limit``). A call that beats it on a steady riser pays for it in false calls elsewhere."""
    from statistics import NormalDist

    logit = math.log(share / (1 - share))
    moved = share * (1 + change)
    slope = math.log(moved / (1 - moved)) - logit
    z = _slope_z(volume, share, periods, season_length, slope)
    critical = NormalDist().inv_cdf(1 - alpha / 2)
    return NormalDist().cdf(z - critical) + NormalDist().cdf(-z - critical)



def fitted_yearly_slope(counts, totals, season_length: int, harmonics: int = 3, season: bool = True) -> float:
    """The yearly slope of a style's logit share fitted to its counts (quasi-binomial GLM, statsmodels), with
    ``harmonics`` Fourier pairs of the season when ``season``: the statistic a plain trend test on the counts reads."""
    import statsmodels.api as sm

    counts, totals = np.asarray(counts, dtype=float), np.asarray(totals, dtype=float)
    years = np.arange(len(counts)) / max(season_length, 1)
    columns = [np.ones_like(years), years]
    if season and season_length > 1:
        for k in range(1, harmonics + 1):
            columns += [np.sin(2 * np.pi * k * years), np.cos(2 * np.pi * k * years)]
    fit = sm.GLM(np.column_stack([counts, totals - counts]), np.column_stack(columns),
                 family=sm.families.Binomial()).fit(scale="X2")
    return float(fit.params[1])


def slope_test_frontier(quiet_slopes, riser_slopes, decliner_slopes, false_rate: float = 0.05) -> dict:
    """The best a threshold on the fitted slope does on simulated styles: the cut that calls ``false_rate`` of the
    quiet (flat and seasonal) styles rising or declining, chosen knowing their true slopes' spread (an oracle's
    cut, so a ceiling, not a method), and how often that cut finds the riser and the decliner. Unlike
    ``oracle_power`` it includes what the counts carry beyond binomial sampling (the simulator's volume swings and
    demand wobble) and the price of allowing for a season."""
    quiet = np.sort(np.abs(np.asarray(quiet_slopes, dtype=float)))
    allowed = int(np.floor(false_rate * len(quiet)))  # quiet styles the cut may call moving: at most false_rate of them
    cut = float(quiet[len(quiet) - allowed - 1]) if len(quiet) else float("nan")
    return {"cut_logit_a_year": round(cut, 3),
            "false_rising_or_declining": round(float(np.mean(quiet > cut)), 4) if len(quiet) else None,
            "rising": round(float(np.mean(np.asarray(riser_slopes) > cut)), 3) if len(riser_slopes) else None,
            "declining": round(float(np.mean(np.asarray(decliner_slopes) < -cut)), 3) if len(decliner_slopes) else None}

# --------------------------------------------------------------------------- simulated styles


SHAPES = {
    # name: (curve, yearly rate); rates are share changes a year (0.3 = +30 %, -0.3 = -30 %)
    "flat": ("flat", 0.0),
    "seasonal": ("seasonal", 0.0),
    "rising": ("growth", 0.3),
    "declining": ("growth", -0.3),
    "seasonal rising": ("seasonal", 0.3),
    "seasonal declining": ("seasonal", -0.3),
    "emerging": ("emerging", 0.0),
    "fad": ("fad", 0.0),
}


def share_path(curve: str, rate: float, periods: int, horizon: int, period: str, base: float, rng,
               noise: float = 0.05) -> np.ndarray:
    """A style's true share over ``periods + horizon`` periods: the curve's shape around ``base`` times constant yearly
    growth ``rate``, with the simulator's smooth demand wobble (log sd ``noise``)."""
    from trendgan.simulate.curves import Curve, add_noise

    m = 52 if period == "W" else 12
    t = np.arange(periods + horizon)
    months = (t * 12 / m) % 12 + 1  # month of the year (1.0 = 1 January) as a fraction
    last = periods - 1
    if curve == "growth":
        shape = np.ones(len(t))
    elif curve == "seasonal":
        shape = Curve.make("seasonal", peak_month=float(rng.integers(1, 13)), amplitude=0.8).weights(t, months, last)
    elif curve == "emerging":
        # appears in the second half (start 0.5-0.6 of the observed range) and is still climbing at the end
        shape = Curve.make("emerging", start=float(rng.uniform(0.5, 0.6)), ramp=0.65, level=1.5).weights(t, months, last)
    elif curve == "fad":
        # spikes in the last sixth of the range and is fading by the end
        width = (4.5 if period == "W" else 1.2) / last  # about a month either side of the peak
        shape = Curve.make("fad", peak=float(rng.uniform(0.84, 0.9)), width=width, height=2.5, base=0.1).weights(t, months, last)
    else:
        shape = Curve.make(curve).weights(t, months, last)
    growth = (1 + rate) ** ((t - last) / m)
    path = base * shape * growth / max(np.mean(shape[:periods] * growth[:periods]), 1e-12)
    path = add_noise(path[:, None], noise, rng)[:, 0]
    return np.clip(path, 1e-5, 0.95)


def simulated_styles(volume: int, period: str = "W", seed: int = 0, shapes: dict | None = None, periods: int | None = None,
                     horizon: int | None = None, base: float = 0.125, start: str = "2022-01-03"):
    """A long frame of style series (unique_id, ds, y, count, total) with their true trends.

    Each style is counted out of a feed of ``volume`` images a period (binomial; the volume varies +/- 10 % from
    period to period like the simulator's), ``base`` its mean share (1/8 by default: a feed of eight styles). Two
    years of history by default (104 weeks or 24 months) and a quarter of true future (13 weeks, 3 months).
    Returns (frame, truth {style: trend}, true future shares {style: array}).
    """
    import pandas as pd

    shapes = SHAPES if shapes is None else shapes
    rng = np.random.default_rng(seed)
    m = 52 if period == "W" else 12
    periods = periods or 2 * m
    horizon = horizon or (13 if period == "W" else 3)
    dates = pd.date_range(start, periods=periods, freq="7D" if period == "W" else "MS")
    totals = np.maximum(1, np.rint(volume * np.exp(rng.normal(0, 0.1, periods)))).astype(int)
    frames, truth, futures = [], {}, {}
    for name, (curve, rate) in shapes.items():
        path = share_path(curve, rate, periods, horizon, period, base, rng)
        counts = rng.binomial(totals, path[:periods])
        truth[name] = str(true_trends(path[None, :periods], path[None, periods:], m)[0])
        futures[name] = path[periods:]
        frames.append(pd.DataFrame({"unique_id": name, "ds": dates, "y": counts / totals, "count": counts, "total": totals}))
    return pd.concat(frames, ignore_index=True), truth, futures


def power_shapes(rates=(0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8)) -> dict:
    """Steady risers and decliners at each yearly rate, for the power curve."""
    out = {}
    for r in rates:
        out[f"rising {int(round(r * 100))}%"] = ("growth", r)
        out[f"declining {int(round(r * 100))}%"] = ("growth", -r)
    return out


__all__ = ["TRENDS", "DIRECTIONS", "direction_class", "classification_scores", "binomial_limit", "oracle_power", "fitted_yearly_slope",
           "slope_test_frontier", "simulated_styles",
           "share_path", "power_shapes", "SHAPES"]
