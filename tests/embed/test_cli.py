"""`trendgan embed` through Typer's CliRunner."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from trendgan.cli.app import app
from trendgan.embed import load_vectors

from .conftest import TINY

runner = CliRunner()


def _embed(store, *args):
    return runner.invoke(app, ["embed", "--store", str(store.root), *args])


def test_embed_command_embeds_then_has_nothing_left_to_do(catalogued):
    store, _, ids = catalogued
    first = _embed(store, "--encoder", TINY, "--device", "cpu", "--batch-size", "4", "--workers", "1")
    assert first.exit_code == 0, first.output
    assert "embedded 12 images" in first.output and "clip:trendgan-tiny/none" in first.output
    assert sorted(load_vectors(store, TINY)[0]) == sorted(ids)
    second = _embed(store, "--encoder", TINY, "--device", "cpu", "--workers", "0")
    assert second.exit_code == 0 and "nothing to do" in second.output
    quiet = _embed(store, "--encoder", TINY, "--device", "cpu", "--quiet")
    assert quiet.exit_code == 0 and quiet.output.strip() == ""


def test_offline_clip_is_one_clean_line_and_exit_1(catalogued, monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    store, _, _ = catalogued
    result = _embed(store, "--encoder", "clip:ViT-B-32/laion2b_s34b_b79k", "--device", "cpu")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "Traceback" not in result.output and "error:" in text
    assert "clip:ViT-B-32/laion2b_s34b_b79k" in text and "effnet-lite0" in text and "@" in text


def test_user_errors_exit_1_with_a_hint(catalogued, tmp_path):
    store, _, _ = catalogued
    unknown = _embed(store, "--encoder", "resnet-9000")
    assert unknown.exit_code == 1 and "unknown encoder" in unknown.output
    engine = _embed(store, "--encoder", TINY, "--engine", "spark")
    assert engine.exit_code == 1 and "unknown engine" in engine.output
    missing = runner.invoke(app, ["embed", "--store", str(tmp_path / "no-store"), "--encoder", TINY])
    assert missing.exit_code == 1 and "trendgan ingest" in missing.output


def test_cli_module_does_not_import_torch():
    code = "import sys, trendgan.cli.embed; sys.exit('torch' in sys.modules or 'open_clip' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
