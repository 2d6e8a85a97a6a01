"""One number per style everywhere, each style in its garment's colour: a small demo store read in a real browser.

The store is the demo's eight simulated garments (64 px as in the demo, 40 weeks), ingested with their captions, clustered into
styles and named by the real stages, forecast by `trendgan forecast` and reported by `trendgan report`. Only the
image vectors are stood in for (the true label plus noise, instead of minutes of CNN on the CPU), so the styles are
the simulated ones and their colours and names can be checked against what was drawn.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trendgan.cli.app import app

pytestmark = pytest.mark.browser
runner = CliRunner()
GARMENT_WORDS = {"tee": "tee", "trousers": "trousers", "dress": "dress", "coat": "coat", "sneaker": "sneakers",
                 "bag": "bag", "skirt": "skirt", "shorts": "shorts"}
COLOUR_TOLERANCE = 25.0  # CIE76 Delta E between the chart's colour and the colour the garment was drawn in


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from trendgan.embed.vectors import write_encoder_info, write_part
    from trendgan.ingest import ingest
    from trendgan.simulate import simulate
    from trendgan.store import Store, encoder_slug, utcnow
    from trendgan.styles import find_styles

    root = tmp_path_factory.mktemp("demo")
    corpus = simulate(root / "corpus", seed=0, periods=40, per_period=12, size=64)  # the demo's size
    store = Store(root / "store")
    ingest([corpus.out], store=store, manifest=corpus.manifest, leading_sources=["influencers"],
           near_duplicate_distance=-1)
    labels = {str((corpus.out / row["path"]).resolve()): row["label"]
              for row in csv.DictReader(corpus.labels_csv.open())}
    names = sorted(set(labels.values()))
    with store.catalog(read_only=True) as db:
        images = db.execute("SELECT image_id, path FROM images").fetchall()
    rng = np.random.default_rng(0)
    vectors = np.stack([np.eye(len(names))[names.index(labels[str(Path(path).resolve())])] for _, path in images])
    vectors = vectors + rng.normal(0, 0.05, vectors.shape)
    folder = store.root / "embeddings" / encoder_slug("oracle")
    folder.mkdir(parents=True)
    write_part(folder, "part-00000.parquet", [i for i, _ in images], vectors)
    write_encoder_info(folder, {"key": "oracle", "dim": len(names)}, started_at=utcnow(), finished_at=utcnow())
    find_styles(store, k=len(names), map_method="pca", seed=0)
    forecast = runner.invoke(app, ["forecast", "--store", str(store.root), "--horizon", "8", "--backtest-windows", "2"])
    assert forecast.exit_code == 0, forecast.output
    return store, corpus, labels, forecast.stdout


def test_each_style_has_one_number_in_summary_leaderboard_chart_and_cli_and_its_garment_colour(demo_store, chromium,
                                                                                               tmp_path):
    from trendgan.report.colours import delta_e
    from trendgan.simulate.garments import PALETTE, parse_style
    from trendgan.styles import load_styles

    store, corpus, labels, forecast_stdout = demo_store
    report = runner.invoke(app, ["report", "--store", str(store.root), "--out", str(tmp_path / "report.html")])
    assert report.exit_code == 0, report.output
    cli = _cli_changes(forecast_stdout)
    assert cli and cli == _cli_changes(report.stdout)  # forecast and report print the same calls

    styles = load_styles(store).styles
    truth = _true_label_of_each_style(store, labels)
    with chromium(tmp_path / "report.html") as page:
        summary = page.evaluate("""[...document.querySelectorAll('#calls tr[data-style-id]')].map(r =>
            [r.dataset.styleId, r.dataset.action, r.querySelector('.expected-change').textContent])""")
        boards = page.evaluate("""[...document.querySelectorAll('#leaderboards tr[data-style-id]')].map(r =>
            [r.dataset.styleId, r.querySelector('.expected-change').textContent])""")
        titles = page.evaluate("document.getElementById('style-panels').layout.annotations.map(a => a.text)")
        traces = page.evaluate("""document.getElementById('trend-chart').data.map(t =>
            [t.legendgroup, t.line.color])""")
        panel_traces = page.evaluate("""document.getElementById('style-panels').data.map(t =>
            [t.legendgroup, t.line.color || t.fillcolor])""")
        headline = page.locator("#summary .headline").inner_text()

    assert headline.startswith("For the next 8 weeks")
    in_summary = {int(s): change for s, _, change in summary}
    assert set(in_summary) == set(styles["style_id"]) and len(summary) == len(styles)
    assert {int(s): c for s, c in boards} == in_summary  # every style is on one leaderboard, with the same number
    in_titles = {int(re.search(r"#(\d+)<br>", t).group(1)): re.search(r"expected ([+-]\d+%)", t).group(1) for t in titles}
    assert in_titles == in_summary
    assert cli == in_summary

    colour_of = {int(group.split("-")[1]): colour for group, colour in traces}
    for style_id, label in truth.items():
        drawn = "#%02x%02x%02x" % PALETTE[parse_style(label).colour]
        assert delta_e(colour_of[style_id], drawn) <= COLOUR_TOLERANCE, (label, colour_of[style_id], drawn)
    assert {int(g.split("-")[1]) for g, _ in panel_traces} == set(colour_of)
    for group, colour in panel_traces:
        if colour.startswith("#"):
            assert colour == colour_of[int(group.split("-")[1])]

    # The names come from the posts' words and the garments' pixels: each names its garment.
    named = dict(zip(styles["style_id"], styles["name"]))
    for style_id, label in truth.items():
        assert GARMENT_WORDS[parse_style(label).garment] in named[style_id], (label, named[style_id])


def _cli_changes(output: str) -> dict:
    """style id -> expected change, from the CLI's calls table (call, style, name, trend, expected change, ...)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"\s*(back|hold|cut)\s+(\d+)\s+.*?\s(emerging|rising|stable|seasonal|declining)\s+([+-]\d+%)", line)
        if match:
            found[int(match.group(2))] = match.group(4)
    return found


def _true_label_of_each_style(store, labels) -> dict:
    from trendgan.styles import load_styles

    run = load_styles(store)
    with store.catalog(read_only=True) as db:
        paths = dict(db.execute("SELECT image_id, path FROM images").fetchall())
    assigned = run.assignments
    assigned = assigned.assign(label=[labels[str(Path(paths[i]).resolve())] for i in assigned["image_id"]])
    return {int(s): group["label"].mode().iloc[0] for s, group in assigned.groupby("style_id") if s >= 0}


def test_the_cli_prints_the_numbers_of_the_report_json(demo_store, tmp_path):
    store = demo_store[0]
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", "--store", str(store.root), "--out", str(out), "--quiet"]).exit_code == 0
    numbers = json.loads(out.with_suffix(".json").read_text())
    from trendgan.report.calls import fmt_change

    printed = _cli_changes(runner.invoke(app, ["report", "--store", str(store.root), "--out", str(out)]).stdout)
    assert printed == {s["style_id"]: fmt_change(s["expected_change"]) for s in numbers["styles"]}
