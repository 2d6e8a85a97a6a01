"""The year-on-year direction call: a pooled ordered probit over honest signals, with a per-style scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendgan.forecast.calls import trend_calls
from trendgan.forecast.direction import DIRECTION_SIGNALS, DirectionModel, DirectionSignals, relative_noise
from trendgan.forecast.scoring import SHAPES, direction_class, simulated_styles

CUT = np.log(1.05)


def synthetic_origin(n, rng, lead_coef=0.5, scale=0.08, power=1.0):
    """Signals and observed changes drawn from the model itself: the leading growth carries the change, the count
    model's signal is pure noise, and noisy styles move more."""
    X = np.column_stack([rng.normal(0, 0.5, n), rng.normal(0, 0.1, n), rng.normal(0, 0.2, n)])
    noise = rng.choice([-3.0, -1.0], n)
    sd = scale * np.exp(power * (noise + 2.0))
    r = lead_coef * X[:, 2] + sd * rng.standard_normal(n)
    return DirectionSignals(X, noise, np.zeros(n)), r


def test_the_model_learns_which_signal_carries_the_change_and_how_noise_widens_it():
    rng = np.random.default_rng(0)
    origins = [synthetic_origin(800, rng) for _ in range(2)]
    model = DirectionModel().fit([s for s, _ in origins], [r for _, r in origins])
    coef = dict(zip(DIRECTION_SIGNALS, model.coef_))
    assert abs(coef["leading"] - 0.5) < 0.15, coef
    assert abs(coef["count_model"]) < 0.1, coef  # the prior says 1; 1,600 styles say it carries nothing
    assert model.noise_power_ > 0.6, model.noise_power_
    signals, _ = synthetic_origin(400, rng)
    p = model.predict_proba(signals)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    called = np.array(["down", "flat", "up"])[p.argmax(axis=1)]
    quiet = (signals.noise < -2) & (np.abs(signals.X[:, 2]) < 0.03)
    loud = (signals.noise > -2) & (np.abs(signals.X[:, 2]) < 0.03)
    assert quiet.sum() > 10 and (called[quiet] == "flat").mean() > 0.8  # a steady style near its year stays flat
    assert (called[loud] == "flat").mean() < 0.5  # a noisy one is unlikely to land within 5 % of its year


def test_probabilities_are_calibrated_when_the_model_is_right():
    rng = np.random.default_rng(1)
    train = [synthetic_origin(1500, rng) for _ in range(2)]
    model = DirectionModel().fit([s for s, _ in train], [r for _, r in train])
    signals, r = synthetic_origin(4000, rng)
    p = model.predict_proba(signals)
    truth = np.where(r > CUT, 2, np.where(r < -CUT, 0, 1))
    top, right = p.max(axis=1), p.argmax(axis=1) == truth
    for lo, hi in ((0.5, 0.7), (0.7, 0.9)):
        chosen = (top >= lo) & (top < hi)
        assert chosen.sum() > 100
        said, came = top[chosen].mean(), right[chosen].mean()
        assert abs(came - said) < 3 * np.sqrt(said * (1 - said) / chosen.sum()) + 0.03, (lo, hi, said, came)


def test_without_backtests_the_prior_holds_and_an_absent_signal_stays_out():
    empty = DirectionModel().fit([], [])
    assert empty.samples_ == 0 and empty.coef_[DIRECTION_SIGNALS.index("count_model")] == 1.0
    rng = np.random.default_rng(2)
    signals, r = synthetic_origin(300, rng)
    signals.X[:, DIRECTION_SIGNALS.index("leading")] = 0.0  # no leading sources
    model = DirectionModel().fit([signals], [r])
    assert model.coef_[DIRECTION_SIGNALS.index("leading")] == 0.0
    assert model.as_dict()["samples"] == 300


def test_relative_noise_ranks_a_noisy_style_above_a_steady_one():
    rng = np.random.default_rng(3)
    steady = 0.1 + rng.normal(0, 0.002, 104)
    noisy = 0.1 + rng.normal(0, 0.02, 104)
    riser = np.linspace(0.05, 0.15, 104)  # a smooth trend is no noise
    z = relative_noise(np.vstack([steady, noisy, riser]), 52)
    assert z[1] > z[0] + 1.5 and z[2] < z[0]


def simulated_pool(seeds, periods, volume=20):
    Ys, totals, truth = [], [], []
    for seed in seeds:
        frame, _, future = simulated_styles(volume, "W", seed=seed, periods=periods)
        wide = frame.pivot(index="unique_id", columns="ds", values="y").loc[list(SHAPES)]
        Ys.append(wide.to_numpy())
        totals.append(frame.pivot(index="unique_id", columns="ds", values="total").loc[list(SHAPES)].to_numpy())
        year_ago = Ys[-1][:, periods - 52 : periods - 52 + 13].mean(axis=1)
        truth.append(direction_class(year_ago, np.array([future[s].mean() for s in SHAPES])))
    return np.vstack(Ys), np.vstack(totals), np.concatenate(truth)


def test_trend_calls_learn_the_direction_from_backtests_where_there_are_any():
    Y, totals, truth = simulated_pool(range(6), periods=156)  # three years: backtests with two seasons behind them
    calls = trend_calls(Y, 13, 52, totals=totals, draws=100, max_origins=4, table_origins=2, table_draws=60)
    assert calls.report["direction"]["from"] == "direction model"
    assert calls.report["direction"]["coefficients"]["count_model"] > 0.4  # counted trends continue: it is kept
    np.testing.assert_allclose(calls.yoy_probabilities.sum(axis=1), 1.0)
    assert (calls.yoy == np.array(["down", "flat", "up"])[calls.yoy_probabilities.argmax(axis=1)]).all()
    assert (calls.yoy == truth).mean() > 0.6, (calls.yoy == truth).mean()
    assert set(pd.unique(calls.table["kind"])) == {"trend", "yoy"}
    short, _, _ = simulated_pool(range(1), periods=104)
    assert trend_calls(short, 13, 52, draws=60, table_draws=40).report["direction"]["from"] == "calibrated draws"
