"""How many styles: the fine level, as fine as the images per period allow.

A style is worth following only when its share per period rests on enough images: with ``c`` images a period a
share has a relative sampling noise of about ``1 / sqrt(c)``. The fine level takes as many styles as keep the
average style at ``min_style_images_per_period`` (4/3) images in the median period, and at ``min_style_images``
(20) images in all (undated stores, such as a catalogue, have only this second bound), within
``k_min..k_max``.

Finer is preferred because the two errors cost differently: two garments that share a style mix their trends
beyond repair, while two styles of one garment are put back together by the family level above
(``trendgan.styles.families``), which merges neighbouring styles whose shares move together. Too fine costs too:
each style's series gets thin and its trend call falls back to "stable".

How 4/3 was chosen: on seeds 5-9 of both look-alike scenarios of ``benchmarks/styles_quality.py`` (Fashion-MNIST,
40 images a week; catalogue photos, 20 a week; two years of weeks), seeds the benchmark does not report, the
stage's own clustering space was clustered at the k each rate allows, split by trend, and the risers and
decliners called by the forecast's trend labels through the style holding most of each class. Right calls out of
50 (30 Fashion-MNIST + 20 catalogue): 2 images a style (k = 20 / 10): 34; 1.5 (27 / 13): 36; 4/3 (30 / 15): 38;
1 (40 / 20): 35. Earlier (seed 0 of the Fashion-MNIST scenario, share error only) the volume bound at 2 had been
preferred over the silhouette's 4 styles (worst class 1.5x the sampling noise against 4.4x).

``tolerance`` (off by default) instead takes the finest k whose k-means silhouette, in the clustering space and
its metric, comes within that fraction of the best silhouette below the bound: for stores of a few clearly
separate looks, where extra styles only cut one look in pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class KChoice:
    k: int
    why: str
    k_cap: int
    images_per_period: float | None = None
    silhouette: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"k": self.k, "why": self.why, "k_cap": self.k_cap, "images_per_period": self.images_per_period,
                "silhouette_by_k": {str(k): round(v, 4) for k, v in self.silhouette.items()}}


def style_cap(n_images: int, period_index, k_min: int, k_max: int, min_style_images_per_period: float = 4 / 3,
              min_style_images: int = 20) -> tuple[int, str, float | None]:
    """The most styles the images can carry: (cap, why, images in the median period or None when undated)."""
    caps = {"k_max": k_max, f"{n_images} images at {min_style_images} per style": n_images // max(1, min_style_images)}
    per_period = None
    if period_index is not None:
        period_index = np.asarray(period_index)
        dated = period_index[period_index >= 0]
        if len(dated) and dated.max() >= 1:
            counts = np.bincount(dated)
            per_period = float(np.median(counts[counts > 0]))
            caps[f"{per_period:g} images in the median period at {min_style_images_per_period:g} per style"] = \
                int(per_period // max(min_style_images_per_period, 1e-9))
    why, cap = min(caps.items(), key=lambda item: item[1])
    if cap < k_min:
        return min(k_min, max(1, n_images)), f"k_min ({k_min}): fewer images than the volume rules ask for", per_period
    return cap, why, per_period


def choose_fine_k(space_vectors: np.ndarray, period_index, k_min: int = 4, k_max: int = 60,
                  min_style_images_per_period: float = 4 / 3, min_style_images: int = 20, tolerance: float | None = None,
                  sample_size: int = 3000, seed: int = 0, metric: str = "cosine") -> KChoice:
    """The fine level's number of styles (see the module docstring)."""
    from trendgan.styles.cluster import silhouette_by_k

    n = len(space_vectors)
    cap, why_cap, per_period = style_cap(n, period_index, k_min, k_max, min_style_images_per_period, min_style_images)
    if cap <= k_min or tolerance is None:
        return KChoice(int(cap), f"as many as the images carry: {why_cap}", int(cap), per_period)
    scores = silhouette_by_k(space_vectors, k_min, cap, sample_size, seed, metric)
    if not scores:
        return KChoice(int(cap), why_cap, int(cap), per_period)
    best = max(scores.values())
    floor = best - tolerance * abs(best)
    k = max(k for k, score in scores.items() if score >= floor)
    why = (f"the finest k whose silhouette ({scores[k]:.3f}) is within {tolerance:.0%} of the best "
           f"({best:.3f}, k={max(scores, key=scores.get)}), at most {cap} ({why_cap})")
    return KChoice(int(k), why, int(cap), per_period, scores)
