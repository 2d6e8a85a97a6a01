"""Popularity curves: shapes point the right way, shares sum to 1, counts follow volumes."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.errors import ConfigError
from trendgan.forecast.labels import true_trends
from trendgan.simulate.curves import (
    Curve,
    add_noise,
    period_volumes,
    sample_counts,
    shares_from_weights,
)

T = np.arange(104)
LAST = 103
# Weekly periods from a Monday in January: month of the year of each week's middle.
MONTHS = 1 + (T * 7 + 3) % 365 / 365 * 12


def weights(shape, **params):
    return Curve.make(shape, **params).weights(T, MONTHS, LAST)


def true_label(curve: Curve, end: int = LAST, horizon: int = 13) -> str:
    """The truth label the simulator gives ``curve`` beside the rest of the market (four flat labels' worth, so a
    style absent a year ago has a small share there), observed up to period ``end``."""
    t = np.arange(end + 1 + horizon)
    months = 1 + (t * 7 + 3) % 365 / 365 * 12
    share = shares_from_weights(np.stack([curve.weights(t, months, LAST), np.full(len(t), 4.0)], axis=1))[:, 0]
    return str(true_trends(share[None, : end + 1], share[None, end + 1:], 52)[0])


def test_rising_and_declining_move_monotonically_between_their_levels():
    rising, declining = weights("rising", low=0.5, high=2.0), weights("declining", high=2.0, low=0.5)
    assert np.all(np.diff(rising) > 0) and np.all(np.diff(declining) < 0)
    assert rising[0] == pytest.approx(0.5) and rising[-1] == pytest.approx(2.0)
    assert declining[0] == pytest.approx(2.0) and declining[-1] == pytest.approx(0.5)


def test_declining_never_reaches_zero_past_the_end():
    far = Curve.make("declining", high=1.0, low=0.1).weights(np.arange(400), np.ones(400), LAST)
    assert far.min() == pytest.approx(0.05)


def test_flat_is_flat():
    assert np.ptp(weights("flat", level=0.7)) == 0 and weights("flat", level=0.7)[0] == pytest.approx(0.7)


@pytest.mark.parametrize("peak_month", [1, 7, 12])
def test_seasonal_peaks_in_its_month_every_year(peak_month):
    w = weights("seasonal", peak_month=peak_month, amplitude=0.9)
    for year in (slice(0, 52), slice(52, 104)):
        top = np.argmax(w[year]) + year.start
        distance = abs(MONTHS[top] - peak_month - 0.5)
        assert min(distance, 12 - distance) < 0.3
    assert w.min() == pytest.approx(0.1, abs=0.01) and w.max() == pytest.approx(1.9, abs=0.01)


def test_emerging_is_zero_before_its_start_then_grows():
    w = weights("emerging", start=0.5, ramp=0.4, level=1.5)
    before, after = w[T / LAST < 0.5], w[T / LAST > 0.5]
    assert np.all(before == 0)
    assert np.all(np.diff(after) >= 0) and after[-1] > 1.0


def test_fad_spikes_at_its_peak_and_returns_to_its_base():
    w = weights("fad", peak=0.5, width=0.05, height=3.0, base=0.1)
    assert abs(int(np.argmax(w)) - 51.5) <= 1
    assert w[0] == pytest.approx(0.1, abs=1e-3) and w[-1] == pytest.approx(0.1, abs=1e-3)
    assert w.max() > 3.0


@pytest.mark.parametrize(
    "peak, expected",
    [(1.08, "emerging"), (0.97, "declining"), (0.3, "stable")],
)
def test_a_fad_is_labelled_by_what_it_does_next(peak, expected):
    curve = Curve.make("fad", peak=peak, width=0.04, height=2.0, base=0.05)
    assert true_label(curve) == expected


def test_a_fad_with_a_high_base_is_rising_not_emerging():
    curve = Curve.make("fad", peak=1.08, width=0.04, height=1.0, base=0.8)
    assert true_label(curve) == "rising"


@pytest.mark.parametrize("shape, label", [("flat", "stable"), ("rising", "rising"), ("declining", "declining"),
                                          ("seasonal", "seasonal"), ("emerging", "emerging")])
def test_shapes_map_onto_the_trend_vocabulary(shape, label):
    assert true_label(Curve.make(shape)) == label


def test_shares_sum_to_one_each_period_and_keep_proportions():
    w = np.stack([weights("rising"), weights("declining"), weights("seasonal"), weights("emerging")], axis=1)
    shares = shares_from_weights(w)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares[:, 0] / shares[:, 1], w[:, 0] / w[:, 1])


def test_a_period_with_no_popular_label_is_a_scenario_error():
    with pytest.raises(ConfigError, match="period 0 has no popular label"):
        shares_from_weights(np.array([[0.0, 0.0], [1.0, 1.0]]))


def test_counts_split_each_volume_and_follow_the_shares():
    rng = np.random.default_rng(0)
    shares = np.tile([0.7, 0.2, 0.1], (50, 1))
    volumes = np.full(50, 1000)
    counts = sample_counts(shares, volumes, rng)
    assert counts.sum(axis=1).tolist() == volumes.tolist()
    np.testing.assert_allclose(counts.sum(axis=0) / counts.sum(), [0.7, 0.2, 0.1], atol=0.01)


def test_counts_are_the_same_for_the_same_seed():
    shares = shares_from_weights(np.random.default_rng(1).uniform(0.1, 1, size=(20, 4)))
    volumes = np.full(20, 30)
    a = sample_counts(shares, volumes, np.random.default_rng(5))
    b = sample_counts(shares, volumes, np.random.default_rng(5))
    c = sample_counts(shares, volumes, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_volumes_grow_as_asked():
    volumes = period_volumes(100, 50, np.random.default_rng(0), growth=0.5)
    assert volumes[0] == 100 and volumes[-1] == 150 and np.all(np.diff(volumes) >= 0)
    wobbly = period_volumes(100, 50, np.random.default_rng(0), variation=0.2)
    assert wobbly.std() > 5 and wobbly.min() >= 1


def test_noise_keeps_weights_positive_and_changes_them():
    w = np.ones((30, 3))
    noisy = add_noise(w, 0.1, np.random.default_rng(0))
    assert np.all(noisy > 0) and not np.allclose(noisy, w)
    assert add_noise(w, 0.0, np.random.default_rng(0)) is w


@pytest.mark.parametrize(
    "shape, params, message",
    [
        ("zigzag", {}, "unknown curve"),
        ("flat", {"peak_month": 3}, "has no parameter peak_month"),
        ("rising", {"low": 2, "high": 1}, "high > low"),
        ("seasonal", {"peak_month": 14}, "peak_month"),
        ("fad", {"width": 0}, "width > 0"),
        ("flat", {"level": -1}, "cannot be negative"),
    ],
)
def test_bad_curves_are_refused_with_a_clear_message(shape, params, message):
    with pytest.raises(ConfigError, match=message):
        Curve.make(shape, **params)


def test_an_emerging_label_that_settled_long_ago_is_stable_and_one_present_from_the_start_is_rising():
    settled = Curve.make("emerging", start=0.1, ramp=0.3)
    growing = Curve.make("emerging", start=0.6, ramp=0.6)
    from_start = Curve.make("emerging", start=0.0, ramp=2.0)
    assert true_label(settled) == "stable"
    assert true_label(growing) == "emerging"
    assert true_label(from_start) == "rising"


def test_a_decline_that_bottomed_out_long_ago_is_stable():
    # falls from 1 toward 0 and stops at 5 % of 1 at position 0.95: still declining at the end of the range,
    # but a range twice as long has lain at the floor for ages
    decline = Curve.make("declining", high=1.0, low=0.0)
    assert true_label(decline) == "declining"
    assert true_label(decline, end=2 * LAST) == "stable"
