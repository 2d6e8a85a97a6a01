import numpy as np
import pytest
from PIL import Image

from trendgan.design import restyle, structural_similarity
from trendgan.design.images import fit_square
from trendgan.design.transfer import TransferSettings, transfer_style
from trendgan.errors import DesignError

QUICK = TransferSettings(size=64, steps=12)


def _garment_and_look(tmp_path):
    """A dark rectangle (the 'garment') on white, and a striped coral/teal look to copy."""
    garment = Image.new("RGB", (96, 96), (250, 250, 250))
    garment.paste((40, 40, 60), (28, 12, 68, 84))
    stripes = np.zeros((96, 96, 3), np.uint8)
    stripes[:] = (240, 110, 90)
    stripes[::8] = (20, 150, 150)
    stripes[1::8] = (20, 150, 150)
    paths = tmp_path / "garment.png", tmp_path / "look.png"
    garment.save(paths[0])
    Image.fromarray(stripes).save(paths[1])
    return paths


def test_strength_zero_keeps_the_garment_and_one_takes_the_look(tmp_path, encoder):
    garment_path, look_path = _garment_and_look(tmp_path)
    garment, look = Image.open(garment_path).convert("RGB"), Image.open(look_path).convert("RGB")
    out = transfer_style(garment, look, [0.0, 0.5, 1.0], n=1, settings=QUICK, seed=0)

    original = fit_square(garment, QUICK.size)
    assert structural_similarity(original, out[0.0][0]) > 0.99
    look_vector = encoder.embed_images([look])[0]
    cosines = [float(encoder.embed_images(out[s])[0] @ look_vector) for s in (0.0, 0.5, 1.0)]
    assert cosines[0] < cosines[1] < cosines[2], cosines

    # The same, judged in plain pixels rather than by an encoder: the garment's own pixels take the look's colours
    # (its mean colour moves most of the way from navy to the stripes' mean) while the white around it stays white.
    before = np.asarray(original, float)
    garment_pixels = np.abs(before - (40, 40, 60)).sum(axis=-1) < 30
    look_mean = np.asarray(look, float).reshape(-1, 3).mean(axis=0)
    start = np.linalg.norm(before[garment_pixels].mean(axis=0) - look_mean)
    left = [np.linalg.norm(np.asarray(out[s][0], float)[garment_pixels].mean(axis=0) - look_mean) / start
            for s in (0.0, 0.5, 1.0)]
    assert left[0] > 0.95 and left[0] > left[1] > left[2] and left[2] < 0.4, left  # measured 1.0, 0.6, 0.2
    assert np.asarray(out[1.0][0], float)[~garment_pixels].mean() > 235  # the silhouette is kept


def test_transfer_mode_writes_a_run_with_scores(store, tmp_path, encoder):
    garment, look = _garment_and_look(tmp_path)
    result = restyle(store, garment, to=str(look), strength=[0.0, 1.0], n=2, mode="transfer", encoder=encoder,
                     transfer=QUICK)
    assert result.mode == "transfer" and result.reconstruction_ssim is None
    by_strength = {s: [f for f in result.files if f["strength"] == s] for s in (0.0, 1.0)}
    assert len(by_strength[0.0]) == 2
    assert min(f["ssim_garment"] for f in by_strength[0.0]) > max(f["ssim_garment"] for f in by_strength[1.0])
    assert max(f["cos_target"] for f in by_strength[1.0]) > max(f["cos_target"] for f in by_strength[0.0])
    assert all((result.folder / f["file"]).is_file() for f in result.files)


def test_transfer_copies_a_style_from_its_representative_image(store, tmp_path, encoder, styles_run):
    garment, _ = _garment_and_look(tmp_path)
    result = restyle(store, garment, to="green yellow blocks", strength=1.0, n=1, mode="transfer", encoder=encoder,
                     transfer=QUICK)
    assert result.target["style_id"] == 0


def test_transfer_needs_a_picture_of_the_look(store, tmp_path, encoder, text_encoder, styles_run):
    garment, _ = _garment_and_look(tmp_path)
    with pytest.raises(DesignError, match="no readable representative image"):
        restyle(store, garment, to="grey tones", mode="transfer", encoder=encoder, transfer=QUICK)
    with pytest.raises(DesignError, match="text targets work with --mode gan"):
        restyle(store, garment, to="red", mode="transfer", encoder=text_encoder, transfer=QUICK)
