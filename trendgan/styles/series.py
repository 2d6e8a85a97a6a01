"""Each style's share of every period (the long frame forecasters read) and where its look moves (drift)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trendgan.periods import all_periods, period_start  # noqa: F401  (period_start is re-exported)
from trendgan.styles.cluster import group_sums, normalise


def engagement_weights(engagement, how: str = "log1p") -> np.ndarray:
    """Per-image weights from likes: ``log1p`` (default, so one viral post does not drown a period) or ``raw``.

    Images whose engagement was not recorded get the median of those that were (a typical post), not zero.
    """
    values = pd.to_numeric(pd.Series(engagement), errors="coerce").clip(lower=0).astype(float)
    known = values.dropna()
    values = values.fillna(float(known.median()) if len(known) else 1.0)
    return (np.log1p(values) if how == "log1p" else values).to_numpy(dtype=float)


def style_series(assignments: pd.DataFrame, period: str = "W", weights=None, min_images_per_period: int = 20,
                 style_ids=None) -> pd.DataFrame:
    """Long frame ``unique_id, ds, y, count, total, low_volume, y_leading``.

    ``assignments`` needs ``style_id`` and ``period`` (period start; NaT = undated, left out) and, for the leading
    signal, ``leading_source``. ``y`` is the style's share of the period's styled images (noise, style -1, is left
    out so shares sum to 1), weighted by ``weights`` when given; ``count`` and ``total`` stay image counts. A
    period with no images at all keeps its rows (``total`` 0, ``y`` NaN) so the frequency stays regular;
    ``low_volume`` flags periods with fewer than ``min_images_per_period`` images. ``y_leading`` is the same share
    among images from leading sources, NaN where a period has none.
    """
    frame = pd.DataFrame({
        "style_id": assignments["style_id"].to_numpy(dtype=np.int64),
        "ds": pd.to_datetime(assignments["period"]).to_numpy(),
        "weight": np.ones(len(assignments)) if weights is None else np.asarray(weights, dtype=float),
        "leading": (assignments["leading_source"].fillna(False).astype(bool).to_numpy()
                    if "leading_source" in assignments else np.zeros(len(assignments), dtype=bool)),
    })
    frame = frame[frame["ds"].notna() & (frame["style_id"] >= 0)]
    ids = np.sort(np.unique(frame["style_id"] if style_ids is None else np.asarray(style_ids, dtype=np.int64)))
    columns = ["unique_id", "ds", "y", "count", "total", "low_volume", "y_leading"]
    if frame.empty or len(ids) == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, [
            "int64", "datetime64[ns]", "float64", "int64", "int64", "bool", "float64"])})
    periods = all_periods(frame["ds"].min(), frame["ds"].max(), period)
    grid = pd.MultiIndex.from_product([ids, periods], names=["unique_id", "ds"])

    def shares(part: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
        by_style = part.groupby(["style_id", "ds"]).agg(count=("weight", "size"), weight=("weight", "sum"))
        by_style.index.names = ["unique_id", "ds"]
        by_style = by_style.reindex(grid, fill_value=0)
        period_weight = part.groupby("ds")["weight"].sum().reindex(periods, fill_value=0.0)
        period_count = part.groupby("ds").size().reindex(periods, fill_value=0)
        denominator = period_weight.reindex(by_style.index.get_level_values("ds")).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(denominator > 0, by_style["weight"].to_numpy() / denominator, np.nan)
        total = period_count.reindex(by_style.index.get_level_values("ds")).to_numpy()
        return pd.Series(share, index=grid), by_style["count"], pd.Series(total, index=grid)

    y, count, total = shares(frame)
    y_leading, _, _ = shares(frame[frame["leading"]])
    series = pd.DataFrame({
        "y": y.to_numpy(),
        "count": count.to_numpy(dtype=np.int64),
        "total": total.to_numpy(dtype=np.int64),
        "y_leading": y_leading.to_numpy(),
    }, index=grid).reset_index()
    series["low_volume"] = series["total"] < min_images_per_period
    series["unique_id"] = series["unique_id"].astype(np.int64)
    series["ds"] = series["ds"].astype("datetime64[ns]")
    return series[columns]


def style_drift(vectors: np.ndarray, style_ids, periods) -> pd.DataFrame:
    """Each style's centroid per period (``style_id, ds, count, centroid``): where the look is moving."""
    style_ids = np.asarray(style_ids, dtype=np.int64)
    ds = pd.to_datetime(pd.Series(periods)).to_numpy()
    keep = (style_ids >= 0) & ~pd.isna(ds)
    if not keep.any():
        return pd.DataFrame({"style_id": pd.Series(dtype="int64"), "ds": pd.Series(dtype="datetime64[ns]"),
                             "count": pd.Series(dtype="int64"), "centroid": pd.Series(dtype=object)})
    keys = pd.DataFrame({"style_id": style_ids[keep], "ds": ds[keep]})
    groups = keys.groupby(["style_id", "ds"], sort=True).ngroup().to_numpy()
    full_groups = np.full(len(style_ids), -1, dtype=np.int64)
    full_groups[keep] = groups
    sums = group_sums(vectors, full_groups, int(groups.max()) + 1)
    table = keys.assign(group=groups).groupby("group").agg(style_id=("style_id", "first"), ds=("ds", "first"),
                                                           count=("ds", "size"))
    centroids = normalise(sums[table.index.to_numpy()])
    return pd.DataFrame({
        "style_id": table["style_id"].to_numpy(dtype=np.int64),
        "ds": pd.to_datetime(table["ds"]).astype("datetime64[ns]").to_numpy(),
        "count": table["count"].to_numpy(dtype=np.int64),
        "centroid": list(centroids),
    })
