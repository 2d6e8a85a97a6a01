import numpy as np
import pandas as pd
import pytest

from trendgan.styles import engagement_weights, period_start, style_drift, style_series


def frame(rows):
    return pd.DataFrame(rows, columns=["style_id", "period", "leading_source"]).assign(
        period=lambda f: pd.to_datetime(f["period"]))


def test_weeks_start_on_monday_and_months_on_the_first():
    stamps = pd.Series(pd.to_datetime(["2024-01-03 10:00", "2024-01-07 23:59", "2024-01-08 00:00", None]))
    weeks = period_start(stamps, "W")
    assert weeks[:3].tolist() == [pd.Timestamp("2024-01-01")] * 2 + [pd.Timestamp("2024-01-08")]
    assert pd.isna(weeks[3])
    assert period_start(stamps, "M")[0] == pd.Timestamp("2024-01-01")
    assert period_start(pd.Series(pd.to_datetime(["2024-05-20"])), "Q")[0] == pd.Timestamp("2024-04-01")


def test_shares_sum_to_one_per_period_and_undated_and_noise_are_left_out():
    rows = [(0, "2024-01-01", False)] * 3 + [(1, "2024-01-01", False)] + [(1, "2024-01-08", False)] * 2 \
        + [(0, None, False)] * 5 + [(-1, "2024-01-01", False)] * 4
    series = style_series(frame(rows), "W", min_images_per_period=3)
    assert series.groupby("ds")["y"].sum().tolist() == pytest.approx([1.0, 1.0])
    first = series[series["ds"] == "2024-01-01"].set_index("unique_id")
    assert first.loc[0, "y"] == pytest.approx(0.75) and first.loc[0, "count"] == 3 and first.loc[0, "total"] == 4
    second = series[series["ds"] == "2024-01-08"].set_index("unique_id")
    assert second.loc[0, "y"] == 0 and second.loc[0, "count"] == 0 and second["low_volume"].all()
    assert not first["low_volume"].any()


def test_empty_weeks_keep_their_rows_so_the_frequency_is_regular():
    series = style_series(frame([(0, "2024-01-01", False), (0, "2024-01-22", False)]), "W")
    assert series["ds"].tolist() == list(pd.date_range("2024-01-01", periods=4, freq="7D"))
    assert series["total"].tolist() == [1, 0, 0, 1]
    assert series["y"].isna().tolist() == [False, True, True, False]


def test_engagement_weighting_uses_log1p_of_likes():
    rows = [(0, "2024-01-01", False), (1, "2024-01-01", False)]
    weights = engagement_weights([np.e ** 3 - 1, np.e - 1])  # log1p -> 3 and 1
    series = style_series(frame(rows), "W", weights=weights).set_index("unique_id")
    assert series.loc[0, "y"] == pytest.approx(0.75) and series.loc[1, "y"] == pytest.approx(0.25)
    assert series["count"].tolist() == [1, 1]  # counts stay image counts


def test_missing_likes_count_as_a_typical_post():
    np.testing.assert_allclose(engagement_weights([10, None, 30], how="raw"), [10, 20, 30])


def test_leading_signal_is_the_share_among_leading_sources():
    rows = [(0, "2024-01-01", True), (0, "2024-01-01", True), (1, "2024-01-01", True), (1, "2024-01-01", False),
            (1, "2024-01-01", False), (0, "2024-01-08", False)]
    series = style_series(frame(rows), "W").set_index(["unique_id", "ds"])
    assert series.loc[(0, pd.Timestamp("2024-01-01")), "y_leading"] == pytest.approx(2 / 3)
    assert series.loc[(1, pd.Timestamp("2024-01-01")), "y_leading"] == pytest.approx(1 / 3)
    assert series.loc[(0, pd.Timestamp("2024-01-01")), "y"] == pytest.approx(2 / 5)
    assert np.isnan(series.loc[(0, pd.Timestamp("2024-01-08")), "y_leading"])  # no leading images that week


def test_drift_follows_each_styles_centroid_per_period():
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8], [0, 1]], dtype=np.float32)
    styles = np.array([0, 0, 0, 0, -1])
    periods = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08", "2024-01-08"])
    drift = style_drift(vectors, styles, periods)
    assert drift["count"].tolist() == [2, 2]
    np.testing.assert_allclose(drift["centroid"][0], [1, 0], atol=1e-6)
    expected = np.array([0.6, 1.8]) / np.linalg.norm([0.6, 1.8])
    np.testing.assert_allclose(drift["centroid"][1], expected, atol=1e-6)
