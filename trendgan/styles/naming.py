"""Names a person can read for each style, built from evidence they would recognise.

A name is ``<colour> [pattern] <garment>``, plus up to two distinctive caption words or hashtags, e.g.
"green sneakers" or "beige checked coat · #coatseason". Each part has its own evidence:

- **colour**: measured on the garment's pixels, not the backdrop (a smooth studio or floor backdrop is modelled from
  the image border and left out; a busy one falls back to the centre of the frame). The style's dominant garment
  colour is also kept as ``colour`` (hex), which the report draws the style in.
- **garment**: from the captions when the style's posts name one: synonyms pooled ("sneakers", "trainers", "kicks"
  and #sneakerhead all count for "sneakers"), the garment named in most of its posts among those its posts name
  at least twice as often as other styles' posts (so the trousers every outfit post mentions in passing do not
  win); else from the encoder: zero-shot text where it has a text tower, otherwise the ImageNet apparel classes,
  pooled over the style's images and kept only when the pooled reading is confident (``confident_garment``). The
  pattern ("striped") likewise.
- **extra words**: the most distinctive caption words and hashtags by class-based TF-IDF (``ClassTfidf``, as
  BERTopic names topics), leaving out garment, pattern and colour words, which the name already says.

Names are stable: a style that keeps its id keeps its name unless its colour or garment changed (``name_styles``
with ``previous``).
"""

from __future__ import annotations

import json
import re
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
    "brown": (110, 70, 40), "dark brown": (70, 45, 35), "khaki": (160, 150, 100), "olive": (100, 105, 45), "green": (40, 140, 60),
    "teal": (0, 120, 120), "light blue": (140, 185, 225), "blue": (40, 80, 190), "navy": (25, 35, 80),
    "purple": (110, 50, 140), "lavender": (185, 160, 215), "pink": (240, 150, 180), "hot pink": (230, 40, 130),
    "red": (200, 30, 40), "burgundy": (110, 20, 40), "orange": (240, 120, 30), "mustard": (205, 160, 40),
    "yellow": (245, 215, 50),
}

# How sure the ImageNet classifier must be before its garment goes into a name. The classes' probabilities are
# pooled over a style's images and summed per garment word (apparel_classes.json); the top garment is named when it
# holds at least MIN_GARMENT_PROBABILITY of the pooled probability and at least MIN_GARMENT_MARGIN times as much as the
# runner-up garment (ImageNet has no shirt or kurta class: a shirt's probability spreads over jean, sweatshirt, suit
# and Windsor tie, and the margin keeps such a style unnamed rather than wrongly named).
# Chosen on labelled images the benchmark never sees (``python benchmarks/naming.py --calibrate``): groups of 8 images
# of one class (8 is the representatives a style is named from), 180 groups of the simulator's garments (10 garments
# x 6 colours x 3 prints, 128 px renders) and 180 of Fashion-MNIST test images (10 classes, inverted to a white
# backdrop like a product photo), scored as right names minus wrong names over both (a family word is right when the
# garment is in the family). Grid: probability 0.05-0.3 x margin 1.5-8; best 0.10 and 5 (75 right, 24 wrong;
# Fashion-MNIST 40 right, 3 wrong, its shirts mostly unnamed). The earlier rule (mean >= 0.25 and the top garment of
# half the images) got 24 right, 15 wrong. Most wrong names left are flat simulator drawings read as a Windsor tie.
MIN_GARMENT_PROBABILITY = 0.10
MIN_GARMENT_MARGIN = 5.0
# A garment read from captions must be named in at least this share of the style's posts.
MIN_CAPTION_COVERAGE = 0.2


@dataclass
class StyleName:
    name: str
    keywords: list[str] = field(default_factory=list)
    colour: str | None = None            # "#rrggbb": the garment's measured dominant colour
    garment: str | None = None
    garment_from: str | None = None      # "captions", "classes", "text" or None


@lru_cache(maxsize=1)
def load_vocabulary() -> dict:
    """The fashion vocabulary and prompt templates shipped with trendgan (zero-shot naming with a text tower)."""
    return json.loads((_HERE / "vocabulary.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def garment_words() -> dict:
    """{"garments": {garment: [words]}, "patterns": {pattern: [words]}} (garment_words.json)."""
    return json.loads((_HERE / "garment_words.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def apparel_classes() -> dict[int, str]:
    """ImageNet class index -> garment word, for the classes that are garments, footwear or accessories."""
    table = json.loads((_HERE / "apparel_classes.json").read_text(encoding="utf-8"))["classes"]
    return {int(index): name for index, name in table.items()}


# --------------------------------------------------------------------------- caption words: class-based TF-IDF

TOKEN_PATTERN = r"(?u)#?\b[^\W\d_][\w'-]*[\w]"


class ClassTfidf:
    """Class-based TF-IDF over the captions of each style (BERTopic's c-TF-IDF, written for styles).

    All captions of a style are joined into one document. A term's weight in a style is its frequency there (L1
    normalised, square-rooted so a word every post repeats does not drown the rest) times
    ``log(1 + A / f)``, where ``A`` is the average number of words per style and ``f`` the term's frequency over all
    styles: words every style uses ("ootd", "love") score low, words one style's posts keep using score high.
    A term must appear in at least ``min_posts`` of a style's posts (and ``min_share`` of them), and in a share of
    them at least ``min_lift`` times its share in the other styles' posts, to be named for it.

    ``fit(captions_per_style)`` sets ``terms_`` (per style, [(term, weight)] best first), ``vocabulary_``,
    ``weights_`` (styles x terms) and ``post_share_`` (share of each style's posts using each term).
    """

    def __init__(self, top_n: int = 10, min_posts: int = 2, min_share: float = 0.05, min_lift: float = 2.0,
                 stop_words="english"):
        self.top_n, self.min_posts, self.min_share, self.min_lift = top_n, min_posts, min_share, min_lift
        self.stop_words = stop_words

    def fit(self, captions_per_style: Sequence[Sequence[str]]) -> "ClassTfidf":
        from sklearn.feature_extraction.text import CountVectorizer

        posts = [[str(c) for c in captions if c] for captions in captions_per_style]
        texts = [c for captions in posts for c in captions]
        self.vocabulary_, self.terms_ = [], [[] for _ in posts]
        self.weights_ = np.zeros((len(posts), 0))
        self.post_share_ = np.zeros((len(posts), 0))
        if not texts:
            return self
        vectorizer = CountVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, stop_words=self.stop_words)
        try:
            counts = vectorizer.fit_transform(texts)
        except ValueError:  # nothing but stop words
            return self
        owner = np.repeat(np.arange(len(posts)), [len(p) for p in posts])
        per_style = np.zeros((len(posts), counts.shape[1]))
        uses = np.zeros_like(per_style)
        np.add.at(per_style, owner, counts.toarray())
        np.add.at(uses, owner, (counts > 0).toarray().astype(float))
        self.vocabulary_ = vectorizer.get_feature_names_out().tolist()
        self.weights_ = class_tfidf(per_style)
        sizes = np.array([max(len(p), 1) for p in posts], dtype=float)[:, None]
        self.post_share_ = uses / sizes
        others = (self.post_share_.sum(axis=0, keepdims=True) - self.post_share_) / max(len(posts) - 1, 1)
        supported = ((uses >= self.min_posts) & (self.post_share_ >= self.min_share)
                     & (self.post_share_ >= self.min_lift * others))
        for s in range(len(posts)):
            order = np.argsort(-self.weights_[s], kind="stable")
            self.terms_[s] = [(self.vocabulary_[t], float(self.weights_[s, t])) for t in order
                              if supported[s, t] and self.weights_[s, t] > 0][: self.top_n]
        return self


def class_tfidf(counts: np.ndarray) -> np.ndarray:
    """c-TF-IDF of a (classes x terms) count matrix: sqrt(L1-normalised tf) * log(1 + mean words per class / f)."""
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return counts
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
    frequency = counts.sum(axis=0)
    average_words = counts.sum(axis=1).mean()
    idf = np.log(1 + average_words / np.maximum(frequency, 1e-12))
    return np.sqrt(tf) * idf


def _surface_index(table: dict) -> list[tuple[str, str]]:
    """(word, concept) pairs, longest word first, with spaces and hyphens dropped (as hashtags write them)."""
    pairs = {re.sub(r"[\s-]", "", w.lower()): concept for concept, words in table.items() for w in [concept, *words]}
    return sorted(pairs.items(), key=lambda kv: (-len(kv[0]), kv[0]))


@lru_cache(maxsize=1)
def _garment_index():
    return _surface_index(garment_words()["garments"])


@lru_cache(maxsize=1)
def _pattern_index():
    return _surface_index(garment_words()["patterns"])


@lru_cache(maxsize=1)
def _colour_words_in_posts() -> set[str]:
    words = {w for w in PALETTE} | {w.replace(" ", "") for w in PALETTE}
    for colour, synonyms in garment_words().get("colours", {}).items():
        words |= {colour, *synonyms, *(s.replace(" ", "").replace("-", "") for s in synonyms)}
    return words


def concepts_in(text: str, index: list[tuple[str, str]]) -> set[str]:
    """The garments (or patterns) a caption names: words and two-word phrases matched exactly, and hashtags that
    start or end with a word of four letters or more (#greensneakers, #sneakerhead) or end with a shorter one after
    a colour (#redtee)."""
    found = set()
    lookup = dict(index)
    tokens = re.findall(TOKEN_PATTERN, str(text).lower())
    plain = [t.lstrip("#") for t in tokens]
    for a, b in zip(plain, plain[1:] + [""]):
        for candidate in (a + b, a, re.sub(r"[\s-]", "", a)):
            if candidate in lookup:
                found.add(lookup[candidate])
                break
    for tag in (t[1:] for t in tokens if t.startswith("#")):
        for word, concept in index:
            if tag == word or (len(word) >= 4 and (tag.startswith(word) or tag.endswith(word))) or (
                    tag.endswith(word) and tag[: -len(word)] in PALETTE):
                found.add(concept)
                break
    return found


def caption_concepts(captions_per_style: Sequence[Sequence[str]], index) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Concepts (garments or patterns) x styles: c-TF-IDF weights and the share of each style's posts naming each."""
    concepts = sorted({concept for _, concept in index})
    position = {c: i for i, c in enumerate(concepts)}
    counts = np.zeros((len(captions_per_style), len(concepts)))
    for s, captions in enumerate(captions_per_style):
        for caption in captions:
            for concept in concepts_in(caption, index):
                counts[s, position[concept]] += 1
    sizes = np.array([max(len(c), 1) for c in captions_per_style], dtype=float)[:, None]
    return concepts, class_tfidf(counts), counts / sizes


def caption_choice(captions_per_style, index, min_coverage: float = MIN_CAPTION_COVERAGE,
                   min_lift: float = 2.0) -> list[str | None]:
    """Per style, the concept (garment or pattern) its posts name most often, among those it names at least
    ``min_lift`` times as often as the other styles' posts do (a garment every style's outfits mention is not this
    style's), when at least ``min_coverage`` of its posts name it."""
    if not any(len(c) for c in captions_per_style):
        return [None] * len(captions_per_style)
    concepts, _, coverage = caption_concepts(captions_per_style, index)
    chosen = []
    for s in range(len(captions_per_style)):
        others = np.delete(coverage, s, axis=0)
        elsewhere = others.mean(axis=0) if len(others) else np.zeros(coverage.shape[1])
        distinctive = (coverage[s] >= min_coverage) & (coverage[s] >= min_lift * elsewhere)
        if not distinctive.any():
            chosen.append(None)
            continue
        best = int(np.argmax(np.where(distinctive, coverage[s], -1.0)))
        chosen.append(concepts[best])
    return chosen


# --------------------------------------------------------------------------- garments from the encoder


def garment_probabilities(probabilities) -> tuple[list[str], np.ndarray]:
    """ImageNet probabilities (N, 1000) -> garment words and (N, garments) probabilities (classes of one garment
    summed; non-apparel classes dropped)."""
    probabilities = np.asarray(probabilities, dtype=float)
    table = apparel_classes()
    garments = sorted(set(table.values()))
    position = {g: i for i, g in enumerate(garments)}
    out = np.zeros((probabilities.shape[0], len(garments)))
    for index, garment in table.items():
        if index < probabilities.shape[1]:
            out[:, position[garment]] += probabilities[:, index]
    return garments, out


def pooled_garments(probabilities) -> list[tuple[str, float]]:
    """(garment, pooled probability) best first: a style's ImageNet probabilities averaged over its images and summed
    per garment word. Pooling reads a style far more surely than one image: a watch is "analog clock" in one photo and
    "stopwatch" in the next, and both are the watch."""
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        return []
    garments, by_garment = garment_probabilities(probabilities)
    mass = by_garment.mean(axis=0)
    return [(garments[i], float(mass[i])) for i in np.lexsort((garments, -mass))]


def confident_garment(probabilities, min_probability: float = MIN_GARMENT_PROBABILITY,
                      min_margin: float = MIN_GARMENT_MARGIN) -> str | None:
    """The garment the classifier sees in a style's images, or None when it is not confident.

    Confident: the top garment of the pooled reading (``pooled_garments``) holds at least ``min_probability`` and at
    least ``min_margin`` times the runner-up garment's probability (see MIN_GARMENT_PROBABILITY for how both were
    chosen). When no garment is, the same test is made on garment families (garment_words.json: loafers, clogs and
    sneakers are all "shoes"), so a style the classifier knows is footwear, but not which, is named "shoes".
    """
    ranked = pooled_garments(probabilities)
    for reading in (ranked, _by_family(ranked)):
        if reading and _is_sure(reading, min_probability, min_margin):
            return reading[0][0]
    return None


def _is_sure(ranked: list[tuple[str, float]], min_probability: float, min_margin: float) -> bool:
    mass, runner_up = ranked[0][1], (ranked[1][1] if len(ranked) > 1 else 0.0)
    return mass >= min_probability and mass >= min_margin * runner_up


def _by_family(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """A pooled garment reading summed per garment family (a garment in no family stands for itself), best first."""
    family_of = {garment: family for family, members in garment_words().get("families", {}).items()
                 for garment in members}
    mass: dict[str, float] = {}
    for garment, value in ranked:
        family = family_of.get(garment, garment)
        mass[family] = mass.get(family, 0.0) + value
    return sorted(mass.items(), key=lambda kv: (-kv[1], kv[0]))


def apparel_from_classes(probabilities, top: int = 2, min_mass: float = 0.02) -> list[str]:
    """The garment words carrying most ImageNet probability over a style's images, best first (a runner-up only
    when about as probable as the first); a style the CNN cannot read gets none."""
    ranked = [(garment, mass) for garment, mass in pooled_garments(probabilities) if mass >= min_mass]
    return [name for i, (name, value) in enumerate(ranked[:top]) if i == 0 or value >= 0.5 * ranked[0][1]]


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
        names.append(StyleName(name=name, keywords=[w for w in picked.values() if w not in omit],
                               garment=picked.get("garments"), garment_from="text"))
    return names


# --------------------------------------------------------------------------- colours on the garment


def _srgb_to_lab(rgb) -> np.ndarray:
    """sRGB (0..255) to CIE Lab (D65): a space where distances match how different colours look."""
    c = np.asarray(rgb, dtype=float).reshape(-1, 3) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def lab_to_srgb(lab) -> np.ndarray:
    """CIE Lab (D65) back to sRGB 0..255 (clipped to the gamut)."""
    lab = np.asarray(lab, dtype=float).reshape(-1, 3)
    fy = (lab[:, 0] + 16) / 116
    fx, fz = fy + lab[:, 1] / 500, fy - lab[:, 2] / 200
    f = np.stack([fx, fy, fz], axis=1)
    xyz = np.where(f > 0.206893, f ** 3, (f - 16 / 116) / 7.787) * np.array([0.95047, 1.0, 1.08883])
    linear = xyz @ np.linalg.inv(np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                                           [0.0193, 0.1192, 0.9505]])).T
    linear = np.clip(linear, 0, 1)
    srgb = np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)
    return np.clip(srgb * 255, 0, 255)


def rgb_to_hex(rgb) -> str:
    r, g, b = (int(round(float(v))) for v in np.asarray(rgb).reshape(3))
    return f"#{r:02x}{g:02x}{b:02x}"


_PALETTE_NAMES = list(PALETTE)
_PALETTE_LAB = _srgb_to_lab(np.array(list(PALETTE.values())))


def colour_name(rgb) -> str:
    """The nearest named colour (in Lab) to one sRGB triple."""
    distance = np.linalg.norm(_PALETTE_LAB - _srgb_to_lab(rgb), axis=1)
    return _PALETTE_NAMES[int(distance.argmin())]


def garment_pixels(image, size: int = 64) -> np.ndarray:
    """Lab pixels of the garment, without the backdrop.

    The backdrop is modelled from the image's border as a smooth surface per Lab channel (a studio sweep, or a floor
    lit from one side), fitted robustly so a garment or a model touching one edge does not bend it: a quadratic in
    x and y, refitted twice on the border pixels that lie near it. When most of the border lies on that surface,
    pixels near the surface are backdrop and left out; when it does not (a busy street), the middle half of the
    frame stands in for the garment.
    """
    from PIL import Image

    rgb = np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR), dtype=float)
    lab = _srgb_to_lab(rgb).reshape(-1, 3)
    edge = max(2, size // 20)
    ring = np.zeros((size, size), dtype=bool)
    ring[:edge], ring[-edge:], ring[:, :edge], ring[:, -edge:] = True, True, True, True
    ring = ring.ravel()
    y, x = (g.ravel() for g in np.mgrid[0:size, 0:size] / (size - 1))
    design = np.stack([np.ones_like(x), x, y, x * y, x * x, y * y], axis=1)
    inliers = ring.copy()
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(design[inliers], lab[inliers], rcond=None)
        distance = np.linalg.norm(lab - design @ coefficients, axis=1)
        spread = float(np.median(distance[inliers]))
        inliers = ring & (distance <= max(6.0, 2.5 * spread))
    if inliers.sum() >= 0.6 * ring.sum():
        keep = distance > max(10.0, 4 * spread)
        if keep.sum() >= 0.03 * size * size:
            return lab[keep]
    quarter = size // 4
    return lab.reshape(size, size, 3)[quarter:size - quarter, quarter:size - quarter].reshape(-1, 3)


# The garment's colour is its largest colour cluster, unless a cluster covering at least MAIN_MIN_SHARE of the garment
# is clearly more colourful (chroma MAIN_CHROMA_MARGIN higher) and not a skin tone: a red-and-cream striped tee reads
# "red" to a buyer, however the stripes split the pixels, and a white shirt on a model stays white. The margin was
# chosen on simulated garments (14 colours x 5 prints x 3 garments, 6 renders each; margins 6, 8, 10 and k 3, 4
# tried): median error 6.9 Delta E against the colour they were drawn in, 90th percentile 22.8 (white garments on
# light backdrops and blended checks err most); the largest cluster alone gave a median of 12.
MAIN_MIN_SHARE = 0.15
MAIN_CHROMA_MARGIN = 6.0


def _pixel_clusters(pixels_per_image: Sequence[np.ndarray], seed: int = 0, k: int = 3):
    """k-means (k <= 3) in Lab, lightness at half weight so shading does not split a fabric, over garment pixels
    (``garment_pixels``, one array per image): (centres, shares), the garment's main colour first, then by share."""
    from sklearn.cluster import KMeans

    pixels = np.concatenate(pixels_per_image) if len(pixels_per_image) else np.empty((0, 3))
    if len(pixels) == 0:
        return np.empty((0, 3)), np.empty(0)
    rng = np.random.default_rng(seed)
    if len(pixels) > 20_000:
        pixels = pixels[rng.choice(len(pixels), 20_000, replace=False)]
    k = min(k, len(np.unique(pixels.round(1), axis=0)))
    model = KMeans(n_clusters=k, random_state=seed, n_init=2).fit(pixels * np.array([0.5, 1.0, 1.0]))
    shares = np.bincount(model.labels_, minlength=k) / len(pixels)
    centres = np.array([np.median(pixels[model.labels_ == c], axis=0) for c in range(k)])
    chroma = np.hypot(centres[:, 1], centres[:, 2])
    main = int(np.argmax(shares))
    for c in range(k):
        if shares[c] >= MAIN_MIN_SHARE and chroma[c] > chroma[main] + MAIN_CHROMA_MARGIN and not looks_like_skin(centres[c]):
            main = c
    order = [main] + [c for c in np.argsort(-shares, kind="stable") if c != main]
    return centres[order], shares[order]


def looks_like_skin(lab) -> bool:
    """Whether a Lab colour lies in the range of skin tones (a* 8-30, b* 10-35: reddish-yellow, moderately
    saturated): a model's arms and face are colourful next to a white shirt and must not win the garment's colour
    by being colourful. Beige and khaki (a* under 8) are not in it."""
    lightness, a, b = (float(v) for v in np.asarray(lab).reshape(3))
    return 25 <= lightness <= 85 and 8 <= a <= 30 and 10 <= b <= 35


def dominant_colours(images: Sequence, n: int = 2, seed: int = 0, min_share: float = 0.3) -> list[str]:
    """Dominant colour names of a set of images' garments (see ``style_colours``)."""
    return style_colours(images, seed, n=n, min_share=min_share)[0]


MIXED_COLOURS = "mixed-colour"


def style_colours(images: Sequence, seed: int = 0, n: int = 2, min_share: float = 0.3) -> tuple[list[str], str | None]:
    """A style's colour words and its chart colour ("#rrggbb"), voted over its images' garments.

    Each image's garment gets its own colours first (a second colour only when it covers ``min_share`` of the garment
    and looks clearly different: "grey and light grey" says nothing). A colour names the style when at least half of
    the images have it as their main colour; a second colour when at least half of those also have it. A style of
    tees in red, navy and white has no such colour: pooling their pixels would average them into a charcoal no tee
    has, so its words are ["mixed-colour"] and its chart colour is the garments' pooled main colour.
    """
    images = list(images)
    if not images:
        return [], None
    pixels = [garment_pixels(image) for image in images]
    per_image = [_pixel_clusters([p], seed) for p in pixels]
    words = [_colour_words(centres, shares, n=n, min_share=min_share) for centres, shares in per_image]
    mains = [w[0] if w else None for w in words]
    main, votes = max(((m, mains.count(m)) for m in set(mains) if m), key=lambda mv: (mv[1], mv[0]), default=(None, 0))
    if main is None or 2 * votes < len(images):
        centres, _ = _pixel_clusters(pixels, seed)
        return [MIXED_COLOURS], rgb_to_hex(lab_to_srgb(centres[0])[0]) if len(centres) else None
    agreeing = [i for i, m in enumerate(mains) if m == main]
    colours = [main]
    seconds = [w[1] for i, w in enumerate(words) if i in agreeing and len(w) > 1]
    if n > 1 and seconds:
        second = max(set(seconds), key=lambda c: (seconds.count(c), c))
        if 2 * seconds.count(second) >= len(agreeing):
            colours.append(second)
    centre = np.median([per_image[i][0][0] for i in agreeing], axis=0)
    return colours, rgb_to_hex(lab_to_srgb(centre)[0])


def _colour_words(centres, shares, n: int = 2, min_share: float = 0.3) -> list[str]:
    names: list[str] = []
    kept: list[np.ndarray] = []
    for centre, share in zip(centres, shares):
        name = _PALETTE_NAMES[int(np.linalg.norm(_PALETTE_LAB - centre, axis=1).argmin())]
        if names and (name in names or share < min_share or min(np.linalg.norm(centre - o) for o in kept) < 30):
            continue
        names.append(name)
        kept.append(centre)
        if len(names) == n:
            break
    return names


def garment_colour(images: Sequence, seed: int = 0) -> str | None:
    """The garment's dominant colour over a style's images, as "#rrggbb" (None without images)."""
    return style_colours(images, seed)[1]


# --------------------------------------------------------------------------- putting a name together


def name_style_from_images(images: Sequence, classify: Callable | None = None, seed: int = 0,
                           captions: Sequence[str] | None = None) -> StyleName:
    """Name one style on its own (see ``name_styles`` for several, where caption words can be compared)."""
    return name_styles([list(images)], [list(captions or [])], classify=classify, seed=seed)[0]


def name_styles(images_per_style: Sequence[Sequence], captions_per_style: Sequence[Sequence[str]] | None = None,
                classify: Callable | None = None, garments_from_text: Sequence[str | None] | None = None,
                style_ids: Sequence | None = None, previous: dict | None = None, seed: int = 0,
                extra_terms: int = 2) -> list[StyleName]:
    """Names for several styles at once (captions are compared across styles, so they must all be given together).

    - ``images_per_style``: each style's representative images (PIL), for colours and the classifier;
    - ``captions_per_style``: each style's post captions (any number; empty lists are fine);
    - ``classify``: images -> (N, 1000) ImageNet probabilities (effnet-lite0), used when there is no text tower;
    - ``garments_from_text``: per style, the garment a text tower read zero-shot (replaces ``classify``);
    - ``previous``: {style_id: (name, keywords)} of the styles run these ids come from: a style whose colour and
      garment are unchanged keeps its old name.
    """
    n = len(images_per_style)
    captions = [list(c) for c in (captions_per_style or [[]] * n)]
    style_ids = list(style_ids) if style_ids is not None else list(range(n))
    caption_garments = caption_choice(captions, _garment_index())
    caption_patterns = caption_choice(captions, _pattern_index())
    # Distinctive words need other styles to be distinctive against.
    terms = ClassTfidf(top_n=10).fit(captions).terms_ if n > 1 and any(captions) else [[] for _ in range(n)]
    names = []
    for s in range(n):
        images = list(images_per_style[s])
        colours, hex_colour = style_colours(images, seed)
        garment, source = caption_garments[s], "captions"
        if garment is None and garments_from_text is not None:
            garment, source = garments_from_text[s], "text"
        elif garment is None and classify is not None and images:
            garment, source = confident_garment(classify(images)), "classes"
        if garment is None:
            source = None
        pattern = caption_patterns[s]
        if pattern:
            colours = colours[:1]  # a print's second colour is part of the print: "red striped tee"
        core = " ".join(w for w in (" and ".join(colours), pattern, garment) if w)
        extra = _extra_terms([t for t, _ in terms[s]], {garment, pattern, *colours}, extra_terms)
        if not garment:
            core = f"{core} look".strip() if core else ""
        name = core
        if extra:
            name = f"{core} · {', '.join(extra)}" if core else ", ".join(extra)
        keywords = [*colours, *([pattern] if pattern else []), *([garment] if garment else []), *extra]
        names.append(StyleName(name=name, keywords=keywords, colour=hex_colour, garment=garment, garment_from=source))
    if previous:
        names = [keep_stable(name, previous.get(_py(style_id))) for name, style_id in zip(names, style_ids)]
    return names


def _extra_terms(terms: list[str], said: set, limit: int) -> list[str]:
    """Distinctive caption terms that add something: not a garment, pattern or colour word (the name says those
    from stronger evidence), nor a hashtag built on one."""
    colour_words = _colour_words_in_posts()
    out = []
    for term in terms:
        bare = term.lstrip("#")
        concepts = concepts_in(term, _garment_index()) | concepts_in(term, _pattern_index())
        if concepts or bare in colour_words or any(bare.startswith(c) for c in colour_words if len(c) >= 4) or (
                bare in {w.replace(" ", "") for w in said if w}):
            continue
        out.append(term)
        if len(out) == limit:
            break
    return out


def keep_stable(new: StyleName, old) -> StyleName:
    """The previous name when the style still has the same main colour and garment (both words of the previous
    name's core, before any " · " extras); the new name otherwise."""
    if not old or not old[0]:
        return new
    old_name = str(old[0])
    core = set(re.sub(r" \(style \d+\)$", "", old_name).split(" · ")[0].lower().split())
    colours = [k for k in new.keywords if k in PALETTE or k == MIXED_COLOURS]
    same_colour = not colours or set(colours[0].split()) <= core
    same_garment = new.garment is None or set(new.garment.split()) <= core
    if same_colour and same_garment:
        return StyleName(name=old_name, keywords=[str(k) for k in (old[1] if old[1] is not None else [])],
                         colour=new.colour, garment=new.garment, garment_from=new.garment_from)
    return new


def unique_names(names: list[str], style_ids, kind: str = "style") -> list[str]:
    """Empty or repeated names get the id ("(style 3)", or "(family 3)" with ``kind="family"``), so no two styles
    or families read the same in a report."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    result = []
    for name, style_id in zip(names, style_ids):
        if not name:
            result.append(f"{kind} {style_id}")
        elif counts[name] > 1:
            result.append(f"{name} ({kind} {style_id})")
        else:
            result.append(name)
    return result


def _py(value):
    return value.item() if hasattr(value, "item") else value
