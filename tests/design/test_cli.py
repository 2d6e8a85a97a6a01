import json

import pytest
from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()


@pytest.fixture
def toy_models(monkeypatch, renderer, encoder):
    """The CLI loads the store's GAN and its encoder; here they are the small stand-ins from conftest."""
    import trendgan.design.models as models

    monkeypatch.setattr(models, "load_renderer", lambda store, gan_run=None, device="auto": renderer)
    monkeypatch.setattr(models, "load_encoder", lambda key, device="auto": encoder)


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_restyle_command_writes_a_run_and_prints_a_summary(store, toy_models, looks, draw):
    garment = draw(looks["coral_navy"], seed=3)
    target = draw(looks["green_yellow"], seed=9, name="target.png")
    result = _invoke("restyle", garment, "--to", target, "--strength", 0, "--strength", 1, "--n", 2, "--steps", 3,
                     "--store", store.root)
    assert result.exit_code == 0, result.output
    assert "restyled garment.png toward target.png" in result.output
    assert "strength 1.00: 2 renders" in result.output
    index = json.loads((store.run_dir("designs") / "index.json").read_text())
    assert index["strengths"] == [0.0, 1.0] and len(index["files"]) == 4


def test_restyle_transfer_mode_needs_no_gan(store, monkeypatch, encoder, looks, draw):
    import trendgan.design.models as models

    def no_gan(*args, **kwargs):
        raise AssertionError("transfer mode must not load a GAN")

    monkeypatch.setattr(models, "load_renderer", no_gan)
    monkeypatch.setattr(models, "load_encoder", lambda key, device="auto": encoder)
    garment = draw(looks["coral_navy"], seed=3)
    target = draw(looks["green_yellow"], seed=9, name="target.png")
    result = _invoke("restyle", garment, "--to", target, "--mode", "transfer", "--steps", 5, "--n", 1,
                     "--store", store.root, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "transfer mode" in result.output


def test_design_command(store, toy_models, looks, draw, forecast_run):
    liked = [draw(looks["coral_navy"], seed=s, name=f"liked-{s}.png") for s in (1, 2)]
    result = _invoke("design", "--like", liked[0], "--like", liked[1], "--trend-weight", 0.4, "--n", 3,
                     "--store", store.root)
    assert result.exit_code == 0, result.output
    assert "3 designs (best of 12)" in result.output
    assert "pulled toward: grey tones" in result.output
    assert len(json.loads((store.run_dir("designs") / "index.json").read_text())["files"]) == 3
    quiet = _invoke("design", "--like", liked[0], "--n", 1, "--store", store.root, "--quiet")
    assert quiet.exit_code == 0 and quiet.output.strip() == str(store.run_dir("designs"))  # the run folder, nothing else


@pytest.mark.parametrize("to, message", [
    ("7", "no style 7 in styles run"),
    ("boho", "text targets need an encoder with a text tower (CLIP)"),
])
def test_restyle_errors_are_one_clean_line(store, toy_models, looks, draw, styles_run, to, message):
    garment = draw(looks["coral_navy"])
    result = _invoke("restyle", garment, "--to", to, "--store", store.root)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert store.runs("designs") == []


def test_unreadable_image_is_one_clean_line(store, toy_models, tmp_path):
    broken = tmp_path / "[red]coat.jpg"  # markup in a file name must be printed as text, not interpreted
    broken.write_bytes(b"garbage")
    result = _invoke("design", "--like", broken, "--store", store.root)
    assert result.exit_code == 1
    assert "cannot read the image" in result.output and "[red]coat.jpg" in result.output


def test_help_lists_both_commands():
    result = _invoke("--help")
    assert "restyle" in result.output and "design" in result.output
