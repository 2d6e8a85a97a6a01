"""Settings of the styles stage, as one dataclass (filled from TOML, overrides or keyword arguments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Union

from trendgan.errors import ConfigError
from trendgan.periods import parse_period

PERIODS = "WMQY"  # the periods styles can be counted in (trendgan.periods defines them)
METHODS = ("kmeans", "hdbscan")
LEVELS = ("style", "family")


@dataclass
class StyleSettings:
    """How styles are found, named and followed over time.

    ``k="auto"`` picks the fine level (``trendgan.styles.granularity``): as many styles as the images per period
    can carry (``min_style_images_per_period`` on average), among those the number where k-means separates looks
    best. Styles are clustered in ``space`` (PCA whitening fitted on the store's own vectors, see
    ``trendgan.styles.space``), split where look-alike halves move differently over time (``split_by_trend``,
    ``trendgan.styles.splitting``) and merged into families (``trendgan.styles.families``). ``level`` says which
    level the forecast and render stages use (style, the default, or family).

    Beyond ``minibatch_above`` images k-means runs mini-batch on a ``fit_sample`` and every image is then assigned
    to its nearest centroid in chunks, so a million images fit in a few GiB.
    """

    k: Union[int, str] = "auto"
    method: Literal["kmeans", "hdbscan"] = "kmeans"
    period: str = "W"                      # W, M, Q or Y (or week, month, quarter, year): trendgan.periods
    min_share: float = 0.0                 # styles holding less than this share of all images are folded into the nearest other style
    weight_by_engagement: bool = False
    engagement_weight: Literal["log1p", "raw"] = "log1p"
    assign_only: bool = False
    seed: int = 0
    encoder: Optional[str] = None          # None: the encoder of the most recent embed run
    level: Literal["style", "family"] = "style"
    k_min: int = 4
    k_max: int = 60
    min_style_images_per_period: float = 4 / 3   # k="auto" keeps the average style at this many images a period (trendgan.styles.granularity)
    min_style_images: int = 20             # ... and at this many images in all (undated stores)
    k_tolerance: Optional[float] = None    # None: as many styles as the volume carries; a number: the finest k whose silhouette is within it (relative) of the best
    space: Literal["umap", "whiten", "none"] = "umap"
    space_components: int = 512
    space_power: float = 0.5
    umap_components: int = 10
    umap_neighbors: int = 15
    umap_sample: int = 20_000
    umap_min_images: int = 2000
    split_by_trend: bool = True
    split_alpha: float = 0.01
    split_min_size: int = 40
    family_alpha: float = 0.05
    k_sample: int = 3000                   # silhouette is quadratic in the sample size
    minibatch_above: int = 50_000
    fit_sample: int = 200_000
    hdbscan_min_cluster_size: int = 0      # 0: about 1% of the images, at least 5
    hdbscan_sample: int = 20_000
    match_max_distance: float = 0.35       # cosine distance under which a new style is "the same" as a previous one
    n_representatives: int = 8
    min_images_per_period: int = 20
    include_duplicates: bool = False       # near-duplicates (reposts) are left out of styles by default
    naming: Literal["auto", "text", "classes", "colours"] = "auto"
    map_method: Literal["umap", "pca"] = "umap"   # PCA is used anyway when there are too few images for UMAP
    map_sample: int = 5000                 # UMAP is fitted on this many images, the rest placed with transform
    map_limit: int = 100_000               # at most this many images on the map (a seeded sample beyond)
    chunk_size: int = 65_536

    def __post_init__(self) -> None:
        self.k = parse_k(self.k)
        if self.method not in METHODS:
            raise ConfigError(f"unknown clustering method {self.method!r}; use kmeans or hdbscan")
        self.period = parse_period(self.period, allowed=PERIODS)
        if not 0.0 <= self.min_share < 1.0:
            raise ConfigError(f"--min-share should be between 0 and 1 (e.g. 0.01), got {self.min_share}")
        if not 2 <= self.k_min <= self.k_max:
            raise ConfigError(f"k range {self.k_min}..{self.k_max} is empty; k_min should be at least 2 and at most k_max")
        if self.level not in LEVELS:
            raise ConfigError(f"unknown level {self.level!r}; use style (the default) or family")
        if self.space not in ("umap", "whiten", "none"):
            raise ConfigError(f"unknown clustering space {self.space!r}; use umap, whiten or none")
        if not (0.0 < self.split_alpha < 1.0 and 0.0 < self.family_alpha < 1.0):
            raise ConfigError("split_alpha and family_alpha are test levels between 0 and 1 (e.g. 0.01)")
        if self.map_method not in ("umap", "pca"):
            raise ConfigError(f"unknown map method {self.map_method!r}; use umap or pca")
        if not 0.0 < self.match_max_distance <= 2.0:
            raise ConfigError(f"match_max_distance is a cosine distance in (0, 2], got {self.match_max_distance}")


def parse_k(value) -> Union[int, str]:
    """``"auto"``, or a number of styles of at least 2 (``"12"`` from the command line becomes 12)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        if not text.isdigit():
            raise ConfigError(f"--k should be 'auto' or a whole number of styles, got {value!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigError(f"--k should be 'auto' or a whole number of styles of at least 2, got {value!r}")
    return value
