"""`trendgan ingest` and `trendgan status` through Typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()


def test_ingest_prints_a_summary_and_escapes_file_names(pics, store):
    pics.write("insta/2023/05/[bold red]look[/].png", seed=1)
    pics.write_bytes("insta/[link=x]bad[/link].jpg", b"")
    result = runner.invoke(app, ["ingest", str(pics.root), "--store", str(store.root), "--leading-source", "insta"])
    assert result.exit_code == 0, result.output
    assert "new images" in result.output and "rejected" in result.output
    unwrapped = "".join(result.output.split())  # rich wraps long paths at the terminal width
    assert "[link=x]bad[/link].jpg" in unwrapped  # shown literally, not as rich markup
    assert "leading sources" in result.output

    again = runner.invoke(app, ["ingest", str(pics.root), "--store", str(store.root), "--quiet"])
    assert again.exit_code == 0 and again.output.strip() == ""


def test_ingest_errors_are_one_clean_line(tmp_path, store):
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing"), "--store", str(store.root)])
    assert result.exit_code == 1
    assert "error:" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_second_writer_is_refused_via_the_cli(pics, store):
    pics.write("src/a.png", seed=1)
    with store.writer("train"):
        result = runner.invoke(app, ["ingest", str(pics.root), "--store", str(store.root)])
    assert result.exit_code == 1
    assert "being written by `trendgan train`" in result.output
    assert "Traceback" not in result.output


def test_status_table_and_json(pics, store):
    pics.write("insta/2023/05/a.png", seed=1)
    pics.write("runway/b.png", seed=2)
    runner.invoke(app, ["ingest", str(pics.root), "--store", str(store.root), "-q", "--leading-source", "runway"])
    table = runner.invoke(app, ["status", "--store", str(store.root)])
    assert table.exit_code == 0, table.output
    assert "2 images" in table.output and "1 undated" in table.output and "runway" in table.output
    assert "not run: `trendgan embed`" in table.output
    as_json = runner.invoke(app, ["status", "--store", str(store.root), "--json", "--period", "week"])
    payload = json.loads(as_json.stdout)
    assert payload["images"] == 2 and payload["period"] == "week"
    assert payload["images_per_period"] == [{"period": "2023-05-01", "images": 1}]


def test_status_without_a_store(tmp_path):
    result = runner.invoke(app, ["status", "--store", str(tmp_path / "none")])
    assert result.exit_code == 1 and "run `trendgan ingest" in result.output
