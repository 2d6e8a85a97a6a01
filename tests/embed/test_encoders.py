"""The encoder registry: tiny open_clip models (random, saved and reloaded, cached hub tag) and clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from trendgan.embed import (
    DEFAULT_CLIP,
    OFFLINE_ENCODER,
    get_encoder,
    resolve_encoder_key,
)
from trendgan.errors import EncoderError, WeightsUnavailableError

from .conftest import TINY, garment_image


@pytest.fixture(scope="module")
def looks():
    return [garment_image(i) for i in range(6)]


def test_tiny_clip_embeds_images_and_texts_into_one_unit_space(looks):
    encoder = get_encoder(TINY)
    assert (encoder.key, encoder.dim, encoder.has_text) == (TINY, 64, True)
    images = encoder.embed_images(looks, batch_size=4)
    texts = encoder.embed_texts(["a red midi dress", "wide leg jeans"])
    assert images.shape == (6, 64) and texts.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(images[0], images[1])
    # Random weights come from a fixed seed: a second process (a resumed run, a Ray actor) gets the same model.
    np.testing.assert_array_equal(get_encoder(TINY).embed_images(looks, batch_size=4), images)


def test_preprocess_matches_open_clip_transform(looks):
    import open_clip

    encoder = get_encoder(TINY)
    _, _, transform = open_clip.create_model_and_transforms("trendgan-tiny")
    for image in looks[:3]:
        torch.testing.assert_close(encoder.preprocess(image), transform(image), atol=1e-5, rtol=0)


def test_checkpoint_saved_then_reloaded_by_path_gives_the_same_vectors(tmp_path, looks, monkeypatch):
    original = get_encoder(TINY)
    checkpoint = tmp_path / "my-finetune.pt"
    torch.save(original.model.state_dict(), checkpoint)
    monkeypatch.chdir(tmp_path)
    reloaded = get_encoder("clip:trendgan-tiny@my-finetune.pt")
    assert reloaded.key == f"clip:trendgan-tiny@{checkpoint}"  # absolute, so the key means one file from anywhere
    np.testing.assert_allclose(reloaded.embed_images(looks), original.embed_images(looks), atol=1e-6)
    np.testing.assert_allclose(reloaded.embed_texts(["kimono"]), original.embed_texts(["kimono"]), atol=1e-6)


class _Payload:
    """Unpickling this would run code: a weights-only loader must refuse it."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoints_load_weights_only_and_bad_files_give_clear_errors(tmp_path):
    booby_trapped = tmp_path / "trap.pt"
    booby_trapped.write_bytes(pickle.dumps({"state_dict": _Payload()}, protocol=2))
    with pytest.raises(EncoderError, match="cannot load checkpoint"):
        get_encoder(f"clip:trendgan-tiny@{booby_trapped}")
    wrong_arch = tmp_path / "other.pt"
    torch.save({"visual.proj": torch.zeros(3)}, wrong_arch)
    with pytest.raises(EncoderError, match="trendgan-tiny"):
        get_encoder(f"clip:trendgan-tiny@{wrong_arch}")
    with pytest.raises(EncoderError, match="does not exist"):
        get_encoder(f"clip:trendgan-tiny@{tmp_path / 'nope.pt'}")


@pytest.mark.parametrize("key, message", [
    ("resnet-9000", "unknown encoder"),
    ("clip:NoSuchNet/none", "no architecture"),
    ("clip:ViT-B-32/not-a-tag", "no pretrained tag"),
    ("clip:ViT-B-32", "should look like"),
    ("effnet-lite0:big", "did you mean"),
])
def test_unknown_keys_are_named_in_the_error(key, message):
    with pytest.raises(EncoderError, match=message):
        get_encoder(key)


def _assert_names_both_ways_out(exc, key):
    text = str(exc)
    assert key in text and "@" in text and OFFLINE_ENCODER in text
    assert "\n" not in text and "Traceback" not in text


def test_offline_hub_tag_fails_fast_with_both_ways_out(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    # how fast it fails is benchmarks/encoder_failures.py's to measure (a wall-clock limit here fails at random on a
    # loaded machine); a hang would still fail here, on the suite's per-test timeout
    with pytest.raises(WeightsUnavailableError) as caught:
        get_encoder(DEFAULT_CLIP)
    _assert_names_both_ways_out(caught.value, DEFAULT_CLIP)
    assert "offline" in str(caught.value)


def test_unreachable_hub_fails_fast_without_offline_setting(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")   # nothing listens there: refused at once
    with pytest.raises(WeightsUnavailableError) as caught:
        get_encoder(DEFAULT_CLIP)
    _assert_names_both_ways_out(caught.value, DEFAULT_CLIP)
    assert "unreachable" in str(caught.value)


def test_cached_hub_weights_load_offline(monkeypatch, tmp_path, looks):
    """A tag whose file sits in the HF cache loads with the hub offline, and auto would pick such a model."""
    import huggingface_hub.constants
    import open_clip.pretrained

    original = get_encoder(TINY)
    snapshot = tmp_path / "hub" / "models--trendgan--tiny-test" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    torch.save(original.model.state_dict(), snapshot / "open_clip_pytorch_model.bin")
    (tmp_path / "hub" / "models--trendgan--tiny-test" / "refs").mkdir()
    (tmp_path / "hub" / "models--trendgan--tiny-test" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "trendgan-tiny", {"cached": {"hf_hub": "trendgan/tiny-test/"}})

    from trendgan.embed.clip import clip_weights_status

    assert clip_weights_status("clip:trendgan-tiny/cached") == "cached"
    cached = get_encoder("clip:trendgan-tiny/cached")
    np.testing.assert_allclose(cached.embed_images(looks), original.embed_images(looks), atol=1e-6)


def test_auto_picks_offline_encoder_when_clip_weights_are_out_of_reach(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    key, why = resolve_encoder_key("auto")
    assert key == OFFLINE_ENCODER and "not cached" in why and "offline" in why


def test_auto_picks_clip_when_its_weights_are_cached(monkeypatch):
    from trendgan.embed import clip

    monkeypatch.setattr(clip, "clip_weights_status", lambda key: "cached" if key == DEFAULT_CLIP else "offline")
    assert resolve_encoder_key("auto") == (DEFAULT_CLIP, "auto: CLIP weights are cached")


def test_text_prompts_on_an_encoder_without_text_tower_are_a_clear_error():
    encoder = get_encoder(OFFLINE_ENCODER)
    assert (encoder.dim, encoder.has_text) == (1280, False)
    with pytest.raises(EncoderError, match="no text tower"):
        encoder.embed_texts(["denim jacket"])
