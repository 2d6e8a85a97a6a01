"""`trendgan run` with the real simulate, ingest and report stages on a tiny corpus (a few seconds)."""

import json

from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()

TINY = """
[simulate]
out = "{store}/corpus"
periods = 6
per_period = 4
size = 32
overwrite = true

[ingest]
paths = ["{store}/corpus"]
manifest = "{store}/corpus/manifest.csv"

[report]
out = "{store}/reports/r.html"
"""


def test_run_twice_second_time_skips_everything(tmp_path):
    pipeline = tmp_path / "tiny.toml"
    pipeline.write_text(TINY)
    store = tmp_path / "store"
    first = runner.invoke(app, ["run", str(pipeline), "--store", str(store)])
    assert first.exit_code == 0, first.output
    assert "stages: simulate" in first.output and "ingest" in first.output
    numbers = json.loads((store / "reports" / "r.json").read_text())
    assert numbers["overview"]["images"] > 0 and numbers["styles"] == []

    second = runner.invoke(app, ["run", str(pipeline), "--store", str(store)])
    assert second.exit_code == 0, second.output
    assert "simulate unchanged, ingest unchanged, report unchanged" in second.output

    third = runner.invoke(app, ["run", str(pipeline), "--store", str(store), "--set", "report.title=Weekly", "--from", "ingest"])
    assert third.exit_code == 0, third.output
    assert "simulate" not in third.output.split("stages:")[1].split(",")[0]
    assert "<title>Weekly</title>" in (store / "reports" / "r.html").read_text()


def test_run_errors_are_one_clean_line(tmp_path):
    pipeline = tmp_path / "bad.toml"
    pipeline.write_text("[ingest]\npaths = ['nowhere']\n[styles]\nkk = 3\n")
    result = runner.invoke(app, ["run", str(pipeline), "--store", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "[styles] unknown setting(s) kk" in result.output and "Traceback" not in result.output

    missing = runner.invoke(app, ["run", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 1 and "settings file not found" in missing.output

    pipeline.write_text("[ingest]\npaths = ['nowhere']\n")
    result = runner.invoke(app, ["run", str(pipeline), "--store", str(tmp_path / "s")])
    assert result.exit_code == 1 and "pipeline stage ingest:" in result.output and "does not exist" in result.output


def test_demo_with_a_bad_setting_stops_before_any_work(tmp_path):
    result = runner.invoke(app, ["demo", "--store", str(tmp_path / "demo"), "--set", "styels.k=8"])
    assert result.exit_code == 1
    assert "unknown pipeline table(s) [styels]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "demo" / "corpus").exists()
