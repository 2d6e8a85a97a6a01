"""Trend-aware splitting: look-alike sub-groups inside one visual cluster split only when they move differently."""

import numpy as np
import pytest

from trendgan.styles.splitting import SplitSettings, split_by_trend, time_profile_test

WEEKS = 52


def planted_cluster(curve_a, curve_b, per_week=24, seed=0, offset=0.6, dim=32):
    """One visual cluster made of two sub-groups a little apart; weekly counts follow the two curves."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=dim)
    centre /= np.linalg.norm(centre)
    axis = rng.normal(size=dim)
    axis -= axis @ centre * centre
    axis /= np.linalg.norm(axis)
    t = np.linspace(0, 1, WEEKS)
    share_a = curve_a(t) / (curve_a(t) + curve_b(t))
    group, week = [], []
    for w in range(WEEKS):
        n_a = rng.binomial(per_week, share_a[w])
        group += [0] * n_a + [1] * (per_week - n_a)
        week += [w] * per_week
    group, week = np.array(group), np.array(week)
    sign = np.where(group == 0, 1.0, -1.0)[:, None]
    vectors = centre + 0.12 * offset * sign * axis + 0.12 * rng.normal(size=(len(group), dim)) / np.sqrt(dim)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), group, week


def rising(t):
    return 0.2 + t


def declining(t):
    return 1.2 - t


def flat(t):
    return np.ones_like(t)


def test_opposite_trends_inside_one_cluster_split_along_the_sub_groups():
    vectors, group, week = planted_cluster(rising, declining)
    result = split_by_trend(vectors, np.zeros(len(group), dtype=int), week)
    assert len(np.unique(result.labels)) == 2
    # each new style is (almost) one sub-group
    for style in np.unique(result.labels):
        purity = np.bincount(group[result.labels == style]).max() / (result.labels == style).sum()
        assert purity > 0.9
    (event,) = result.events
    assert event["event"] == "split" and event["p_value"] < 1e-6 and "spread over time differently" in event["why"]
    assert event["style"] == 0 and event["new_style"] == 1 and sum(event["sizes"]) == len(group)


@pytest.mark.parametrize("seed", range(5))
def test_sub_groups_with_the_same_trend_stay_one_style(seed):
    vectors, group, week = planted_cluster(rising, rising, seed=seed)
    result = split_by_trend(vectors, np.zeros(len(group), dtype=int), week)
    assert len(np.unique(result.labels)) == 1 and result.events == []


def test_a_seasonal_sub_group_beside_a_flat_one_splits():
    vectors, group, week = planted_cluster(lambda t: 1 + 0.8 * np.sin(2 * np.pi * t), flat, per_week=30, seed=3)
    result = split_by_trend(vectors, np.zeros(len(group), dtype=int), week)
    assert len(np.unique(result.labels)) == 2


def test_undated_images_and_small_styles_are_left_alone():
    vectors, group, week = planted_cluster(rising, declining)
    undated = split_by_trend(vectors, np.zeros(len(group), dtype=int), np.full(len(group), -1))
    assert undated.events == []
    small = split_by_trend(vectors[:60], np.zeros(60, dtype=int), week[:60], SplitSettings(min_size=40))
    assert small.events == []


def test_time_test_is_calibrated_and_has_power_against_smooth_changes():
    rng = np.random.default_rng(0)
    totals = rng.poisson(4, size=104)
    p_values = []
    for _ in range(300):
        a = rng.binomial(totals, 0.3)
        p_values.append(time_profile_test(a, totals - a).p_value)
    # the same time profile: p-values spread evenly, about 5 % of them below 0.05
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.09
    # a riser beside a decliner: their pair share drifting from 0.3 to 0.7 over two years, ~4 images a week
    drift = np.linspace(0.3, 0.7, 104)
    found = [time_profile_test(a := rng.binomial(totals, drift), totals - a).p_value < 0.01 for _ in range(100)]
    assert np.mean(found) > 0.9
    # a yearly swing of the same size, also found
    swing = 0.5 + 0.1 * np.sin(2 * np.pi * np.arange(104) / 52)
    a = rng.binomial(totals * 3, swing)
    assert time_profile_test(a, totals * 3 - a).p_value < 1e-3
