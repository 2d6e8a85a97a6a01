"""A miniature `trendgan demo` through every real stage (tiny corpus, tiny GAN): slow, so not in the default run."""

import json

import pytest
from typer.testing import CliRunner

from trendgan.cli.app import app
from trendgan.demo import run_demo
from trendgan.design import restyle
from trendgan.runs import RUN_KINDS

MINIATURE = [
    "simulate.periods=30", "simulate.per_period=6", "simulate.size=32",
    "styles.k=6", "forecast.horizon=4", "forecast.backtest_windows=2",
    "train.config='gan-tiny-16'", "train.steps=20", "render.per_style=2",
]


@pytest.mark.slow
@pytest.mark.ci  # CI runs it too: the one test of every stage chained as a user runs them
@pytest.mark.timeout(1200)
def test_miniature_demo_runs_every_stage_and_scores_the_forecast(tmp_path):
    result = run_demo(store=tmp_path / "demo", out=tmp_path / "out", overrides=MINIATURE)
    assert result.pipeline.ran == ["simulate", "ingest", "embed", "styles", "forecast", "train", "render", "report"]
    assert result.report == (tmp_path / "out" / "trend-report.html").resolve()
    numbers = json.loads(result.report.with_suffix(".json").read_text())
    assert numbers["overview"]["encoder"] == "effnet-lite0" and numbers["runs"]["renders"]

    truth = json.loads((tmp_path / "demo" / "corpus" / "truth.json").read_text())
    recovery = result.recovery
    assert sorted(recovery["label"]) == sorted(truth["labels"])
    assert set(recovery["true_trend"]) <= {"emerging", "rising", "stable", "seasonal", "declining"}
    found = recovery.dropna(subset=["style_id"])
    assert len(found) >= 4  # most simulated styles are found as a style of their own or shared
    assert found["forecast_trend"].notna().all()
    assert (found["coverage"] > 0).all() and found["share_mae"].between(0, 1).all()

    _every_run_has_the_same_config_schema(tmp_path / "demo", found)

    again = runner.invoke(app, ["demo", "--store", str(tmp_path / "demo"), "--out", str(tmp_path / "out"), *_cli(MINIATURE)])
    assert again.exit_code == 0, again.output
    assert "simulate unchanged" in again.output and "report unchanged" in again.output
    assert "How well the forecast recovered the simulated truth" in again.output


runner = CliRunner()


def _every_run_has_the_same_config_schema(store, found):
    """Every stage's run folder (a restyle too) says what it was asked, from what, and what came of it, alike."""
    garment = next((store / "corpus").rglob("*.png"))
    restyle(store, garment, to=str(int(found["style_id"].iloc[0])), n=1, steps=2, device="cpu")
    stage_of = {kind.folder_name: kind.stage for kind in RUN_KINDS.values()}
    configs = sorted(store.glob("*/*/config.json"))
    assert {c.parent.parent.name for c in configs} == {"styles", "forecasts", "gan", "renders", "designs", "pipelines"}
    for path in configs:
        config = json.loads(path.read_text())
        assert set(config) == {"format", "stage", "run", "created_at", "finished_at", "settings", "inputs", "results"}, path
        assert config["stage"] == stage_of[path.parent.parent.name] and config["run"] == path.parent.name
        assert all(isinstance(config[part], dict) for part in ("settings", "inputs", "results"))


def _cli(overrides):
    return [arg for item in overrides for arg in ("--set", item)]
