"""Trend-aware splitting: a style whose look-alike sub-groups move differently over time becomes two styles.

A style's share is only worth forecasting when its members move together. Inside each style the members are cut
in two by look alone (2-means in the clustering space); then the two halves' spread over time is compared with a
chi-square test of homogeneity on their counts per time bin (periods pooled so each bin expects enough images
of both halves). Under "they move together" each period's images split between the halves in one fixed ratio, so
the test uses the counts' own (binomial) noise and needs no share model. A style splits only when the test
rejects at ``alpha`` divided by the number of styles tested (Bonferroni), each half holds at least ``min_size``
images, and the halves are told apart by look. Children are tested again, up to ``max_depth`` levels.

Why these defaults: ``alpha=0.01`` with the Bonferroni division keeps a pure style (one look, one curve) whole in
about 99 % of runs by construction; ``min_size=40`` images keeps each half's time profile above the noise floor
(at least 5 expected images in each of 8 bins); ``max_bins=12`` pools two years of weeks into ~2-month bins, fine
enough for a yearly season, coarse enough to have power against opposite slow trends. They were set on the
simulated sub-group tests in tests/styles/test_splitting.py (two planted sub-groups inside one visual cluster),
not on the benchmark scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TimeTest:
    """The chi-square test of "these two groups spread over time the same way"."""

    statistic: float
    dof: int
    p_value: float
    bins: int

    def as_dict(self) -> dict:
        return {"chi2": round(self.statistic, 2), "dof": self.dof, "p_value": float(f"{self.p_value:.3g}"),
                "time_bins": self.bins}


def time_bins(totals: np.ndarray, smallest_share: float, min_expected: float = 5.0, max_bins: int = 12) -> np.ndarray:
    """Bin index per period: consecutive periods pooled until a bin expects ``min_expected`` images of the smaller
    group (and holds at least 1/``max_bins`` of all images); a short last bin joins the one before."""
    totals = np.asarray(totals, dtype=float)
    grand = totals.sum()
    need = max(min_expected / max(smallest_share, 1e-12), grand / max_bins)
    bins = np.zeros(len(totals), dtype=np.int64)
    current, filled = 0, 0.0
    for i, total in enumerate(totals):
        bins[i] = current
        filled += total
        if filled >= need:
            current, filled = current + 1, 0.0
    if filled and current > 0:  # the last bin came up short: pool it with the one before
        bins[bins == current] = current - 1
    return bins


def time_profile_test(counts_a, counts_b, min_expected: float = 5.0, max_bins: int = 12) -> TimeTest:
    """Do groups A and B spread over the periods the same way? ``counts_*``: images per period, in period order."""
    from scipy.stats import chi2

    a, b = np.asarray(counts_a, dtype=float), np.asarray(counts_b, dtype=float)
    n_a, n_b = a.sum(), b.sum()
    if n_a == 0 or n_b == 0:
        return TimeTest(0.0, 0, 1.0, 0)
    bins = time_bins(a + b, min(n_a, n_b) / (n_a + n_b), min_expected, max_bins)
    table = np.stack([np.bincount(bins, a), np.bincount(bins, b)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return TimeTest(0.0, 0, 1.0, int(table.shape[1]))
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    return TimeTest(statistic, dof, float(chi2.sf(statistic, dof)), int(table.shape[1]))


def counts_per_period(groups: np.ndarray, period_index: np.ndarray, n_groups: int, n_periods: int) -> np.ndarray:
    """(n_groups, n_periods) image counts; rows with group < 0 or period < 0 (undated) are left out."""
    keep = (groups >= 0) & (period_index >= 0)
    flat = groups[keep] * n_periods + period_index[keep]
    return np.bincount(flat, minlength=n_groups * n_periods).reshape(n_groups, n_periods)


@dataclass
class SplitSettings:
    alpha: float = 0.01
    min_size: int = 40
    max_depth: int = 2
    min_expected: float = 5.0
    max_bins: int = 12
    seed: int = 0


@dataclass
class SplitResult:
    labels: np.ndarray
    events: list[dict] = field(default_factory=list)


def split_by_trend(space_vectors: np.ndarray, labels: np.ndarray, period_index: np.ndarray,
                   settings: SplitSettings | None = None) -> SplitResult:
    """Split every style whose two look-alike halves move differently over time (see the module docstring).

    ``space_vectors``: the clustering space (unit rows); ``labels``: style per image (-1 noise);
    ``period_index``: 0.. per image, -1 for undated. Returns new labels (split-off halves get fresh numbers after
    the existing ones) and one event per style tested that split, with the test that decided it.
    """
    settings = settings or SplitSettings()
    labels = np.asarray(labels, dtype=np.int64).copy()
    period_index = np.asarray(period_index, dtype=np.int64)
    n_periods = int(period_index.max()) + 1 if (period_index >= 0).any() else 0
    events: list[dict] = []
    if n_periods < 2:
        return SplitResult(labels, events)
    to_test = [int(s) for s in np.unique(labels[labels >= 0])]
    tests_budget = max(1, len(to_test))  # Bonferroni over the styles first tested; children share the same level
    for depth in range(settings.max_depth):
        next_round = []
        for style in to_test:
            members = np.flatnonzero(labels == style)
            outcome = _try_split(space_vectors[members], period_index[members], n_periods, settings,
                                 settings.alpha / tests_budget)
            if outcome is None:
                continue
            halves, test, separation = outcome
            new_style = int(labels.max()) + 1
            labels[members[halves == 1]] = new_style
            events.append({"event": "split", "style": style, "new_style": new_style, "depth": depth,
                           "sizes": [int((halves == 0).sum()), int((halves == 1).sum())],
                           "look_separation": round(separation, 3), **test.as_dict(),
                           "why": "its two look-alike halves spread over time differently "
                                  f"(chi-square p = {test.p_value:.2g} < {settings.alpha / tests_budget:.2g})"})
            next_round += [style, new_style]
        to_test = next_round
        if not to_test:
            break
    return SplitResult(labels, events)


def _try_split(vectors, periods, n_periods, settings: SplitSettings, alpha):
    """(halves 0/1, test, look separation) when the style should split, else None."""
    from sklearn.cluster import KMeans

    dated = periods >= 0
    if dated.sum() < 2 * settings.min_size:
        return None
    halves = KMeans(n_clusters=2, n_init=3, random_state=settings.seed).fit_predict(vectors).astype(np.int64)
    sizes = np.bincount(halves[dated], minlength=2)
    if sizes.min() < settings.min_size:
        return None
    counts = counts_per_period(halves, periods, 2, n_periods)
    test = time_profile_test(counts[0], counts[1], settings.min_expected, settings.max_bins)
    if test.p_value >= alpha:
        return None
    return halves, test, look_separation(vectors, halves)


def look_separation(vectors: np.ndarray, halves: np.ndarray) -> float:
    """Distance between the two halves' centroids over the mean distance of members to their own centroid."""
    centres = np.stack([vectors[halves == h].mean(axis=0) for h in (0, 1)])
    spread = np.mean([np.linalg.norm(vectors[halves == h] - centres[h], axis=1).mean() for h in (0, 1)])
    return float(np.linalg.norm(centres[0] - centres[1]) / max(spread, 1e-12))
