"""Decoding for the model: big JPEGs decoded at reduced scale, EXIF rotation honoured, transparency on white."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from trendgan.embed.effnet import LITE_RECIPE


def _photo(width=1600, height=1000):
    """A big photo with a dark band at the top, so orientation mistakes show."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    pixels = np.stack([np.tile(x, (height, 1)), np.full((height, width), 128, np.float32),
                       np.tile(x[::-1], (height, 1))], axis=-1).astype(np.uint8)
    pixels[: height // 5] = 0
    return Image.fromarray(pixels)


def test_big_rotated_jpeg_decodes_like_a_full_decode(tmp_path):
    path = tmp_path / "street.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise on display
    _photo().save(path, quality=95, exif=exif)
    fast = LITE_RECIPE.load(str(path))
    with Image.open(path) as image:
        full = LITE_RECIPE.pixels(ImageOps.exif_transpose(image.convert("RGB")))
    assert fast.shape == (3, 224, 224) and fast.dtype == np.uint8
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 3
    # The dark band was at the top of the stored pixels; displayed upright it is on the right.
    assert fast[:, :, -10:].mean() < 40 and fast[:, :, :10].mean() > 60


def test_transparent_png_lands_on_white(tmp_path):
    path = tmp_path / "cutout.png"
    Image.new("RGBA", (300, 300), (255, 0, 0, 0)).save(path)
    assert LITE_RECIPE.load(str(path)).min() == 255
