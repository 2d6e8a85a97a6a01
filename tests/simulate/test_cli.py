"""`trendgan simulate` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()
SCENARIOS = Path(__file__).resolve().parents[2] / "pipelines" / "scenarios"


def test_simulate_writes_a_corpus_and_prints_its_folder(tmp_path):
    out = tmp_path / "corpus"
    result = runner.invoke(app, ["simulate", str(out), "--periods", "5", "--per-period", "6", "--size", "32",
                                 "--seed", "7", "--start", "2024-02-07", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 7 and truth["periods"] == 5 and truth["start"] == "2024-02-05"
    assert len(list(out.rglob("*.png"))) == truth["images"] > 0


def test_simulate_summarises_labels_and_trends(tmp_path):
    result = runner.invoke(app, ["simulate", str(tmp_path / "c"), "--periods", "3", "--per-period", "4", "--size", "16"])
    assert result.exit_code == 0, result.output
    assert "green solid sneaker" in result.output and "emerging" in result.output
    assert "trendgan ingest" in result.output and "--leading-source influencers" in result.output


def test_simulate_takes_a_scenario_file(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text(
        'name = "two"\nstart = 2024-01-01\nperiods = 4\nper_period = 5\nsize = 24\n'
        '[labels."red striped tee"]\ncurve = "rising"\n[labels."blue bag"]\ncurve = "flat"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["simulate", str(tmp_path / "c"), "--scenario", str(scenario), "-q"])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "c" / "truth.json").read_text(encoding="utf-8"))
    assert truth["scenario"] == "two" and set(truth["labels"]) == {"red striped tee", "blue bag"}


def test_user_mistakes_are_one_line_errors_with_exit_code_1(tmp_path):
    out = tmp_path / "c"
    assert runner.invoke(app, ["simulate", str(out), "--periods", "3", "--per-period", "2", "--size", "16", "-q"]).exit_code == 0
    again = runner.invoke(app, ["simulate", str(out), "--periods", "3", "--per-period", "2", "--size", "16", "-q"])
    assert again.exit_code == 1 and "--overwrite" in again.output and "Traceback" not in again.output
    missing = runner.invoke(app, ["simulate", str(tmp_path / "d"), "--scenario", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 1 and "not found" in missing.output
    bad_date = runner.invoke(app, ["simulate", str(tmp_path / "e"), "--start", "yesterday"])
    assert bad_date.exit_code == 1 and "YYYY-MM-DD" in bad_date.output
    garments_with_data = runner.invoke(app, ["simulate", str(tmp_path / "f"), "--data", str(tmp_path)])
    assert garments_with_data.exit_code == 1 and "draws garments" in garments_with_data.output
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()


def test_overwrite_replaces_an_earlier_corpus(tmp_path):
    out = tmp_path / "c"
    base = ["simulate", str(out), "--periods", "3", "--per-period", "2", "--size", "16", "-q"]
    assert runner.invoke(app, base).exit_code == 0
    result = runner.invoke(app, [*base, "--seed", "2", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "truth.json").read_text(encoding="utf-8"))["seed"] == 2


def test_help_lists_the_options():
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    for option in ("--scenario", "--seed", "--size", "--periods", "--per-period", "--start", "--data", "--overwrite"):
        assert option in result.output
