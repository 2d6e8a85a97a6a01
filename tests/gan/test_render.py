"""load_generator / Renderer and render(): deterministic images of the styles forecast to grow."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trendgan.errors import GanError, StageNotRunError
from trendgan.gan.renders import extrapolate_centroid, member_conditions, render, style_seed
from trendgan.gan.sampling import load_generator
from trendgan.gan.train import train_gan
from trendgan.runs import RenderRun


@pytest.fixture
def trained(store, gan_data):
    gan_data.build_store(store)
    train_gan(store, config="gan-tiny-16", steps=5, device="cpu")
    return store


def test_renderer_exposes_what_the_design_stage_uses(trained, gan_data):
    renderer = load_generator(trained)
    assert (renderer.z_dim, renderer.cond_dim, renderer.image_size) == (16, 8, 16)
    assert renderer.encoder_key == gan_data.ENCODER and renderer.device.type == "cpu" and renderer.step == 5
    import torch

    out = renderer.generator(renderer.noise(2, seed=0), torch.eye(8)[:2])
    assert out.shape == (2, 3, 16, 16) and out.min() >= -1 and out.max() <= 1
    # bounded by its tanh, but a picture: not saturated, and two conditions give two different images
    assert (out.abs() < 0.999).float().mean() > 0.5 and (out[0] - out[1]).abs().mean() > 1e-3


def test_render_is_deterministic_for_a_seed(trained):
    renderer = load_generator(trained)
    conditions = np.eye(8, dtype=np.float32)[:3]
    first = renderer.render(conditions, seed=7, per_condition=2)
    assert first.shape == (6, 16, 16, 3) and first.dtype == np.uint8
    assert np.array_equal(first, renderer.render(conditions, seed=7, per_condition=2))
    assert np.array_equal(first, load_generator(trained).render(conditions, seed=7, per_condition=2))
    assert not np.array_equal(first, renderer.render(conditions, seed=8, per_condition=2))
    # Each image depends on its own condition and noise only, not on what else is in the batch.
    assert np.array_equal(first[:2], renderer.render(conditions[:1], seed=7, per_condition=2))
    with pytest.raises(GanError, match="width 8"):
        renderer.render(np.ones((2, 5)))
    with pytest.raises(GanError, match="zero"):
        renderer.render(np.zeros(8))


def test_render_writes_growing_styles_with_index_and_grids(trained, gan_data):
    gan_data.build_styles_and_forecast(trained, {0: "rising", 1: "declining", 2: "emerging"})
    result = render(trained, top=5, per_style=3, seed=1)
    index = json.loads((result.folder / "index.json").read_text())
    assert [e["style_id"] for e in index] == [2, 0]  # emerging 2 (change 0.3) before rising 0 (0.1); declining left out
    assert index[1]["name"] == "red <b>block</b>" and index[0]["trend"] == "emerging"
    assert index[0]["change"] == pytest.approx(0.3) and index[0]["condition"] == "extrapolated"
    for entry in index:
        assert len(entry["files"]) == 3
        assert all((result.folder / f).is_file() for f in entry["files"] + [entry["grid"]])
    assert result.images == 6 and (result.folder / "config.json").exists()
    again = render(trained, top=5, per_style=3, seed=1)
    for entry in index:
        for f in entry["files"]:
            assert (again.folder / f).read_bytes() == (result.folder / f).read_bytes()
    top_one = render(trained, top=1, per_style=2, seed=1).styles
    assert [e["style_id"] for e in top_one] == [2]
    # Other labels on request, "all" for every one; a label the forecast never gives is refused (a pipeline config
    # reaches render() without the CLI)
    assert [e["style_id"] for e in render(trained, per_style=1, trends=("declining",)).styles] == [1]
    assert sorted(e["style_id"] for e in render(trained, per_style=1, trends=("all",)).styles) == [0, 1, 2]
    with pytest.raises(GanError, match="unknown trend trending"):
        render(trained, trends=("trending",))


def test_render_trends_at_the_package_top_is_the_render_stage(trained, gan_data):
    """`trendgan.render_trends` once failed with "'module' object is not callable": the stage's module shadowed it."""
    import importlib

    import trendgan

    importlib.import_module("trendgan.gan.renders")  # importing the module must not shadow the function
    gan_data.build_styles_and_forecast(trained, {0: "rising"})
    result = trendgan.render_trends(trained, top=1, per_style=2, seed=1)
    assert [entry["style_id"] for entry in result.styles] == [0] and result.images == 2
    assert all(Path(f).is_file() for f in RenderRun.open(trained).entries[0]["files"])


def test_render_without_a_forecast_says_what_to_run(trained):
    with pytest.raises(StageNotRunError, match="trendgan forecast"):
        render(trained)


def test_extrapolation_follows_the_drift_and_falls_back_when_short():
    periods = pd.date_range("2026-01-05", periods=5, freq="W-MON")
    centroids = np.array([[1.0, 0.1 * p, 0.0] for p in range(5)])
    ahead = extrapolate_centroid(periods, [4] * 5, centroids, horizon=3)
    last = centroids[-1] / np.linalg.norm(centroids[-1])
    assert np.linalg.norm(ahead) == pytest.approx(1.0)
    assert ahead[1] > last[1]  # further along the drift than the last observed centroid
    expected = np.array([1.0, 0.7, 0.0])
    assert ahead == pytest.approx(expected / np.linalg.norm(expected), abs=1e-5)
    assert extrapolate_centroid(periods[:2], [4, 4], centroids[:2], horizon=3) is None
    assert style_seed(0, 1) != style_seed(0, 2) and style_seed(0, 1) == style_seed(0, 1)


def _unit_rows(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_member_conditions_are_the_styles_own_images():
    rng = np.random.default_rng(0)
    members = _unit_rows(np.array([1.0, 0, 0, 0]) + rng.normal(0, 0.2, (40, 4)))
    conditions = member_conditions(members, 6, seed=3)
    assert conditions.shape == (6, 4) and np.allclose(np.linalg.norm(conditions, axis=1), 1.0)
    # each condition is one of the style's images (not an average of them), and six different ones
    match = np.abs(conditions[:, None, :] - members[None, :, :]).max(axis=2).min(axis=1)
    assert (match < 1e-6).all()
    assert len(np.unique(conditions.round(6), axis=0)) == 6
    assert np.array_equal(conditions, member_conditions(members, 6, seed=3))
    # fewer images than renders: every image is used, then they repeat (z still differs per render)
    few = member_conditions(members[:3], 7, seed=0)
    assert len(np.unique(few.round(6), axis=0)) == 3 and few.shape == (7, 4)
    # a one-image style renders that image's vector every time
    assert np.allclose(member_conditions(members[:1], 4), np.repeat(members[:1], 4, axis=0))
    # the drift shift moves every pick by the same vector before it is scaled to unit length
    shift = np.array([0, 0, 0, 0.5])
    assert np.allclose(member_conditions(members, 6, seed=3, shift=shift), _unit_rows(conditions + shift))
    with pytest.raises(GanError):
        member_conditions(members[:0], 3)
