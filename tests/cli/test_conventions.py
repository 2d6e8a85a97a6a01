"""What every command does the same way (issue 14, point 4): periods, --version, --quiet, progress when piped, no
wrapping when piped, clean help, one device default, adjusted settings said out loud, and a status that finds stores."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from trendgan.periods import parse_period, period
from trendgan.cli.app import app
from trendgan.errors import ConfigError

runner = CliRunner()


def commands():
    group = typer.main.get_command(app)
    return {name: group.get_command(None, name) for name in group.list_commands(None)}


def option(command, name):
    return next((p for p in command.params if name in getattr(p, "opts", [])), None)


# ---------------------------------------------------------------------------------------------- periods


@pytest.mark.parametrize("spelling", ["W", "w", "week", "weeks", "weekly", " Week "])
def test_every_spelling_of_a_week_is_a_week(spelling):
    assert parse_period(spelling) == "W" and period(spelling).word == "week"


def test_other_periods_and_a_clear_error():
    assert [parse_period(p) for p in ("month", "M", "quarterly", "Q", "year", "annual", "daily")] == \
        ["M", "M", "Q", "Q", "Y", "Y", "D"]
    with pytest.raises(ConfigError, match="week"):
        parse_period("fortnight")


def test_status_and_styles_take_both_spellings(store20):
    for spelling in ("W", "week"):
        result = runner.invoke(app, ["status", "--store", str(store20.root), "--period", spelling])
        assert result.exit_code == 0, result.output
        assert "Images per week" in result.output
    for spelling in ("W", "week", "weekly"):
        result = runner.invoke(app, ["styles", "--store", str(store20.root), "--period", spelling])
        # the period is accepted; what stops this store is that it has no image vectors
        assert result.exit_code == 1 and "unknown period" not in result.output and "vectors" in result.output
    bad = runner.invoke(app, ["status", "--store", str(store20.root), "--period", "fortnight"])
    assert bad.exit_code == 1 and "or the words week, month" in bad.output and "Traceback" not in bad.output


# ---------------------------------------------------------------------------------------------- --version, --quiet


def test_version():
    from trendgan import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__


def test_every_command_takes_quiet():
    missing = [name for name, command in commands().items() if option(command, "--quiet") is None]
    assert missing == []


def test_quiet_status_and_report_print_only_their_result(store20, tmp_path):
    status = runner.invoke(app, ["status", "--store", str(store20.root), "--quiet"])
    assert status.exit_code == 0 and status.output.strip() == str(store20.root)
    out = tmp_path / "r.html"
    report = runner.invoke(app, ["report", "--store", str(store20.root), "--out", str(out), "-q"])
    assert report.exit_code == 0 and report.output.strip() == str(out)


# ---------------------------------------------------------------------------------------------- output when piped


def test_progress_prints_plain_lines_every_few_seconds_when_not_a_terminal():
    from trendgan.console import _LineTicker

    now = [0.0]
    lines = []
    ticker = _LineTicker(100, "embedding", "images", every=5.0, clock=lambda: now[0], write=lines.append)
    for step in range(1, 101):
        now[0] = step * 0.5  # 2 images a second: a line every 10 images
        ticker.advance()
    assert len(lines) == 10
    assert lines[0] == "embedding: 10/100 images (10%), 2.0 images/s, 0:05 elapsed, about 0:45 left"
    ticker.update(description="training GAN · step 7")  # as the trainer renames its bar
    assert ticker.line().startswith("training GAN · step 7: 100/100 images (100%)")


def test_progress_and_heartbeat_reach_a_pipe_but_not_quiet(capsys, monkeypatch):
    import trendgan.console as console

    monkeypatch.setattr(console, "PROGRESS_EVERY", 0.0)
    console.set_quiet(False)
    with console.progress(3, "simulating") as bar:
        bar.advance(3)
    with console.working("evaluating", every=0.01):
        import time

        time.sleep(0.05)
    err = capsys.readouterr().err
    assert "simulating: 3/3 images (100%)" in err and "evaluating: still working" in err
    console.set_quiet(True)
    try:
        with console.progress(3, "simulating") as bar:
            bar.advance(3)
    finally:
        console.set_quiet(False)
    assert capsys.readouterr().err == ""


def test_paths_and_tables_are_not_wrapped_when_piped(tmp_path, weekly):
    store = weekly(tmp_path / ("a-rather-long-folder-name-" * 4) / "store")
    result = runner.invoke(app, ["status", "--store", str(store.root)])
    assert result.exit_code == 0
    assert str(store.root) in result.output  # on one line, not cut at 80 columns
    assert max(len(line) for line in result.output.splitlines()) > 80


# ---------------------------------------------------------------------------------------------- help, devices


@pytest.mark.parametrize("name", sorted(commands()))
def test_help_has_clean_placeholders(name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0
    assert not re.search(r"<(bool|int|str|float|path|list\[[^\]]*\])>", result.output), result.output
    assert "{" not in result.output.split("\n\n")[0] + next(l for l in result.output.splitlines() if "Usage" in l)


def test_one_device_default_everywhere():
    defaults = {name: option(command, "--device").default for name, command in commands().items()
                if option(command, "--device") is not None}
    assert set(defaults) >= {"embed", "train", "render", "evaluate-gan", "restyle", "design"}
    assert set(defaults.values()) == {"auto"}


# ---------------------------------------------------------------------------------------------- adjusted settings


def test_forecast_says_when_backtest_windows_do_not_fit_and_shows_the_calls(tmp_path, weekly):
    store = weekly(tmp_path / "store", periods=14)
    result = runner.invoke(app, ["forecast", "--store", str(store.root), "--horizon", "4", "--backtest-windows", "3"])
    assert result.exit_code == 0, result.output
    said = re.search(r"adjusted: (\d) of the 3 backtest windows asked for fit in 14 periods", result.output)
    assert said and int(said.group(1)) < 3
    assert "expected change" in result.stdout and "vs a year ago" in result.stdout
    assert "For the next 4 weeks" in result.stdout


def test_forecast_says_nothing_when_every_window_fits(store20):
    result = runner.invoke(app, ["forecast", "--store", str(store20.root), "--horizon", "2", "--backtest-windows", "2"])
    assert result.exit_code == 0, result.output
    assert "adjusted" not in result.output


# ---------------------------------------------------------------------------------------------- status


def test_status_counts_reports(store20, tmp_path):
    assert runner.invoke(app, ["report", "--store", str(store20.root), "-q"]).exit_code == 0
    result = runner.invoke(app, ["status", "--store", str(store20.root)])
    assert re.search(r"reports\W+1\W+trend-report.html", result.output), result.output
    as_json = runner.invoke(app, ["status", "--store", str(store20.root), "--json"])
    assert '"reports": {"runs": 1, "latest": "trend-report.html"}' in as_json.output


def test_status_without_a_store_names_the_stores_it_can_see(tmp_path, monkeypatch, weekly):
    weekly(tmp_path / "trendgan-demo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRENDGAN_STORE", raising=False)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no trendgan store" in result.output and "./trendgan-demo" in result.output
    assert "trendgan status --store ./trendgan-demo" in result.output
    # and still how to make one: the user may have meant a new store (the README runs the tests beside the demo)
    assert "run `trendgan ingest PATH` to create one" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    nothing = runner.invoke(app, ["status"])
    assert nothing.exit_code == 1 and "trendgan demo" in nothing.output
