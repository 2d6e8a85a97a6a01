"""Names a person can read for each style.

With a text tower (CLIP): zero-shot scoring of each centroid against a fashion vocabulary (vocabulary.json), one
facet at a time, giving e.g. "black leather biker jacket, streetwear". Without one (effnet-lite0): the apparel
ImageNet classes the CNN sees in the style's representative images, plus the dominant colours measured from their
pixels, giving e.g. "navy jeans".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from trendgan.styles.cluster import normalise

_HERE = Path(__file__).resolve().parent

# Named colours an analyst would say, as sRGB; matched to measured pixels in CIE Lab (perceptual distance).
PALETTE = {
    "black": (20, 20, 20), "charcoal": (60, 60, 64), "grey": (128, 128, 128), "light grey": (190, 190, 190),
    "white": (245, 245, 245), "cream": (240, 230, 200), "beige": (215, 195, 160), "tan": (190, 150, 105),
    "brown": (110, 70, 40), "khaki": (160, 150, 100), "olive": (100, 105, 45), "green": (40, 140, 60),
    "teal": (0, 120, 120), "light blue": (140, 185, 225), "blue": (40, 80, 190), "navy": (25, 35, 80),
    "purple": (110, 50, 140), "lavender": (185, 160, 215), "pink": (240, 150, 180), "hot pink": (230, 40, 130),
    "red": (200, 30, 40), "burgundy": (110, 20, 40), "orange": (240, 120, 30), "mustard": (205, 160, 40),
    "yellow": (245, 215, 50),
}


@dataclass
class StyleName:
    name: str
    keywords: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def load_vocabulary() -> dict:
    """The fashion vocabulary and prompt templates shipped with trendgan."""
    return json.loads((_HERE / "vocabulary.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def apparel_classes() -> dict[int, str]:
    """ImageNet class index -> apparel name, for the classes that are garments, footwear or accessories."""
    table = json.loads((_HERE / "apparel_classes.json").read_text(encoding="utf-8"))["classes"]
    return {int(index): name for index, name in table.items()}


# --------------------------------------------------------------------------- with a text tower


def vocabulary_vectors(embed_texts: Callable[[list[str]], np.ndarray], vocabulary: dict | None = None) -> dict:
    """facet -> (terms, unit vectors): each term's prompts ("a photo of a {} garment.") embedded and averaged."""
    vocabulary = vocabulary or load_vocabulary()
    result = {}
    for facet, terms in vocabulary["facets"].items():
        templates = vocabulary["templates"][facet]
        prompts = [template.format(term) for term in terms for template in templates]
        vectors = normalise(embed_texts(prompts)).reshape(len(terms), len(templates), -1).mean(axis=1)
        result[facet] = (list(terms), normalise(vectors))
    return result


def name_styles_with_text(centroids, embed_texts: Callable[[list[str]], np.ndarray],
                          vocabulary: dict | None = None) -> list[StyleName]:
    """Zero-shot names from a text tower: the best colour, material, pattern, garment and style word per centroid.

    Scores are the cosine similarity plus how much more this style matches a term than the average style does,
    so two styles that are both "dresses" still get told apart by what is distinctive about each.
    """
    vocabulary = vocabulary or load_vocabulary()
    omit = set(vocabulary.get("omit", []))
    centroids = normalise(centroids)
    chosen: dict[str, list[str]] = {}
    for facet, (terms, vectors) in vocabulary_vectors(embed_texts, vocabulary).items():
        similarity = centroids @ vectors.T
        if len(centroids) >= 3:
            similarity = similarity + (similarity - similarity.mean(axis=0, keepdims=True))
        chosen[facet] = [terms[i] for i in similarity.argmax(axis=1)]
    names = []
    for i in range(len(centroids)):
        picked = {facet: chosen[facet][i] for facet in chosen}
        look = [picked.get(f) for f in ("colours", "materials", "patterns", "garments")]
        look = [word for word in look if word and word not in omit]
        name = " ".join(look)
        if picked.get("styles"):
            name = f"{name}, {picked['styles']}"
        names.append(StyleName(name=name, keywords=[w for w in picked.values() if w not in omit]))
    return names


# --------------------------------------------------------------------------- without a text tower


def apparel_from_classes(probabilities, top: int = 2, min_mass: float = 0.02) -> list[str]:
    """The apparel names carrying most ImageNet probability over a style's images, best first.

    Non-apparel classes (the CNN's "bath towel" for a pile of shirts) are ignored; a name needs at least
    ``min_mass`` mean probability to count, so a style the CNN cannot read gets no garment word rather than a
    wrong one.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        return []
    mean = probabilities.mean(axis=0)
    mass: dict[str, float] = {}
    for index, name in apparel_classes().items():
        if index < len(mean):
            mass[name] = mass.get(name, 0.0) + float(mean[index])
    ranked = [(name, value) for name, value in sorted(mass.items(), key=lambda item: (-item[1], item[0]))
              if value >= min_mass]
    # a runner-up garment is named only when the CNN sees it about as often as the first
    return [name for i, (name, value) in enumerate(ranked[:top]) if i == 0 or value >= 0.5 * ranked[0][1]]


def _srgb_to_lab(rgb) -> np.ndarray:
    """sRGB (0..255) to CIE Lab (D65): a space where distances match how different colours look."""
    c = np.asarray(rgb, dtype=float).reshape(-1, 3) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


_PALETTE_NAMES = list(PALETTE)
_PALETTE_LAB = _srgb_to_lab(np.array(list(PALETTE.values())))


def colour_name(rgb) -> str:
    """The nearest named colour (in Lab) to one sRGB triple."""
    distance = np.linalg.norm(_PALETTE_LAB - _srgb_to_lab(rgb), axis=1)
    return _PALETTE_NAMES[int(distance.argmin())]


def garment_pixels(image, size: int = 64) -> np.ndarray:
    """Lab pixels of the garment: the image shrunk, and pixels matching a uniform border (studio background) dropped."""
    from PIL import Image

    rgb = np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR), dtype=float)
    lab = _srgb_to_lab(rgb).reshape(size, size, 3)
    edge = max(1, size // 16)
    border = np.concatenate([lab[:edge].reshape(-1, 3), lab[-edge:].reshape(-1, 3),
                             lab[:, :edge].reshape(-1, 3), lab[:, -edge:].reshape(-1, 3)])
    pixels = lab.reshape(-1, 3)
    if np.linalg.norm(border.std(axis=0)) < 12:  # a plain backdrop: catalogue white, Fashion-MNIST black
        keep = np.linalg.norm(pixels - np.median(border, axis=0), axis=1) > 15
        if keep.sum() >= 0.03 * len(pixels):
            pixels = pixels[keep]
    return pixels


def dominant_colours(images: Sequence, n: int = 2, seed: int = 0, min_share: float = 0.3) -> list[str]:
    """Dominant colour names of a set of images: k-means (k=3) in Lab over their garment pixels.

    The largest colour always counts; a second one only when it covers ``min_share`` of the pixels and has a
    different name.
    """
    from sklearn.cluster import KMeans

    pixels = [garment_pixels(image) for image in images]
    pixels = np.concatenate(pixels) if pixels else np.empty((0, 3))
    if len(pixels) == 0:
        return []
    rng = np.random.default_rng(seed)
    if len(pixels) > 20_000:
        pixels = pixels[rng.choice(len(pixels), 20_000, replace=False)]
    k = min(3, len(np.unique(pixels.round(1), axis=0)))
    model = KMeans(n_clusters=k, random_state=seed, n_init=2).fit(pixels)
    shares = np.bincount(model.labels_, minlength=k) / len(pixels)
    names: list[str] = []
    kept: list[np.ndarray] = []
    for cluster in np.argsort(-shares):
        centre = model.cluster_centers_[cluster]
        name = _PALETTE_NAMES[int(np.linalg.norm(_PALETTE_LAB - centre, axis=1).argmin())]
        # a second colour must cover enough pixels and look clearly different ("grey and light grey" says nothing)
        if names and (name in names or shares[cluster] < min_share
                      or min(np.linalg.norm(centre - other) for other in kept) < 30):
            continue
        names.append(name)
        kept.append(centre)
        if len(names) == n:
            break
    return names


def name_style_from_images(images: Sequence, classify: Callable | None = None, seed: int = 0) -> StyleName:
    """Name one style from its representative images: colours from pixels, garment from the CNN's apparel classes."""
    colours = dominant_colours(images, seed=seed) if images else []
    garments = apparel_from_classes(classify(list(images))) if (classify is not None and images) else []
    colour = " and ".join(colours)
    if garments:
        name = f"{colour} {garments[0]}".strip()
        if len(garments) > 1:
            name = f"{name} & {garments[1]}"
    else:
        name = f"{colour} look".strip() if colour else ""
    return StyleName(name=name, keywords=colours + garments)


def unique_names(names: list[str], style_ids) -> list[str]:
    """Empty or repeated names get the style id, so no two styles read the same in a report."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    result = []
    for name, style_id in zip(names, style_ids):
        if not name:
            result.append(f"style {style_id}")
        elif counts[name] > 1:
            result.append(f"{name} (style {style_id})")
        else:
            result.append(name)
    return result
