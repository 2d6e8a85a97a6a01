"""The design commands on the project's own models: a GAN checkpoint in the store, loaded by trendgan.gan, and the
encoders of trendgan.embed (EfficientNet-Lite0 offline; a tiny randomly initialised CLIP for the text tower).

The generator here is barely trained, so these tests check the wiring (shapes, spaces, files), not the looks;
the looks are checked with the condition-respecting stand-in in the other test files.
"""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from trendgan.cli.app import app
from trendgan.errors import DesignError
from trendgan.runs import GanRun, start_run

pytestmark = pytest.mark.slow  # model loading and a GAN checkpoint: 10-40 s on a shared CPU

TINY_CLIP = "clip:trendgan-tiny/none"


def _gan_run(store, encoder_key, cond_dim, steps=2):
    """A finished gan run as train_gan writes it: checkpoint.pt with the encoder key, then config.json."""
    import torch

    from trendgan.gan.trainer import GanTrainer

    trainer = GanTrainer("gan-tiny-16", cond_dim=cond_dim, seed=0)
    images = torch.randint(0, 256, (32, 3, 16, 16), dtype=torch.uint8)
    conditions = torch.nn.functional.normalize(torch.randn(32, cond_dim), dim=1)
    for _ in range(steps):
        trainer.train_step(images, conditions)
    state = trainer.state_dict()
    state["encoder_key"] = encoder_key
    with start_run(store, GanRun, inputs={"encoder": encoder_key}) as run:
        with run.atomic("checkpoint.pt") as tmp:
            torch.save(state, tmp)
        run.finish(results={"cond_dim": cond_dim, "step": steps})
    return run.folder


def _photo(path, colour, size=48):
    image = Image.new("RGB", (size, size), (245, 245, 245))
    image.paste(colour, (12, 6, 36, 44))
    image.save(path)
    return path


@pytest.fixture
def effnet_store(store):
    from trendgan.embed import get_encoder

    encoder = get_encoder("effnet-lite0", device="cpu")
    _gan_run(store, "effnet-lite0", encoder.dim)
    return store


def test_restyle_cli_end_to_end_with_the_stores_gan_and_effnet(effnet_store, tmp_path):
    garment = _photo(tmp_path / "coat.png", (30, 40, 120))
    target = _photo(tmp_path / "red.png", (200, 30, 30))
    result = CliRunner().invoke(app, ["restyle", str(garment), "--to", str(target), "--strength", "0",
                                      "--strength", "1", "--n", "2", "--steps", "3", "--store", str(effnet_store.root),
                                      "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    index = json.loads((effnet_store.run_dir("designs") / "index.json").read_text())
    assert index["encoder"] == "effnet-lite0" and index["gan_encoder"] == "effnet-lite0"
    assert len(index["files"]) == 4
    for entry in index["files"]:
        assert Image.open(effnet_store.run_dir("designs") / entry["file"]).size == (16, 16)
        assert -1.0 <= entry["cos_target"] <= 1.0


def test_design_with_the_stores_gan_and_effnet(effnet_store, tmp_path):
    from trendgan.design import design_for

    liked = [_photo(tmp_path / f"liked-{i}.png", (30 + 20 * i, 120, 60)) for i in range(2)]
    result = design_for(effnet_store, liked, n=2, device="cpu")
    assert [f["rank"] for f in result.files] == [1, 2] and result.candidates == 8


def test_effnet_has_no_text_tower_so_a_prompt_is_refused(effnet_store, tmp_path):
    from trendgan.design import restyle

    garment = _photo(tmp_path / "coat.png", (30, 40, 120))
    with pytest.raises(DesignError, match=r"text targets need an encoder with a text tower \(CLIP\)"):
        restyle(effnet_store, garment, to="quilted puffer", steps=2, device="cpu")


def test_text_target_with_a_clip_text_tower(store, tmp_path):
    from trendgan.design import restyle
    from trendgan.embed import get_encoder

    encoder = get_encoder(TINY_CLIP, device="cpu")
    assert encoder.has_text
    _gan_run(store, TINY_CLIP, encoder.dim)
    garment = _photo(tmp_path / "coat.png", (30, 40, 120))
    result = restyle(store, garment, to="a red quilted puffer", strength=[0.0, 1.0], n=1, steps=2, device="cpu")
    assert result.target == {"kind": "text", "label": "a red quilted puffer"}
    assert np.isfinite([f["cos_target"] for f in result.files]).all()
