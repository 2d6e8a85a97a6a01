import json
import re

import pandas as pd
import pytest

from trendgan.report import write_report, thumbnail_data_uri
from trendgan.store import Store


def test_full_report_writes_html_json_and_csv(full_store, tmp_path):
    out = write_report(full_store, tmp_path / "out" / "spring.html")
    assert out == tmp_path / "out" / "spring.html"
    page = out.read_text()
    for section in ("summary", "overview", "trends", "leaderboards", "map", "designs", "quality", "data", "glossary"):
        assert f'<section id="{section}">' in page
    assert page.index('<section id="summary">') < page.index('<section id="overview">')  # the page opens with the calls
    assert "Not run yet" not in page
    assert page.count("Plotly.newPlot") == 6  # overview chart, style panels, map, backtests, rejects, period volume
    after_plotlyjs = page.split("</script>", 1)[1]
    assert page.count("<script") == 7  # plotly.js once, then one small script per figure
    assert "<script src" not in page and "https://" not in after_plotlyjs  # nothing is fetched from the network

    numbers = json.loads(out.with_suffix(".json").read_text())
    assert numbers["overview"]["images"] == 12 and numbers["overview"]["undated"] == 4
    assert numbers["overview"]["rejects"] == 2 and numbers["overview"]["exact_duplicates"] == 1
    assert numbers["overview"]["encoder"] == "effnet-lite0"
    assert {s["style_id"]: s["trend"] for s in numbers["styles"]} == {0: "emerging", 1: "rising", 2: "stable", 3: "declining"}
    assert {s["style_id"]: s["action"] for s in numbers["styles"]} == {0: "back", 1: "back", 2: "hold", 3: "cut"}
    assert numbers["horizon"] == 4 and numbers["period"] == "W"
    assert not {"change", "change_recent", "confidence"} & set(numbers["styles"][0])  # one name per number
    assert numbers["backtest_quality"][0]["model"] == "best"
    assert numbers["data_quality"]["low_volume_periods"] == ["2024-01-01"]

    table = pd.read_csv(out.with_suffix(".csv"))
    assert len(table) == 4 * 4 and set(table["model"]) == {"best"}
    assert table.loc[table.style_id == 3, "trend"].iloc[0] == "declining"
    assert table.loc[table.style_id == 3, "action"].iloc[0] == "cut"
    assert {"expected_change", "chance", "vs_year_ago"} <= set(table.columns)


def test_scraped_text_is_escaped_everywhere(full_store, tmp_path, synthetic):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    body = page.split("</head>", 1)[1]
    assert synthetic.BAIT not in body  # neither in the tables nor in the figures' JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_leaderboards_show_real_thumbnails_and_renders(full_store, tmp_path):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    board = page.split('<section id="leaderboards">', 1)[1].split("</section>", 1)[0]
    assert "wide-leg denim" in board and "puffer jacket" in board
    held = board.split('id="board-seasonal-stable"', 1)[1]
    assert "floral midi" in held and "wide-leg denim" not in held  # stable styles have their own board
    assert board.count('class="thumbs"><img') == 4
    assert board.count("data:image/jpeg;base64,") == 4 * 3 + 4 * 2  # 3 real images and 2 renders per style
    assert re.search(r'class="expected-change up">\+80%', board) and re.search(r'class="expected-change down">-50%', board)


def test_a_style_without_a_render_says_which_command_draws_it(full_store, tmp_path):
    index_path = next((full_store.root / "renders").glob("*/index.json"))
    index = [entry for entry in json.loads(index_path.read_text()) if entry["style_id"] != 2]  # the stable one
    index_path.write_text(json.dumps(index))
    page = write_report(full_store, tmp_path / "r.html").read_text()
    board = page.split('<section id="leaderboards">', 1)[1].split("</section>", 1)[0]
    held = board.split('id="board-seasonal-stable"', 1)[1]
    assert "not rendered: <code>trendgan render --trend all --top 4</code> draws every style" in held
    assert "not rendered" not in board.split('id="board-seasonal-stable"', 1)[0]  # the others keep their renders


def test_summary_says_back_hold_or_cut_for_the_stated_horizon_with_one_number_each(full_store, tmp_path):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "For the next 4 weeks" in summary and "<b>back 2</b>, <b>hold 1</b>, <b>cut 1</b>" in summary
    rows = re.findall(r'<tr data-style-id="(\d+)" data-action="(\w+)">.*?class="num expected-change \w+">([^<]+)</td>'
                      r'<td class="num chance">([^<]+)</td><td class="evidence">([^<]+)</td>', summary)
    assert [(r[0], r[1], r[2]) for r in rows] == [("0", "back", "+80%"), ("1", "back", "+30%"), ("2", "hold", "+1%"),
                                                  ("3", "cut", "-50%")]
    assert all(r[3] == "70%" for r in rows)  # the labels' confidence, named as such (no probabilities here)
    assert "<th class=\"num\">confidence</th>" in summary
    assert "Share" in rows[0][4] and "over the next 4 weeks" in rows[0][4] and "backtests" in rows[0][4]
    assert "How a call is made" in summary and 'href="#glossary"' in summary


def test_summary_uses_the_trend_call_probability_when_the_forecast_has_one(full_store, tmp_path):
    run = full_store.run_dir("forecasts")
    labels = pd.read_parquet(run / "labels.parquet")
    probabilities = {"emerging": 0.1, "rising": 0.1, "stable": 0.1, "seasonal": 0.1, "declining": 0.1}
    for trend in probabilities:
        labels[f"p_{trend}"] = 0.15
    for i, trend in enumerate(labels["trend"]):
        labels.loc[i, f"p_{trend}"] = 0.4
    labels["confidence"] = 0.4
    labels.to_parquet(run / "labels.parquet", index=False)
    page = write_report(full_store, tmp_path / "r.html").read_text()
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert "chance the call is right" in summary and summary.count('class="num chance">40%') == 4
    numbers = json.loads((tmp_path / "r.json").read_text())
    assert {s["chance_kind"] for s in numbers["styles"]} == {"probability"}
    assert numbers["styles"][0]["p_emerging"] == pytest.approx(0.4)


def test_report_after_ingest_only_says_what_to_run(ingest_only_store, tmp_path):
    page = write_report(ingest_only_store, tmp_path / "r.html").read_text()
    assert page.count("Not run yet") == 7  # summary, trends, leaderboards, families, map, designs, forecast quality
    assert "trendgan styles" in page and "trendgan forecast" in page
    numbers = json.loads((tmp_path / "r.json").read_text())
    assert numbers["styles"] == [] and numbers["forecast"] is None


def test_report_on_an_empty_folder_still_writes_a_page(tmp_path):
    out = write_report(Store(tmp_path / "nothing"))
    assert out == tmp_path / "nothing" / "reports" / "trend-report.html"
    assert "trendgan ingest PATH" in out.read_text()


def test_out_folder_gets_the_default_file_name(full_store, tmp_path):
    (tmp_path / "reports").mkdir()
    assert write_report(full_store, tmp_path / "reports") == tmp_path / "reports" / "trend-report.html"


def test_thumbnails_are_small_jpegs(tmp_path):
    import base64
    import io

    from PIL import Image

    Image.new("RGB", (800, 400), "red").save(tmp_path / "big.png")
    uri = thumbnail_data_uri(tmp_path / "big.png")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.format == "JPEG" and max(image.size) == 96
    assert thumbnail_data_uri(tmp_path / "missing.png") is None
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert thumbnail_data_uri(tmp_path / "junk.png") is None


def test_designs_section_shows_input_target_and_strength_beside_each_output(full_store, tmp_path):
    from PIL import Image

    folder = full_store.run_dir("designs")
    Image.new("RGB", (64, 64), "olive").save(folder / "garment.png")
    Image.new("RGB", (64, 64), "navy").save(folder / "restyle-2.png")
    (folder / "index.json").write_text(json.dumps({
        "kind": "restyle", "inputs": {"garment": "/photos/my-coat.jpg", "garment_file": "garment.png"},
        "targets": [{"kind": "style", "label": "<script>alert(1)</script>", "style_id": 2}],
        "files": [{"file": "design-1.png", "strength": 0.4, "cos_target": 0.61},
                  {"file": "restyle-2.png", "strength": 0.8, "cos_target": 0.83}]}))
    page = write_report(full_store, tmp_path / "r.html").read_text()
    designs = page.split('<section id="designs">', 1)[1].split("</section>", 1)[0]
    rows = designs.split('<div class="design"')[1:]
    assert [re.search(r'data-strength="([^"]*)"', row).group(1) for row in rows] == ["0.4", "0.8"]
    for row, score in zip(rows, ("0.61", "0.83")):
        assert "input: my-coat.jpg" in row and "strength 0." in row and f"like target {score}" in row
        assert "target style: &lt;script&gt;" in row  # the target style shown by one of its real images, escaped
        assert row.count("data:image/jpeg;base64,") == 3  # input, target, output


def test_a_fading_fad_reads_as_a_fall_from_now_beside_its_rise_over_a_year(full_store, tmp_path):
    # A fad that spiked this year is declining from where it is now, yet far above last year: the leaderboard
    # leads with the move the label is about and shows the year-on-year change beside it.
    run = full_store.run_dir("forecasts")
    labels = pd.read_parquet(run / "labels.parquet")
    labels.loc[labels.unique_id == 3, ["change", "change_recent"]] = [4.0, -0.35]
    labels.loc[labels.unique_id != 3, "change_recent"] = labels.loc[labels.unique_id != 3, "change"]
    labels.to_parquet(run / "labels.parquet", index=False)

    page = write_report(full_store, tmp_path / "r.html").read_text()
    declining = page.split("Declining styles", 1)[1].split("</table>", 1)[0]
    assert re.search(r'class="expected-change down">-35%</td><td class="up">\+400%', declining)
    table = pd.read_csv(tmp_path / "r.csv")
    assert table.loc[table.style_id == 3, "expected_change"].iloc[0] == pytest.approx(-0.35)
    assert table.loc[table.style_id == 3, "vs_year_ago"].iloc[0] == pytest.approx(4.0)
