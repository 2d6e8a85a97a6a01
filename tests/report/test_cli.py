import json

from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()


def test_report_command_writes_the_page_and_prints_its_path(full_store, tmp_path):
    out = tmp_path / "reports" / "weekly.html"
    result = runner.invoke(app, ["report", "--store", str(full_store.root), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert out.exists() and json.loads(out.with_suffix(".json").read_text())["overview"]["images"] == 12
    assert out.with_suffix(".csv").exists()


def test_report_command_default_goes_into_the_store(ingest_only_store):
    result = runner.invoke(app, ["report", "--store", str(ingest_only_store.root)])
    assert result.exit_code == 0, result.output
    assert (ingest_only_store.root / "reports" / "trend-report.html").exists()


def test_report_to_an_unwritable_place_is_one_clean_line(full_store, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = runner.invoke(app, ["report", "--store", str(full_store.root), "--out", str(tmp_path / "a-file" / "r.html")])
    assert result.exit_code == 1
    assert "cannot write the report" in result.output and "Traceback" not in result.output
