"""Styles: cluster image vectors into styles with stable ids, name them, and follow each one's share over time.

    import trendgan
    result = trendgan.styles.find_styles(trendgan.Store("my-store"), k="auto", period="W")
    run = trendgan.styles.load_styles("my-store")
    run.series        # unique_id, ds, y, count, total, low_volume, y_leading

The pieces work on plain numpy arrays and pandas frames too (``KMeansStyles``, ``match_styles``,
``style_series``, ``style_drift``, ``name_styles_with_text``, ``style_map``), so they can be used without a store.
"""

from trendgan.styles.cluster import (
    HDBSCANStyles, KMeansStyles, StyleClusterer, cluster_labels, fold_small_styles, nearest_style, normalise,
    relabel_by_size, silhouette_by_k, style_centroids,
)
from trendgan.styles.matching import StyleMatch, match_styles
from trendgan.styles.naming import (
    StyleName, apparel_from_classes, colour_name, dominant_colours, load_vocabulary, name_style_from_images,
    name_styles_with_text,
)
from trendgan.styles.series import engagement_weights, period_start, style_drift, style_series
from trendgan.styles.settings import StyleSettings
from trendgan.styles.stage import StylesResult, StylesRun, distance_to_style, find_styles, load_styles
from trendgan.styles.style_map import style_map

__all__ = [
    "find_styles", "load_styles", "StyleSettings", "StylesResult", "StylesRun",
    "StyleClusterer", "KMeansStyles", "HDBSCANStyles", "cluster_labels", "fold_small_styles", "nearest_style",
    "normalise", "relabel_by_size", "silhouette_by_k", "style_centroids", "distance_to_style",
    "StyleMatch", "match_styles",
    "StyleName", "apparel_from_classes", "colour_name", "dominant_colours", "load_vocabulary",
    "name_style_from_images", "name_styles_with_text",
    "engagement_weights", "period_start", "style_drift", "style_series", "style_map",
]
