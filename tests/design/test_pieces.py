import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trendgan.design import structural_similarity, trend_direction
from trendgan.design.images import fit_square, open_image
from trendgan.design.vectors import blend_looks, normalise
from trendgan.errors import DesignError


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    rng = np.random.default_rng(0)
    image = (rng.random((48, 48, 3)) * 255).astype(np.uint8)
    assert structural_similarity(image, image) == pytest.approx(1.0)
    scores = []
    for level in (10, 40, 120):
        noisy = np.clip(image + rng.normal(0, level, image.shape), 0, 255).astype(np.uint8)
        scores.append(structural_similarity(image, noisy))
        assert structural_similarity(noisy, image) == pytest.approx(scores[-1])
    assert 1.0 > scores[0] > scores[1] > scores[2]


def test_ssim_of_a_constant_shift_matches_the_formula():
    # Two flat images: SSIM reduces to the luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
    a, b = np.full((32, 32), 100.0), np.full((32, 32), 150.0)
    c1 = (0.01 * 255) ** 2
    assert structural_similarity(a, b) == pytest.approx((2 * 100 * 150 + c1) / (100**2 + 150**2 + c1))


def test_blend_looks_stays_on_the_sphere_between_its_ends():
    rng = np.random.default_rng(1)
    a, b = normalise(rng.normal(size=16)), normalise(rng.normal(size=16))
    assert np.allclose(blend_looks(a, b, 0.0), a, atol=1e-6)
    assert np.allclose(blend_looks(a, b, 1.0), b, atol=1e-6)
    cosines = [float(blend_looks(a, b, s) @ b) for s in np.linspace(0, 1, 6)]
    assert all(y > x for x, y in zip(cosines, cosines[1:]))
    assert all(abs(np.linalg.norm(blend_looks(a, b, s)) - 1) < 1e-5 for s in (0.3, 0.7))


def test_fit_square_pads_with_the_backdrop_colour(tmp_path):
    tall = Image.new("RGB", (20, 40), (250, 250, 250))
    tall.paste((10, 10, 10), (5, 5, 15, 35))
    square = np.asarray(fit_square(tall, 40))
    assert square.shape == (40, 40, 3)
    assert tuple(square[20, 2]) == (250, 250, 250)  # the padding, not black


def test_open_image_reads_greyscale_as_rgb(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (8, 8), 128).save(path)
    assert open_image(path).mode == "RGB"


def test_no_promising_style_is_a_clear_error(store, forecast_run):
    labels = pd.read_parquet(forecast_run / "labels.parquet")
    labels["trend"] = "declining"
    labels.to_parquet(forecast_run / "labels.parquet", index=False)
    with pytest.raises(DesignError, match="expects no style to emerge or rise; use --trend-weight 0"):
        trend_direction(store)
