"""evaluate_gan on a tiny store, with a stand-in encoder mapping an image to its style colour's direction."""

import json

import numpy as np
import pytest

from trendgan.gan.metrics import evaluate_gan
from trendgan.gan.train import train_gan


class ColourEncoder:
    """Embeds an image by how close its mean garment colour is to each style colour (the test store's space)."""

    def __init__(self, colours):
        self.colours = np.asarray(colours, dtype=np.float64)

    def embed_images(self, images):
        rows = []
        for image in images:
            pixels = np.asarray(image, dtype=np.float64).reshape(-1, 3)
            garment = pixels[np.abs(pixels - 235).sum(axis=1) > 60]
            mean = garment.mean(axis=0) if len(garment) else pixels.mean(axis=0)
            vector = np.zeros(8)
            vector[:3] = np.exp(-np.linalg.norm(self.colours - mean, axis=1) / 40)
            rows.append(vector / max(np.linalg.norm(vector), 1e-9))
        return np.stack(rows)


def test_evaluate_gan_writes_metrics_into_the_run(store, gan_data):
    gan_data.build_store(store)
    run = train_gan(store, config="gan-tiny-16", steps=5, device="cpu")
    gan_data.build_styles_and_forecast(store, {0: "rising"})
    result = evaluate_gan(store, n=24, encoder=ColourEncoder(gan_data.COLOURS))
    assert result.folder == run.folder and result.step == 5 and result.n_real == 24 and result.n_fake == 24
    assert result.values["frechet_distance"] >= 0
    assert 0 <= result.values["precision"] <= 1 and 0 <= result.values["recall"] <= 1
    assert 0 <= result.values["conditional_consistency"] <= 1
    last = json.loads((run.folder / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "evaluate" and last["frechet_distance"] == pytest.approx(result.values["frechet_distance"])


def test_evaluate_gan_scores_a_perfect_generator_high_and_a_broken_one_low(store, gan_data, monkeypatch):
    """Known answers: a 'generator' that returns the real pictures of each condition's style, and one that returns
    blank grey. The range checks above would pass for any numbers; these say the metrics tell the two apart."""
    from PIL import Image

    from trendgan.gan.sampling import Renderer

    gan_data.build_store(store)
    train_gan(store, config="gan-tiny-16", steps=2, device="cpu")
    gan_data.build_styles_and_forecast(store, {0: "rising"})
    pictures = {style: [np.asarray(Image.open(p).convert("RGB").resize((16, 16), Image.BICUBIC))
                        for p in sorted((store.root.parent / "images").glob(f"style{style}-*.png"))]
                for style in range(3)}

    def perfect(self, conditions, seed=0, per_condition=1, batch_size=64):
        cond = np.repeat(np.atleast_2d(conditions), per_condition, axis=0)
        return np.stack([pictures[int(c[:3].argmax())][i % 8] for i, c in enumerate(cond)])

    def broken(self, conditions, seed=0, per_condition=1, batch_size=64):
        return np.full((len(np.atleast_2d(conditions)) * per_condition, 16, 16, 3), 128, np.uint8)

    encoder = ColourEncoder(gan_data.COLOURS)
    scores = {}
    for name, render in (("perfect", perfect), ("broken", broken)):
        monkeypatch.setattr(Renderer, "render", render)
        scores[name] = evaluate_gan(store, n=24, encoder=encoder).values
    good, bad = scores["perfect"], scores["broken"]
    assert good["frechet_distance"] < 0.05 and bad["frechet_distance"] > 20 * max(good["frechet_distance"], 1e-3)
    assert good["precision"] >= 0.9 and good["recall"] >= 0.9
    assert bad["recall"] <= 0.1
    assert good["conditional_consistency"] == 1.0 and bad["conditional_consistency"] <= 0.5


def test_the_stand_in_encoder_puts_real_images_near_their_vectors(store, gan_data):
    # Guards the test above: the stand-in encoder must agree with the stored vectors, or its numbers mean nothing.
    from PIL import Image

    vectors = gan_data.build_store(store, per_style=3)
    images = [Image.open(p) for p in sorted((store.root.parent / "images").glob("*.png"))]
    embedded = ColourEncoder(gan_data.COLOURS).embed_images(images)
    assert (embedded[:, :3].argmax(axis=1) == np.repeat([0, 1, 2], 3)).all()
    assert (vectors[:, :3].argmax(axis=1) == np.repeat([0, 1, 2], 3)).all()


def test_real_images_are_compared_at_the_render_size_and_unreadable_ones_are_left_out(store, gan_data):
    from trendgan.embed import load_vectors
    from trendgan.errors import GanError
    from trendgan.gan.metrics import _real_at_render_size

    gan_data.build_store(store, per_style=2)
    image_ids, _ = load_vectors(store)
    images = sorted((store.root.parent / "images").glob("*.png"))
    images[0].write_bytes(b"not a png any more")
    real = _real_at_render_size(store, image_ids, 16)
    assert real.shape == (len(image_ids) - 1, 16, 16, 3) and real.dtype == np.uint8
    for path in images:
        path.unlink()
    with pytest.raises(GanError, match="could be read"):
        _real_at_render_size(store, image_ids, 16)


def test_an_independent_judge_scores_the_renders_with_labels_from_a_csv(store, gan_data):
    import pandas as pd

    gan_data.build_store(store, per_style=8)
    train_gan(store, config="gan-tiny-16", steps=3, device="cpu")
    folder = store.root.parent / "images"
    rows = [{"path": p.name, "label": p.name.split("-")[0]} for p in sorted(folder.glob("*.png"))]
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    result = evaluate_gan(store, n=24, encoder=ColourEncoder(gan_data.COLOURS), judge=str(folder / "labels.csv"))
    values = result.values
    for name in ("judge_frechet_distance", "judge_precision", "judge_recall", "judge_inception_score",
                 "judge_conditional_accuracy", "judge_shape_accuracy", "pixel_frechet_distance"):
        assert name in values and np.isfinite(values[name])
    assert 1.0 <= values["judge_inception_score"] <= 3.0 + 1e-9  # three labels
    assert result.judge["labels"] == "labels in labels.csv" and result.judge["classes"] == ["style0", "style1", "style2"]
    assert result.judge["fitted_on"] + 4 == 24  # a fifth held out
    # The luminance judge is an ensemble; the record names its members and how far they agree, per style.
    from trendgan.gan.judge import LUMINANCE_MEMBERS

    assert result.judge["shape_members"] == LUMINANCE_MEMBERS == len(result.judge["shape_member_seeds"])
    assert len(result.judge["shape_held_out_accuracy_members"]) == LUMINANCE_MEMBERS
    ranges = result.judge["shape_accuracy_members_per_class"]
    assert set(ranges) == {"style0", "style1", "style2"} and all(lo <= hi for lo, hi in ranges.values())
    last = json.loads((result.folder / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["judge"]["judge"].startswith("cnn on labels")


def test_without_a_styles_run_the_judge_is_skipped_with_the_reason(store, gan_data):
    gan_data.build_store(store)
    train_gan(store, config="gan-tiny-16", steps=2, device="cpu")
    result = evaluate_gan(store, n=24, encoder=ColourEncoder(gan_data.COLOURS))
    assert "judge_frechet_distance" not in result.values and "styles run" in result.judge["skipped"]
    from trendgan.errors import GanError

    with pytest.raises(GanError, match="path,label"):
        evaluate_gan(store, n=24, encoder=ColourEncoder(gan_data.COLOURS), judge="no-such.csv")
