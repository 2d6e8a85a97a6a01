"""The report's families section, the calls' reliability diagram, and backtest hits in the evidence."""

from __future__ import annotations

import json

import pandas as pd

from trendgan.report import write_report
from trendgan.report.calls import buyer_calls

STYLES_RUN = "styles/20240101-000000"
FORECAST_RUN = "forecasts/20240101-000100"


def add_families(store, synthetic, why: str) -> None:
    """Styles 0 and 1 in family 10 (named with the XSS bait), 2 and 3 each a family of their own."""
    folder = store.root / STYLES_RUN
    styles = pd.read_parquet(folder / "styles.parquet")
    family_of = {0: 10, 1: 10, 2: 11, 3: 12}
    styles["family"] = styles["style_id"].map(family_of)
    styles.to_parquet(folder / "styles.parquet", index=False)
    families = pd.DataFrame([
        dict(family_id=10, name=synthetic.BAIT, size=6, share=0.5, styles=[0, 1], representatives=[],
             representative_paths=styles.loc[0, "representative_paths"]),
        dict(family_id=11, name="floral midi", size=3, share=0.25, styles=[2], representatives=[],
             representative_paths=styles.loc[2, "representative_paths"]),
        dict(family_id=12, name="puffer jacket", size=3, share=0.25, styles=[3], representatives=[],
             representative_paths=styles.loc[3, "representative_paths"]),
    ])
    families.to_parquet(folder / "families.parquet", index=False)
    series = synthetic.series(60)  # a year and more, so "now vs last year" has a value
    series["unique_id"] = series["unique_id"].map(family_of)
    family_series = series.groupby(["unique_id", "ds"], as_index=False)[["y", "count", "total"]].sum()
    family_series.to_parquet(folder / "family_series.parquet", index=False)
    events = [{"event": "split", "style": 0, "new_style": 1, "why": why},
              {"event": "kept_apart", "styles_a": [2], "styles_b": [3], "why": "they move differently"}]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_families_section_lists_each_family_with_its_styles_and_their_calls(full_store, tmp_path, synthetic):
    add_families(full_store, synthetic, why=synthetic.BAIT)
    page = write_report(full_store, tmp_path / "r.html").read_text()
    section = page.split('<section id="families">', 1)[1].split("</section>", 1)[0]
    for family_id in (10, 11, 12):
        assert f'data-family-id="{family_id}"' in section
    # family 10's two styles sit under it, each with its own call (style 0 emerging -> back, style 3 declining -> cut)
    family_10 = section.split('data-family-id="10"', 1)[1].split('data-family-id="11"', 1)[0]
    assert 'data-style-id="0"' in family_10 and 'data-style-id="1"' in family_10
    assert "back" in family_10 and "emerging" in family_10
    assert "cut" in section.split('data-family-id="12"', 1)[1]
    assert "family #10, 2 styles" in section
    # "vs a year ago" is the calls' forecast-against-last-year everywhere; the families' observed change has its own name
    assert "now vs last year</th>" in section and "vs a year ago</th>" not in section
    # scraped names and the styles run's words are escaped
    assert synthetic.BAIT not in page.split("</head>", 1)[1]
    assert "style 0 split off style 1: &lt;script&gt;" in section
    assert "styles 2 kept apart from 3" in section


def test_an_older_styles_run_without_families_says_how_to_get_them(full_store, tmp_path, synthetic):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    section = page.split('<section id="families">', 1)[1].split("</section>", 1)[0]
    assert "has no families" in section and "trendgan styles" in section
    ingest_only = synthetic.build_store(tmp_path / "bare", tmp_path / "bare-images", with_styles=False,
                                        with_forecast=False, with_renders=False)
    page = write_report(ingest_only, tmp_path / "ingest-only.html").read_text()
    assert "Not run yet: no styles" in page.split('<section id="families">', 1)[1]


def test_forecast_quality_shows_the_calls_reliability_when_the_run_kept_it(full_store, tmp_path):
    page = write_report(full_store, tmp_path / "before.html").read_text()
    assert "No reliability check of the calls" in page and 'id="calls-reliability"' not in page
    calibration = pd.DataFrame([
        dict(kind="trend", bin_lo=0.0, bin_hi=0.1, calls=30, predicted=0.05, observed=0.1),
        dict(kind="trend", bin_lo=0.8, bin_hi=0.9, calls=10, predicted=0.85, observed=0.7),
        dict(kind="yoy", bin_lo=0.3, bin_hi=0.4, calls=8, predicted=0.35, observed=0.25),
    ])
    calibration.to_parquet(full_store.root / FORECAST_RUN / "calibration.parquet", index=False)
    page = write_report(full_store, tmp_path / "after.html").read_text()
    assert 'id="calls-reliability"' in page
    # 40 trend probabilities: said (30*0.05 + 10*0.85)/40 = 25 %, came true (30*0.1 + 10*0.7)/40 = 25 %
    assert "Over the 40 label probabilities given on the backtests, the calls said 25% on average and 25% came true" in page


def test_evidence_counts_the_calls_that_came_true_on_backtests(synthetic):
    labels = synthetic.labels().assign(backtest_hits=[2, 0, 1, 3], backtest_calls=[3, 0, 1, 3])
    calls = buyer_calls(labels, synthetic.series(), None, {}, 4, "W").set_index("style_id")
    assert "came true in 2 of 3 backtests" in calls.loc[0, "evidence"]
    assert "came true" not in calls.loc[1, "evidence"]  # not scored: nothing claimed
    assert (calls.loc[3, "calls_right"], calls.loc[3, "calls_scored"]) == (3, 3)


def test_a_family_of_one_style_is_one_row_with_the_styles_call(full_store, tmp_path, synthetic):
    add_families(full_store, synthetic, why="halves moved apart")
    page = write_report(full_store, tmp_path / "r.html").read_text()
    section = page.split('<section id="families">', 1)[1].split("</section>", 1)[0]
    single = section.split('data-family-id="12"', 1)[1].split("</tr>", 1)[0]
    assert 'data-style-id="3"' in single and "this style alone" in single and "cut" in single
    assert section.count('data-style-id="3"') == 1
