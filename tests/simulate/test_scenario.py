"""Scenario files: the shipped examples load, dates and periods line up, mistakes get clear messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trendgan.errors import ConfigError
from trendgan.simulate.scenario import (
    DEMO_SCENARIO,
    load_scenario,
    month_of_year,
    period_index,
    period_starts,
    snap_to_period,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "pipelines" / "scenarios"


def test_the_demo_file_is_the_built_in_demo():
    assert load_scenario(SCENARIOS / "garments-demo.toml").as_dict() == load_scenario(None).as_dict()


@pytest.mark.parametrize("name", ["garments-demo", "fashion-mnist", "catalogue"])
def test_shipped_scenarios_load(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.labels and scenario.periods > 50
    assert {label.curve_shape for label in scenario.labels} >= {"flat", "rising", "declining", "seasonal", "emerging"}


def test_the_demo_has_every_kind_of_trend():
    from trendgan.simulate import plan_corpus

    plan = plan_corpus(load_scenario(None, per_period=5), seed=0)
    assert set(plan.trends) >= {"emerging", "rising", "stable", "seasonal", "declining"}
    truth = dict(zip(plan.label_names, plan.trends))
    # the fad peaked ten weeks before the end: near zero a year ago, but falling now
    assert truth["pink dotted skirt"] == "declining" and truth["green solid sneaker"] == "emerging"


def test_the_truth_sees_no_season_in_less_than_two_seasons_of_history():
    from trendgan.simulate import plan_corpus

    plan = plan_corpus(load_scenario(None, periods=30, per_period=5), seed=0)
    assert "seasonal" not in plan.trends  # the truth uses the forecast's rule, which cannot see a season in 30 weeks
    assert "declining" in plan.trends


def test_photo_set_paths_are_read_from_the_scenario_folder():
    scenario = load_scenario(SCENARIOS / "fashion-mnist.toml")
    assert scenario.images.path == (SCENARIOS / "../../../shared/data/fashion-mnist").resolve()
    assert scenario.size == 56


def test_overrides_replace_settings_and_periods_replace_an_end_date():
    table = dict(DEMO_SCENARIO, end="2024-12-30")
    table.pop("periods")
    assert load_scenario(table).periods == 53
    scenario = load_scenario(table, periods=10, per_period=7, start="2023-05-10", size=96)
    assert (scenario.periods, scenario.per_period, scenario.size) == (10, 7, 96)
    assert scenario.start == dt.date(2023, 5, 8)  # the Monday of that week


def test_dates_in_curves_become_positions():
    table = {
        "start": "2024-01-01", "periods": 101, "period": "W",
        "labels": {"red tee": {"curve": "flat"}, "blue bag": {"curve": "fad", "peak": "2024-12-30", "width": 5}},
    }
    fad = load_scenario(table).curves()[1]
    assert fad.params["peak"] == pytest.approx(52 / 100)
    assert fad.params["width"] == pytest.approx(5 / 100)


def test_weeks_start_on_monday_and_months_on_the_first():
    assert snap_to_period(dt.date(2024, 1, 4), "W") == dt.date(2024, 1, 1)
    assert snap_to_period(dt.date(2024, 3, 17), "M") == dt.date(2024, 3, 1)
    assert period_starts(dt.date(2023, 11, 1), "M", 3) == [dt.date(2023, 11, 1), dt.date(2023, 12, 1), dt.date(2024, 1, 1)]
    assert period_index(dt.date(2024, 1, 1), "M", dt.date(2024, 3, 16)) == pytest.approx(2 + 15 / 31)
    assert month_of_year(dt.date(2024, 6, 30), 3) == pytest.approx(7 + 2 / 31)


def test_sources_default_to_a_leading_influencer_feed_and_weights_are_normalised():
    scenario = load_scenario({"start": "2024-01-01", "periods": 5, "labels": {"red tee": {"curve": "flat"}},
                              "sources": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1, "lead": 2}]})
    assert [(s.name, s.weight, s.leading) for s in scenario.sources] == [("a", 0.75, False), ("b", 0.25, True)]
    default = load_scenario({"start": "2024-01-01", "periods": 5, "labels": {"red tee": {"curve": "flat"}}})
    assert [s.name for s in default.sources if s.leading] == ["influencers"]


BASE = {"start": "2024-01-01", "periods": 10, "labels": {"red tee": {"curve": "flat"}}}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": "red"}, "unknown scenario setting"),
        ({"period": "Q"}, "is not one of W"),
        ({"start": "next tuesday"}, "is not a date"),
        ({"periods": 1}, "at least 2"),
        ({"per_period": 2.5}, "whole number"),
        ({"labels": {}}, "lists no labels"),
        ({"labels": {"red tee": {"level": 1}}}, "needs a curve"),
        ({"labels": {"red tee": {"curve": "wavy"}}}, "is not one of"),
        ({"labels": {"red tee": {"curve": "flat", "peak": 3}}}, r"\[labels.red tee\].*no parameter peak"),
        ({"labels": {"teal velvet gown": {"curve": "flat"}}}, "cannot place the word"),
        ({"images": {"kind": "fashion-mnist"}}, "needs path"),
        ({"images": {"kind": "photos"}}, "is not one of garments"),
        ({"sources": [{"name": "a/b"}]}, "becomes a folder name"),
        ({"sources": [{"name": "a"}, {"name": "a"}]}, "must be unique"),
        ({"size": 8}, "too small"),
    ],
)
def test_mistakes_in_a_scenario_name_the_setting(change, message):
    with pytest.raises(ConfigError, match=message):
        load_scenario({**BASE, **change})


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_scenario(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("start = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(broken)
