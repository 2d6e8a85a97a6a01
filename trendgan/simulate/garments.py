"""Procedural garments: the project's own offline renderer of recognisable clothes.

A *style* is a combination of a colour, a pattern and a garment, written the way an analyst would say it:
``"red striped dress"``, ``"navy solid trousers"``, ``"yellow floral skirt"``. Every render of a style is
different (position, scale, rotation, hue, background tone, pattern phase), so a corpus of renders looks like
many photos of similar products rather than one picture copied.

Drawing is Pillow polygons for the silhouettes plus numpy for the fabric patterns, computed in the garment's
own coordinates so prints turn and scale with it. Images are drawn directly at a multiple of the requested size
and reduced with a box filter, which is what antialiases the edges.

>>> from trendgan.simulate.garments import render_garment
>>> render_garment("red striped dress", size=64, seed=3).size
(64, 64)
"""

from __future__ import annotations

import colorsys
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from trendgan.errors import ConfigError

# A named palette (RGB 0..255). Names are the words used in style names and captions.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (196, 32, 40),
    "orange": (236, 120, 30),
    "yellow": (242, 200, 40),
    "green": (46, 139, 66),
    "teal": (20, 140, 140),
    "blue": (40, 100, 205),
    "navy": (28, 38, 92),
    "purple": (116, 54, 150),
    "pink": (236, 120, 170),
    "brown": (120, 72, 40),
    "beige": (214, 190, 150),
    "grey": (128, 128, 132),
    "black": (30, 30, 32),
    "white": (246, 246, 242),
}

PATTERNS: tuple[str, ...] = ("solid", "stripes", "dots", "checks", "floral")

# How people write patterns in style names -> the pattern drawn.
PATTERN_WORDS: dict[str, str] = {
    "solid": "solid", "plain": "solid",
    "stripes": "stripes", "striped": "stripes", "stripe": "stripes",
    "dots": "dots", "dotted": "dots", "polka": "dots", "spotted": "dots",
    "checks": "checks", "checked": "checks", "check": "checks", "checkered": "checks", "plaid": "checks", "gingham": "checks",
    "floral": "floral", "flowers": "floral", "flowery": "floral",
}

# Adjective used when a pattern is written back into a style name or caption.
PATTERN_ADJECTIVE = {"solid": "solid", "stripes": "striped", "dots": "dotted", "checks": "checked", "floral": "floral"}


@dataclass(frozen=True)
class GarmentStyle:
    """One style: a colour, a pattern and a garment."""

    colour: str
    pattern: str
    garment: str

    @property
    def name(self) -> str:
        return f"{self.colour} {PATTERN_ADJECTIVE[self.pattern]} {self.garment}"


def parse_style(text: str) -> GarmentStyle:
    """``"red striped dress"`` -> GarmentStyle("red", "stripes", "dress"). The pattern may be left out (solid).

    Words may come in any order; each of colour, pattern and garment must appear at most once.
    """
    words = [w for w in re.split(r"[\s_\-]+", text.strip().lower()) if w]
    colour = pattern = garment = None
    for word in words:
        singular = GARMENT_ALIASES.get(word, word)
        if word in PALETTE and colour is None:
            colour = word
        elif word in PATTERN_WORDS and pattern is None:
            pattern = PATTERN_WORDS[word]
        elif singular in GARMENTS and garment is None:
            garment = singular
        else:
            raise ConfigError(
                f"style {text!r}: cannot place the word {word!r}; a style is '<colour> [pattern] <garment>' with colours "
                f"{', '.join(PALETTE)}; patterns {', '.join(PATTERNS)}; garments {', '.join(GARMENTS)}"
            )
    if colour is None or garment is None:
        raise ConfigError(
            f"style {text!r} needs a colour and a garment, e.g. 'red striped dress' "
            f"(colours: {', '.join(PALETTE)}; garments: {', '.join(GARMENTS)})"
        )
    return GarmentStyle(colour, pattern or "solid", garment)


# --------------------------------------------------------------------------- silhouettes
#
# Each garment is a list of parts in unit coordinates (x right, y down, the garment roughly inside 0.06..0.94).
# "fabric" parts get the colour and pattern; "trim" parts a flat colour (soles, handles, belts); "lines" are seams
# and details drawn over everything in a darker shade; "dots" are buttons.


@dataclass
class Silhouette:
    fabric: list[list[tuple[float, float]]]
    trim: list[tuple[list[tuple[float, float]], str]]  # (polygon, "sole" | "dark" | "gold")
    lines: list[list[tuple[float, float]]]
    dots: list[tuple[float, float, float]]  # (x, y, radius)
    thick_lines: list[tuple[list[tuple[float, float]], float, str]] = None  # (polyline, width, kind)


def _mirror(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(1.0 - x, y) for x, y in points]


def _symmetric(right_half: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A left-right symmetric outline from its right half listed top to bottom (x >= 0.5)."""
    return right_half + _mirror(right_half)[::-1]


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int = 12):
    angles = np.linspace(math.radians(start_deg), math.radians(end_deg), n)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _tee() -> Silhouette:
    right = [(0.5, 0.21), (0.56, 0.195), (0.60, 0.15), (0.66, 0.16), (0.80, 0.22), (0.93, 0.40), (0.82, 0.47),
             (0.73, 0.38), (0.73, 0.87)]
    neck = [(0.40, 0.15)] + [(0.5 + 0.10 * math.cos(a), 0.15 + 0.07 * math.sin(a)) for a in np.linspace(math.pi, 0, 9)]
    return Silhouette(
        fabric=[_symmetric(right)],
        trim=[],
        lines=[neck, [(0.27, 0.83), (0.73, 0.83)], [(0.86, 0.44), (0.90, 0.42)], [(0.14, 0.44), (0.10, 0.42)]],
        dots=[],
    )


def _longsleeve_body(length: float) -> list[tuple[float, float]]:
    return _symmetric([(0.5, 0.15), (0.58, 0.08), (0.66, 0.10), (0.72, 0.16), (0.71, 0.50), (0.74, length)])


def _coat() -> Silhouette:
    sleeve = [(0.70, 0.14), (0.77, 0.18), (0.88, 0.68), (0.79, 0.72), (0.70, 0.38)]
    lapel_r = [(0.58, 0.08), (0.55, 0.30), (0.5, 0.40)]
    return Silhouette(
        fabric=[sleeve, _mirror(sleeve), _longsleeve_body(0.94)],
        trim=[([(0.29, 0.50), (0.71, 0.50), (0.715, 0.555), (0.285, 0.555)], "dark")],
        lines=[lapel_r, _mirror(lapel_r), [(0.5, 0.40), (0.5, 0.94)], [(0.30, 0.66), (0.40, 0.66)], [(0.60, 0.66), (0.70, 0.66)]],
        dots=[(0.535, 0.44, 0.013), (0.535, 0.62, 0.013), (0.535, 0.76, 0.013)],
    )


def _dress() -> Silhouette:
    right = [(0.5, 0.24), (0.57, 0.09), (0.62, 0.08), (0.64, 0.20), (0.62, 0.30), (0.60, 0.42), (0.66, 0.60),
             (0.76, 0.80), (0.84, 0.93)]
    hem = [(0.84 - 0.68 * i / 10, 0.93 + 0.025 * math.sin(math.pi * i / 10)) for i in range(11)]
    outline = right + hem[1:-1] + _mirror(right)[::-1]
    return Silhouette(
        fabric=[outline],
        trim=[([(0.40, 0.42), (0.60, 0.42), (0.605, 0.46), (0.395, 0.46)], "dark")],
        lines=[[(0.45, 0.50), (0.36, 0.90)], [(0.55, 0.50), (0.64, 0.90)]],
        dots=[],
    )


def _skirt() -> Silhouette:
    right = [(0.5, 0.22), (0.66, 0.22), (0.67, 0.28), (0.76, 0.55), (0.85, 0.78)]
    hem = [(0.85 - 0.70 * i / 10, 0.78 + 0.03 * math.sin(math.pi * i / 10)) for i in range(11)]
    outline = right + hem[1:-1] + _mirror(right)[::-1]
    pleats = [[(0.5 + d * 0.06, 0.30), (0.5 + d * 0.13, 0.79)] for d in (-2, -1, 0, 1, 2)]
    return Silhouette(
        fabric=[outline],
        trim=[([(0.34, 0.22), (0.66, 0.22), (0.67, 0.28), (0.33, 0.28)], "dark")],
        lines=pleats,
        dots=[],
    )


def _trousers() -> Silhouette:
    right = [(0.5, 0.08), (0.70, 0.08), (0.72, 0.15), (0.74, 0.35), (0.72, 0.94), (0.545, 0.94), (0.5, 0.36)]
    outline = right + _mirror(right)[::-1][1:]
    return Silhouette(
        fabric=[outline],
        trim=[],
        lines=[[(0.29, 0.14), (0.71, 0.14)], [(0.5, 0.14), (0.5, 0.30)], [(0.62, 0.15), (0.68, 0.24)],
               [(0.38, 0.15), (0.32, 0.24)], [(0.63, 0.40), (0.63, 0.92)], [(0.37, 0.40), (0.37, 0.92)]],
        dots=[(0.5, 0.11, 0.012)],
    )


def _shorts() -> Silhouette:
    right = [(0.5, 0.28), (0.72, 0.28), (0.74, 0.36), (0.80, 0.68), (0.55, 0.72), (0.5, 0.52)]
    outline = right + _mirror(right)[::-1][1:]
    return Silhouette(
        fabric=[outline],
        trim=[],
        lines=[[(0.27, 0.34), (0.73, 0.34)], [(0.5, 0.34), (0.5, 0.48)], [(0.79, 0.64), (0.56, 0.675)], [(0.21, 0.64), (0.44, 0.675)]],
        dots=[],
    )


def _sneaker() -> Silhouette:
    upper = [(0.13, 0.64), (0.15, 0.42), (0.22, 0.38), (0.33, 0.41), (0.40, 0.36), (0.47, 0.30), (0.53, 0.32),
             (0.60, 0.42), (0.74, 0.50), (0.86, 0.55), (0.91, 0.62), (0.91, 0.66), (0.13, 0.66)]
    sole = [(0.10, 0.63), (0.93, 0.63), (0.94, 0.70), (0.90, 0.75), (0.14, 0.75), (0.10, 0.71)]
    laces = [[(0.47 + 0.045 * i, 0.37 + 0.035 * i), (0.43 + 0.045 * i, 0.42 + 0.035 * i)] for i in range(4)]
    return Silhouette(
        fabric=[upper],
        trim=[(sole, "sole"), ([(0.13, 0.50), (0.22, 0.46), (0.24, 0.64), (0.13, 0.64)], "dark")],
        lines=laces + [[(0.72, 0.63), (0.76, 0.53)], [(0.12, 0.70), (0.93, 0.70)]],
        dots=[],
    )


def _bag() -> Silhouette:
    body = [(0.22, 0.40), (0.78, 0.40), (0.85, 0.84), (0.82, 0.88), (0.18, 0.88), (0.15, 0.84)]
    flap = [(0.21, 0.40), (0.79, 0.40), (0.76, 0.58), (0.5, 0.64), (0.24, 0.58)]
    handle = _arc(0.5, 0.40, 0.17, 0.24, 180, 360, 16)
    return Silhouette(
        fabric=[body],
        trim=[(flap, "dark")],
        lines=[[(0.17, 0.80), (0.83, 0.80)]],
        dots=[(0.5, 0.60, 0.022)],
        thick_lines=[(handle, 0.045, "dark")],
    )


def _boot() -> Silhouette:
    upper = [(0.30, 0.10), (0.56, 0.10), (0.58, 0.52), (0.80, 0.64), (0.86, 0.72), (0.86, 0.80), (0.30, 0.80)]
    sole = [(0.28, 0.79), (0.88, 0.79), (0.88, 0.86), (0.28, 0.86)]
    heel = [(0.28, 0.84), (0.40, 0.84), (0.40, 0.92), (0.29, 0.92)]
    return Silhouette(
        fabric=[upper],
        trim=[(sole, "dark"), (heel, "dark")],
        lines=[[(0.30, 0.16), (0.56, 0.16)], [(0.56, 0.22), (0.56, 0.56)]],
        dots=[],
    )


def _hat() -> Silhouette:
    crown = _arc(0.5, 0.60, 0.22, 0.30, 180, 360, 16)
    brim = _arc(0.5, 0.62, 0.40, 0.10, 0, 360, 24)
    return Silhouette(
        fabric=[brim, crown],
        trim=[([(0.28, 0.52), (0.72, 0.52), (0.72, 0.58), (0.28, 0.58)], "dark")],
        lines=[],
        dots=[],
    )


SILHOUETTES: dict[str, Callable[[], Silhouette]] = {
    "tee": _tee, "dress": _dress, "trousers": _trousers, "skirt": _skirt, "coat": _coat,
    "sneaker": _sneaker, "bag": _bag, "shorts": _shorts, "boot": _boot, "hat": _hat,
}
GARMENTS: tuple[str, ...] = tuple(SILHOUETTES)
GARMENT_ALIASES = {
    "tees": "tee", "t-shirt": "tee", "tshirt": "tee", "tshirts": "tee", "dresses": "dress", "pants": "trousers",
    "trouser": "trousers", "skirts": "skirt", "coats": "coat", "sneakers": "sneaker", "trainers": "sneaker",
    "bags": "bag", "handbag": "bag", "boots": "boot", "hats": "hat",
}

# How people write about each garment, colour and pattern in posts (the first word is the usual one). The simulator's
# captions draw from these so that a style's posts name it in several ways, as real feeds do ("sneakers", "trainers",
# "kicks"), and style naming has to find the distinctive words rather than read one fixed phrase.
GARMENT_POST_WORDS: dict[str, tuple[str, ...]] = {
    "tee": ("tee", "t-shirt", "tshirt", "graphic tee", "tee shirt"),
    "dress": ("dress", "sundress", "midi dress", "maxi dress"),
    "trousers": ("trousers", "pants", "slacks", "wide-leg trousers"),
    "skirt": ("skirt", "midi skirt", "mini skirt", "pleated skirt"),
    "coat": ("coat", "overcoat", "wool coat", "winter coat"),
    "sneaker": ("sneakers", "trainers", "kicks", "runners"),
    "bag": ("bag", "tote", "handbag", "shoulder bag"),
    "shorts": ("shorts", "bermuda shorts", "summer shorts"),
    "boot": ("boots", "ankle boots", "chelsea boots"),
    "hat": ("hat", "bucket hat", "sun hat"),
}
GARMENT_HASHTAGS: dict[str, tuple[str, ...]] = {
    "tee": ("tee", "tshirt", "graphictee"), "dress": ("dress", "sundress", "dressoftheday"),
    "trousers": ("trousers", "pants", "tailoring"), "skirt": ("skirt", "skirtlove", "midiskirt"),
    "coat": ("coat", "coatseason", "outerwear"), "sneaker": ("sneakers", "sneakerhead", "kicks"),
    "bag": ("bag", "handbag", "totebag"), "shorts": ("shorts", "shortsseason"),
    "boot": ("boots", "bootseason"), "hat": ("hat", "buckethat"),
}
COLOUR_POST_WORDS: dict[str, tuple[str, ...]] = {
    "navy": ("navy", "dark blue"), "beige": ("beige", "camel", "sand"), "grey": ("grey", "gray"),
    "pink": ("pink", "blush"), "green": ("green", "forest green"), "yellow": ("yellow", "sunshine yellow"),
    "black": ("black", "all-black"), "white": ("white", "crisp white"), "red": ("red", "cherry red"),
    "blue": ("blue", "cobalt"), "brown": ("brown", "chocolate"), "purple": ("purple", "plum"),
    "orange": ("orange", "tangerine"), "teal": ("teal",),
}
PATTERN_POST_WORDS: dict[str, tuple[str, ...]] = {
    "solid": ("",), "stripes": ("striped", "stripy", "breton stripe"), "dots": ("polka dot", "dotted", "spotty"),
    "checks": ("checked", "plaid", "gingham"), "floral": ("floral", "flower print", "ditsy floral"),
}
PATTERN_HASHTAGS: dict[str, tuple[str, ...]] = {
    "solid": (), "stripes": ("stripes", "breton"), "dots": ("polkadots", "dots"), "checks": ("plaid", "checks"),
    "floral": ("florals", "floralprint"),
}

# Garments whose product photos are shot from the side: mirrored at random, like real listings.
_SIDE_VIEW = {"sneaker", "boot"}


# --------------------------------------------------------------------------- colour helpers


def _jitter_colour(rgb: tuple[int, int, int], rng: np.random.Generator, hue: float = 0.025, value: float = 0.07):
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = float(np.clip(s * rng.uniform(0.9, 1.08), 0, 1))
    v = float(np.clip(v + rng.uniform(-value, value), 0.05, 1))
    return np.array(colorsys.hsv_to_rgb(h, s, v)) * 255


def _luminance(rgb) -> float:
    r, g, b = (np.asarray(rgb, dtype=float) / 255).tolist()
    return 0.299 * r + 0.587 * g + 0.114 * b


def _contrast_colour(rgb) -> np.ndarray:
    """The second colour of a print: cream on dark fabrics, a deep navy on light ones."""
    return np.array([245, 240, 228.0]) if _luminance(rgb) < 0.62 else np.array([34, 40, 70.0])


# --------------------------------------------------------------------------- patterns


def _pattern(pattern: str, u: np.ndarray, v: np.ndarray, base: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fabric colour (N, 3) at garment coordinates (u, v); ``second`` is the print's other colour."""
    out = np.broadcast_to(base, u.shape + (3,)).copy()
    if pattern == "solid":
        return out
    if pattern == "stripes":
        period = rng.uniform(0.065, 0.085)
        band = ((v / period + rng.uniform(0, 1)) % 1.0) < 0.42
        out[band] = second
        return out
    if pattern == "dots":
        spacing = rng.uniform(0.085, 0.10)
        row = np.floor(v / spacing)
        shift = (row % 2) * 0.5  # staggered rows, as polka dots are printed
        du = ((u / spacing + shift) % 1.0) - 0.5
        dv = ((v / spacing) % 1.0) - 0.5
        out[(du**2 + dv**2) < 0.28**2] = second
        return out
    if pattern == "checks":
        period = rng.uniform(0.11, 0.14)
        phase = rng.uniform(0, 1, size=2)
        across = (((u / period) + phase[0]) % 1.0) < 0.5
        down = (((v / period) + phase[1]) % 1.0) < 0.5
        mix = (across.astype(float) + down.astype(float)) / 2.0  # gingham: 0, 1/2, 1 of the second colour
        return out * (1 - 0.8 * mix[..., None]) + second * (0.8 * mix[..., None])
    if pattern == "floral":
        return _floral(u, v, out, second, rng)
    raise ConfigError(f"unknown pattern {pattern!r}; known: {', '.join(PATTERNS)}")


def _floral(u, v, out, second, rng):
    """Five-petal flowers scattered on a jittered lattice, each with a centre; petals in a few print colours."""
    spacing = rng.uniform(0.12, 0.14)
    cells = 16  # enough lattice cells to cover the unit square with margin for rotation
    offsets = rng.uniform(-0.22, 0.22, size=(cells, cells, 2))
    turns = rng.uniform(0, 2 * math.pi, size=(cells, cells))
    light = _luminance(second) < 0.5  # a dark print colour means the fabric is light
    petal_choices = np.array([[150, 40, 80], [40, 60, 130], [200, 90, 40.0]]) if light else \
        np.array([[250, 245, 235], [250, 190, 210], [255, 225, 120.0]])
    colour_index = rng.integers(0, len(petal_choices), size=(cells, cells))
    cu = np.floor(u / spacing).astype(int) + cells // 4
    cv = np.floor(v / spacing).astype(int) + cells // 4
    cu_c, cv_c = np.clip(cu, 0, cells - 1), np.clip(cv, 0, cells - 1)
    centre_u = (np.floor(u / spacing) + 0.5 + offsets[cv_c, cu_c, 0]) * spacing
    centre_v = (np.floor(v / spacing) + 0.5 + offsets[cv_c, cu_c, 1]) * spacing
    du, dv = u - centre_u, v - centre_v
    radius = np.hypot(du, dv) / spacing
    angle = np.arctan2(dv, du) + turns[cv_c, cu_c]
    petal_edge = 0.34 * (0.55 + 0.45 * np.abs(np.cos(2.5 * angle)))
    petals = radius < petal_edge
    out[petals] = petal_choices[colour_index[cv_c, cu_c]][petals]
    out[radius < 0.09] = np.array([240, 200, 60.0]) if not light else np.array([90, 50, 30.0])
    leaf = (radius > 0.30) & (radius < 0.42) & (np.abs(((angle + 0.6) % (2 * math.pi)) - math.pi) < 0.35)
    out[leaf & ~petals] = np.array([60, 120, 60.0])
    return out


# --------------------------------------------------------------------------- rendering


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A light studio-like backdrop: a neutral tone, light falling from a random side, and a soft spot of light.

    The light varies a lot between pictures on purpose: it is most of what keeps two renders of one style from
    looking like the same photo reposted (perceptual hashes compare exactly this coarse brightness layout).
    """
    tone = rng.uniform(0.70, 0.90)
    tint = rng.uniform(-0.04, 0.04, size=3)
    base = np.clip(tone + tint, 0, 1) * 255
    grid = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(grid, grid)
    direction = rng.uniform(0, 2 * math.pi)
    along = (x - 0.5) * math.cos(direction) + (y - 0.5) * math.sin(direction)
    light = 1.0 + rng.uniform(0.1, LIGHT) * along
    spot_x, spot_y, spot_r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.2, 0.5)
    light = light + SPOT * np.exp(-((x - spot_x) ** 2 + (y - spot_y) ** 2) / (2 * spot_r**2))
    return (base[None, None, :] * light[..., None]).astype(np.float32)


LIGHT = 0.5
SPOT = 0.15
SCALE = (0.64, 1.0)
ANGLE = 12


def render_garment(style: str | GarmentStyle, size: int = 64, seed: int = 0) -> Image.Image:
    """Render one picture of ``style`` (e.g. "red striped dress") as an RGB image ``size`` x ``size``.

    The same style, size and seed always give the same pixels.
    """
    if isinstance(style, str):
        style = parse_style(style)
    if style.garment not in SILHOUETTES:
        raise ConfigError(f"unknown garment {style.garment!r}; known: {', '.join(GARMENTS)}")
    if style.colour not in PALETTE:
        raise ConfigError(f"unknown colour {style.colour!r}; known: {', '.join(PALETTE)}")
    if size < 16:
        raise ConfigError(f"image size {size} is too small to draw a garment; use 16 or more (64 is the default)")
    rng = np.random.default_rng(seed)
    supersample = 3 if size <= 128 else 2 if size <= 320 else 1
    canvas = size * supersample

    scale = rng.uniform(*SCALE)
    angle = math.radians(rng.uniform(-ANGLE, ANGLE))
    mirror = style.garment in _SIDE_VIEW and rng.random() < 0.5
    # Every product is cut a little differently: wider or narrower, longer or shorter, more or less flared.
    width, length, flare = rng.uniform(0.88, 1.12), rng.uniform(0.92, 1.06), rng.uniform(-0.12, 0.12)
    room = max(0.0, (1 - 0.92 * scale * max(width * 1.12, length)) / 2 - 0.015)  # keep the garment in the frame
    shift = rng.uniform(-room, room, size=2)
    fabric_rgb = _jitter_colour(PALETTE[style.colour], rng)
    image = _background(canvas, rng)

    cos_a, sin_a = math.cos(angle), math.sin(angle)

    def to_canvas(points):
        pts = np.asarray(points, dtype=float) - 0.5
        if mirror:
            pts[:, 0] = -pts[:, 0]
        pts[:, 0] *= width * (1 + flare * 2 * pts[:, 1])
        pts[:, 1] *= length
        rotated = np.stack([cos_a * pts[:, 0] - sin_a * pts[:, 1], sin_a * pts[:, 0] + cos_a * pts[:, 1]], axis=1)
        placed = (rotated * scale + 0.5 + shift) * canvas
        return [tuple(p) for p in placed]

    # Garment coordinates of every pixel, so prints follow the garment's rotation and scale.
    grid = ((np.arange(canvas) + 0.5) / canvas).astype(np.float32)
    px, py = np.meshgrid(grid, grid)
    qx, qy = (px - 0.5 - shift[0]) / scale, (py - 0.5 - shift[1]) / scale
    u = cos_a * qx + sin_a * qy
    v = -sin_a * qx + cos_a * qy
    if mirror:
        u = -u
    u, v = u / width + 0.5, v / length + 0.5

    silhouette = SILHOUETTES[style.garment]()
    mask_img = Image.new("L", (canvas, canvas), 0)
    mask_draw = ImageDraw.Draw(mask_img)
    for polygon in silhouette.fabric:
        mask_draw.polygon(to_canvas(polygon), fill=255)
    mask = np.asarray(mask_img) > 127

    # Only the fabric's own pixels need a print colour.
    u, v = u[mask], v[mask]
    fabric = _pattern(style.pattern, u, v, fabric_rgb, _contrast_colour(PALETTE[style.colour]), rng)
    # Soft light from the upper left gives the flat shapes some volume.
    shade = 1.06 - 0.16 * np.clip((u + v) / 2, 0, 1.2)
    image[mask] = fabric * shade[:, None]

    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    edge = tuple(int(c) for c in np.clip(fabric_rgb * 0.55, 0, 255))
    dark = tuple(int(c) for c in np.clip(fabric_rgb * 0.62, 0, 255))
    trim_colours = {"sole": (238, 236, 230), "dark": dark, "gold": (200, 160, 60)}
    line_width = max(1, round(canvas / 64 * 0.9))
    for polygon in silhouette.fabric:
        draw.polygon(to_canvas(polygon), outline=edge, width=line_width)
    for polygon, kind in silhouette.trim:
        draw.polygon(to_canvas(polygon), fill=trim_colours[kind], outline=edge, width=line_width)
    for polyline, thickness, kind in silhouette.thick_lines or []:
        draw.line(to_canvas(polyline), fill=trim_colours[kind], width=max(1, round(thickness * canvas * scale)), joint="curve")
    for polyline in silhouette.lines:
        draw.line(to_canvas(polyline), fill=edge, width=line_width, joint="curve")
    for x, y, r in silhouette.dots:
        (cx, cy), = to_canvas([(x, y)])
        rr = r * canvas * scale
        draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=edge)
    if supersample > 1:
        picture = picture.reduce(supersample)
    return picture


def garment_grid(styles: list[str], per_style: int = 8, size: int = 64, seed: int = 0) -> Image.Image:
    """A contact sheet: one row per style, ``per_style`` renders each (for eyeballing the renderer)."""
    sheet = Image.new("RGB", (per_style * size, len(styles) * size), "white")
    for row, style in enumerate(styles):
        for col in range(per_style):
            sheet.paste(render_garment(style, size=size, seed=seed * 100_003 + row * 1_009 + col), (col * size, row * size))
    return sheet
