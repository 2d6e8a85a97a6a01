"""The garment renderer: sizes, determinism, style names, and garments that can be told apart."""

from __future__ import annotations

import numpy as np
import pytest

from trendgan.errors import ConfigError
from trendgan.simulate.garments import GARMENTS, PALETTE, PATTERNS, GarmentStyle, garment_grid, parse_style, render_garment


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("size", [16, 64, 100, 256])
def test_renders_are_rgb_at_the_requested_size(size):
    image = render_garment("red striped dress", size=size, seed=1)
    assert image.mode == "RGB" and image.size == (size, size)


def test_same_seed_same_pixels_other_seed_other_picture():
    a, b, c = (render_garment("navy dotted skirt", 64, seed) for seed in (3, 3, 4))
    assert np.array_equal(pixels(a), pixels(b))
    assert np.abs(pixels(a) - pixels(c)).mean() > 5


@pytest.mark.parametrize("garment", GARMENTS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_garment_and_pattern_draws_a_garment_on_its_backdrop(garment, pattern):
    image = pixels(render_garment(GarmentStyle("red", pattern, garment), 48, seed=0))
    # the garment is red-ish and clearly covers part of the frame, but not all of it
    redness = image[..., 0] - image[..., 1:].max(axis=-1)
    covered = (redness > 60).mean()
    assert 0.04 < covered < 0.8


def test_patterns_change_the_fabric():
    solid = pixels(render_garment("blue solid tee", 64, seed=2))
    for pattern in ("striped", "dotted", "checked", "floral"):
        other = pixels(render_garment(f"blue {pattern} tee", 64, seed=2))
        assert np.abs(solid - other).mean() > 3, pattern


def test_colours_come_from_the_named_palette():
    image = pixels(render_garment("yellow solid coat", 64, seed=0))
    centre = image[24:40, 24:40].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - np.array(PALETTE["yellow"])).max() < 70


def silhouette_features(image) -> np.ndarray:
    """The garment's outline, cropped to its box and shrunk to 12x12: what shape it is, wherever it sits."""
    from PIL import Image

    hsv = pixels(image.convert("HSV")).astype(float) / 255
    mask = (hsv[..., 1] > 0.35) | (hsv[..., 2] < 0.3)  # the backdrop is a light neutral; these fabrics are not
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = mask[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    shape = Image.fromarray((crop * 255).astype(np.uint8)).resize((12, 12), Image.Resampling.BILINEAR)
    aspect = crop.shape[0] / crop.shape[1]
    return np.append(np.asarray(shape, dtype=float).ravel() / 255, 4 * aspect)


def test_garment_shapes_are_distinct_enough_to_tell_apart():
    # Nearest-centroid on the outline alone: garments must be told apart by shape, whatever the colour,
    # position, size, tilt and cut of each render.
    rng = np.random.default_rng(0)
    colours = ["red", "green", "blue", "navy", "purple", "black", "teal"]
    features, labels = [], []
    per_garment = 12
    for g, garment in enumerate(GARMENTS):
        for k in range(per_garment):
            colour = colours[rng.integers(len(colours))]
            features.append(silhouette_features(render_garment(GarmentStyle(colour, "solid", garment), 48, seed=1000 * g + k)))
            labels.append(g)
    features, labels = np.array(features), np.array(labels)
    train = np.arange(len(labels)) % per_garment < 8
    centroids = np.stack([features[train & (labels == g)].mean(axis=0) for g in range(len(GARMENTS))])
    test = ~train
    predicted = np.argmin(((features[test, None, :] - centroids[None]) ** 2).sum(axis=-1), axis=1)
    accuracy = (predicted == labels[test]).mean()
    assert accuracy >= 0.85, accuracy


@pytest.mark.parametrize(
    "text, expected",
    [
        ("red striped dress", GarmentStyle("red", "stripes", "dress")),
        ("Navy  trousers", GarmentStyle("navy", "solid", "trousers")),
        ("floral yellow skirt", GarmentStyle("yellow", "floral", "skirt")),
        ("black polka sneakers", GarmentStyle("black", "dots", "sneaker")),
        ("beige plaid coat", GarmentStyle("beige", "checks", "coat")),
    ],
)
def test_style_names_are_read_the_way_people_write_them(text, expected):
    assert parse_style(text) == expected


def test_style_names_round_trip():
    style = GarmentStyle("pink", "dots", "bag")
    assert style.name == "pink dotted bag" and parse_style(style.name) == style


@pytest.mark.parametrize("text, message", [("striped dress", "needs a colour"), ("red striped", "needs a colour and a garment"),
                                           ("red velvet dress", "cannot place the word 'velvet'")])
def test_unreadable_styles_say_what_is_missing(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_style(text)


def test_tiny_sizes_are_refused():
    with pytest.raises(ConfigError, match="too small"):
        render_garment("red tee", size=8)


def test_grid_has_one_row_per_style():
    sheet = garment_grid(["red tee", "blue bag"], per_style=3, size=32)
    assert sheet.size == (96, 64)
