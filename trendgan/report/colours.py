"""Each style drawn in its own garment's colour, kept readable on a white page and distinct from the others.

The styles stage measures each style's dominant garment colour (``styles.colour``, hex; see
``trendgan.styles.naming.garment_colour``); runs written before it did are measured here from their representative
images. Two adjustments keep the charts readable, both as small as they can be:

- lightness is kept between ``MIN_LIGHTNESS`` and ``MAX_LIGHTNESS`` (CIE L*), so a white tee is drawn light grey
  rather than invisible on the white page;
- two styles closer than ``MIN_DISTANCE`` (CIE76 Delta E) are moved apart in lightness, the smaller style moving,
  so a navy and a black style can still be told apart; colours that cannot be separated that way (many styles of
  one colour) are left as they are, since their names and panels still tell them apart.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

MIN_LIGHTNESS, MAX_LIGHTNESS = 18.0, 80.0
MIN_DISTANCE = 12.0
MAX_SHIFT = 30.0
FALLBACK = "#7f7f7f"


def style_colours(styles, measure_missing: bool = True) -> dict:
    """style_id -> "#rrggbb" for every style in a styles table (style_id, size, colour?, representative_paths?)."""
    if styles is None or len(styles) == 0:
        return {}
    measured = {}
    for row in styles.itertuples(index=False):
        colour = getattr(row, "colour", None)
        if not _is_hex(colour) and measure_missing:
            colour = _measure(getattr(row, "representative_paths", None))
        measured[_py(row.style_id)] = colour if _is_hex(colour) else FALLBACK
    sizes = {_py(r.style_id): float(getattr(r, "size", 0) or 0) for r in styles.itertuples(index=False)}
    return readable_colours(measured, sizes)


def readable_colours(colours: Mapping, sizes: Mapping | None = None) -> dict:
    """The adjustments above, applied to {key: "#rrggbb"}; larger styles (``sizes``) keep their colour first."""
    from trendgan.styles.naming import _srgb_to_lab, lab_to_srgb, rgb_to_hex

    keys = sorted(colours, key=lambda k: (-(sizes or {}).get(k, 0.0), str(k)))
    labs = {k: _srgb_to_lab(hex_to_rgb(colours[k]))[0] for k in keys}
    placed: list[np.ndarray] = []
    out = {}
    for key in keys:
        lab = labs[key].copy()
        lab[0] = np.clip(lab[0], MIN_LIGHTNESS, MAX_LIGHTNESS)
        if placed and min(np.linalg.norm(lab - p) for p in placed) < MIN_DISTANCE:
            lab = _move_apart(lab, placed)
        placed.append(lab)
        out[key] = rgb_to_hex(lab_to_srgb(lab)[0])
    return out


def _move_apart(lab: np.ndarray, placed: Sequence[np.ndarray]) -> np.ndarray:
    """The smallest lightness shift (either way, up to MAX_SHIFT) leaving ``lab`` MIN_DISTANCE from every placed colour."""
    for shift in np.arange(2.0, MAX_SHIFT + 0.1, 2.0):
        for sign in (1, -1):
            candidate = lab.copy()
            candidate[0] = candidate[0] + sign * shift
            if not MIN_LIGHTNESS <= candidate[0] <= MAX_LIGHTNESS:
                continue
            if min(np.linalg.norm(candidate - p) for p in placed) >= MIN_DISTANCE:
                return candidate
    return lab


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference of two "#rrggbb" colours (about 2.3 is just noticeable; 10 clearly different)."""
    from trendgan.styles.naming import _srgb_to_lab

    return float(np.linalg.norm(_srgb_to_lab(hex_to_rgb(a)) - _srgb_to_lab(hex_to_rgb(b))))


def _measure(paths) -> str | None:
    from PIL import Image, UnidentifiedImageError

    from trendgan.styles.naming import garment_colour

    images = []
    for path in list(paths if paths is not None else [])[:8]:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError):
            continue
    return garment_colour(images) if images else None


def _is_hex(value) -> bool:
    return isinstance(value, str) and len(value) == 7 and value.startswith("#")


def _py(value):
    return value.item() if hasattr(value, "item") else value
