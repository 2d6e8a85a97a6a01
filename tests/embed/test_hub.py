"""Models in open_clip's hub layout (open_clip_config.json beside the weights): clip:local-dir:FOLDER on disk and
clip:hf-hub:ORG/NAME from the Hugging Face cache, offline; a tiny random model saved in that layout stands in for
the fashion encoders (Marqo-FashionSigLIP, FashionCLIP) that cannot be downloaded here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trendgan.embed import OFFLINE_ENCODER, get_encoder, resolve_encoder_key
from trendgan.embed.clip import clip_weights_status
from trendgan.errors import EncoderError, WeightsUnavailableError

from .conftest import TINY, garment_image

REPO = "trendgan/tiny-fashion"
SNAPSHOT = "1" * 40


@pytest.fixture(scope="module")
def looks():
    return [garment_image(i) for i in range(5)]


@pytest.fixture(scope="module")
def tiny():
    """A seeded random trendgan-tiny CLIP (the model whose weights the hub-layout folders hold)."""
    return get_encoder(TINY)


def save_in_hub_layout(encoder, folder, weights="open_clip_pytorch_model.bin"):
    """What `huggingface-cli download ORG/NAME --local-dir FOLDER` leaves for an open_clip model."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    model_cfg = open_clip.get_model_config("trendgan-tiny")
    visual = encoder.model.visual
    (folder / "open_clip_config.json").write_text(json.dumps({
        "model_cfg": model_cfg, "preprocess_cfg": {"mean": list(visual.image_mean), "std": list(visual.image_std)},
    }))
    if weights.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in encoder.model.state_dict().items()}, folder / weights)
    else:
        torch.save(encoder.model.state_dict(), folder / weights)
    return folder


def test_a_local_folder_in_hub_layout_embeds_like_the_model_it_holds(tmp_path, tiny, looks, monkeypatch):
    folder = save_in_hub_layout(tiny, tmp_path / "fashion-clip")
    monkeypatch.chdir(tmp_path)
    encoder = get_encoder("clip:local-dir:fashion-clip")
    assert encoder.key == f"clip:local-dir:{folder}"  # absolute, so the key names one folder from anywhere
    assert resolve_encoder_key("clip:local-dir:fashion-clip") == (encoder.key, "asked for")
    assert clip_weights_status(encoder.key) == "local"
    np.testing.assert_allclose(encoder.embed_images(looks), tiny.embed_images(looks), atol=1e-5)
    texts = ["a green sneaker", "a red striped tee"]
    np.testing.assert_allclose(encoder.embed_texts(texts), tiny.embed_texts(texts), atol=1e-5)


def test_safetensors_weights_load_too(tmp_path, tiny, looks):
    folder = save_in_hub_layout(tiny, tmp_path / "safe", weights="open_clip_model.safetensors")
    encoder = get_encoder(f"clip:local-dir:{folder}")
    np.testing.assert_allclose(encoder.embed_images(looks), tiny.embed_images(looks), atol=1e-5)


def test_a_cached_hub_repository_loads_offline(tmp_path, tiny, looks, monkeypatch):
    import huggingface_hub.constants

    repo_cache = tmp_path / "hub" / f"models--{REPO.replace('/', '--')}"
    save_in_hub_layout(tiny, repo_cache / "snapshots" / SNAPSHOT)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(SNAPSHOT)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    key = f"clip:hf-hub:{REPO}"
    assert clip_weights_status(key) == "cached"
    encoder = get_encoder(key)
    assert encoder.key == key and encoder.dim == tiny.dim
    np.testing.assert_allclose(encoder.embed_images(looks), tiny.embed_images(looks), atol=1e-5)


def test_a_hub_repository_out_of_reach_names_the_key_and_both_ways_out(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    key = "clip:hf-hub:Marqo/marqo-fashionSigLIP"
    with pytest.raises(WeightsUnavailableError) as caught:
        get_encoder(key)
    text = str(caught.value)
    assert key in text and "offline" in text and "\n" not in text
    assert "clip:local-dir:" in text and "huggingface-cli download Marqo/marqo-fashionSigLIP" in text
    assert f"--encoder {OFFLINE_ENCODER}" in text


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "has no open_clip_config.json"),
    (lambda root: _config_only(root / "config-only"), "no weights"),
])
def test_a_folder_that_is_not_a_model_says_what_is_missing(tmp_path, make, message):
    folder = make(tmp_path)
    with pytest.raises(EncoderError, match=message):
        get_encoder(f"clip:local-dir:{folder}")


def _config_only(folder):
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": {}}))
    return folder


@pytest.mark.parametrize("key", ["clip:hf-hub:just-a-name", "clip:hf-hub:a/b/c", "clip:local-dir:"])
def test_malformed_hub_keys_are_named(key):
    with pytest.raises(EncoderError, match="should look like"):
        get_encoder(key)
