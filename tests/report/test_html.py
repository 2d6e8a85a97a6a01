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
    for section in ("overview", "trends", "leaderboards", "map", "designs", "quality", "data"):
        assert f'<section id="{section}">' in page
    assert "Not run yet" not in page
    assert page.count("Plotly.newPlot") == 6  # trend chart, top movers, map, backtests, rejects, period volume
    after_plotlyjs = page.split("</script>", 1)[1]
    assert page.count("<script") == 7  # plotly.js once, then one small script per figure
    assert "<script src" not in page and "https://" not in after_plotlyjs  # nothing is fetched from the network

    numbers = json.loads(out.with_suffix(".json").read_text())
    assert numbers["overview"]["images"] == 12 and numbers["overview"]["undated"] == 4
    assert numbers["overview"]["rejects"] == 2 and numbers["overview"]["exact_duplicates"] == 1
    assert numbers["overview"]["encoder"] == "effnet-lite0"
    assert {s["style_id"]: s["trend"] for s in numbers["styles"]} == {0: "emerging", 1: "rising", 2: "stable", 3: "declining"}
    assert numbers["backtest_quality"][0]["model"] == "best"
    assert numbers["data_quality"]["low_volume_periods"] == ["2024-01-01"]

    table = pd.read_csv(out.with_suffix(".csv"))
    assert len(table) == 4 * 4 and set(table["model"]) == {"best"}
    assert table.loc[table.style_id == 3, "trend"].iloc[0] == "declining"


def test_scraped_text_is_escaped_everywhere(full_store, tmp_path, synthetic):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    body = page.split("</head>", 1)[1]
    assert synthetic.BAIT not in body  # neither in the tables nor in the figures' JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_leaderboards_show_real_thumbnails_and_renders(full_store, tmp_path):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    board = page.split('<section id="leaderboards">', 1)[1].split("</section>", 1)[0]
    assert "wide-leg denim" in board and "puffer jacket" in board
    assert "floral midi" not in board  # stable styles are on no leaderboard
    assert board.count('class="thumbs"><img') == 3
    assert board.count("data:image/jpeg;base64,") == 3 * 3 + 3 * 2  # 3 real images and 2 renders per style
    assert re.search(r'class="up">\+80%', board) and re.search(r'class="down">-50%', board)


def test_report_after_ingest_only_says_what_to_run(ingest_only_store, tmp_path):
    page = write_report(ingest_only_store, tmp_path / "r.html").read_text()
    assert page.count("Not run yet") == 5  # trends, leaderboards, map, designs, forecast quality
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


def test_designs_section_shows_the_latest_restyle(full_store, tmp_path):
    page = write_report(full_store, tmp_path / "r.html").read_text()
    designs = page.split('<section id="designs">', 1)[1].split("</section>", 1)[0]
    assert "restyle" in designs and designs.count("data:image/jpeg;base64,") == 1
    assert "toward: &lt;script&gt;" in designs


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
    assert re.search(r'class="down">-35%</td><td class="up">\+400%', declining)
    table = pd.read_csv(tmp_path / "r.csv")
    assert table.loc[table.style_id == 3, "change_recent"].iloc[0] == pytest.approx(-0.35)
