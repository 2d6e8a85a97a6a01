"""The styles stage over a store: read images and vectors, find (or assign) styles, write ``styles/<run>/``."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trendgan.console import progress, say
from trendgan.errors import NoImagesError, StageNotRunError, TrendganError
from trendgan.runs import StylesRun, start_run
from trendgan.store import Store
from trendgan.styles.cluster import (
    cluster_labels, fold_small_styles, make_clusterer, nearest_style, normalise, relabel_by_size, sample_rows,
    style_centroids,
)
from trendgan.styles.matching import match_styles
from trendgan.styles.naming import StyleName, name_styles, name_styles_with_text, unique_names
from trendgan.styles.series import engagement_weights, period_start, style_drift, style_series
from trendgan.styles.settings import StyleSettings
from trendgan.styles.style_map import style_map

STAGE = "styles"


@dataclass
class StylesResult:
    """What a styles run produced, with the numbers a summary prints."""

    folder: Path
    encoder: str
    n_images: int
    n_styles: int
    k: int
    method: str
    silhouette: float | None
    noise_share: float
    undated: int
    matched: int
    new_styles: int
    naming: str
    styles: object = field(repr=False)  # pandas frame: style_id, name, size, share

    @property
    def run(self) -> str:
        return self.folder.name


def load_styles(store: Store | str | Path, run: str | None = None) -> StylesRun:
    """The named styles run, or the latest finished one."""
    return StylesRun.open(store, run)


# --------------------------------------------------------------------------- the stage


def find_styles(store: Store | str | Path, k="auto", method="kmeans", period="W", min_share=0.0,
                weight_by_engagement=False, assign_only=False, seed=0, settings: StyleSettings | None = None,
                clusterer=None, **more) -> StylesResult:
    """Find the styles among the store's embedded images and follow each one's share per period.

    Writes ``styles/<run>/`` (assignments, styles, series, drift, map as Parquet; ``config.json``,
    ``metrics.jsonl``). Style ids are matched to the previous run's (same encoder) so they stay stable;
    ``assign_only`` puts images into the previous run's styles without clustering again. ``clusterer`` may be any
    sklearn-like object with ``fit`` and ``labels_``/``predict`` (it replaces ``method``). ``more`` takes other
    ``StyleSettings`` fields, e.g. ``k_max=40``.
    """
    started = time.perf_counter()
    store = store if isinstance(store, Store) else Store(store)
    store.require()
    if settings is None:
        settings = StyleSettings(k=k, method=method, period=period, min_share=min_share,
                                 weight_by_engagement=weight_by_engagement, assign_only=assign_only, seed=seed, **more)
    if settings.assign_only and not StylesRun.all(store):
        raise StageNotRunError(f"--assign-only needs an earlier styles run in {store.root}; run `trendgan styles` first")

    images, vectors, encoder_key, counts = _read_images_and_vectors(store, settings)
    say(f"styles: {len(images):,} images with {escape_key(encoder_key)} vectors")
    previous = _previous_run(store, encoder_key)
    if settings.assign_only and previous is None:
        raise StageNotRunError(
            f"--assign-only: no earlier styles run used the encoder {encoder_key!r}; "
            "run `trendgan styles` without --assign-only to cluster these vectors"
        )

    if settings.assign_only:
        ids, labels, centroids, match_info = _assign_to_previous(vectors, previous, settings)
    else:
        ids, labels, centroids, match_info = _cluster_and_match(vectors, previous, _first_free_id(store),
                                                                settings, clusterer)

    labels_stable = np.where(labels >= 0, ids[np.maximum(labels, 0)], -1)
    distance = distance_to_style(vectors, labels, centroids, settings.chunk_size)
    images = images.assign(style_id=labels_stable, distance=distance, period=period_start(images["posted_at"], settings.period))

    styles = _styles_table(images, ids, labels, distance, centroids, settings)
    styles = _name_styles(styles, images, centroids, encoder_key, previous, settings)
    weights = (engagement_weights(images["engagement"], settings.engagement_weight)
               if settings.weight_by_engagement else None)
    series = style_series(images, settings.period, weights, settings.min_images_per_period, style_ids=ids)
    drift = style_drift(vectors, labels_stable, images["period"])
    map_frame, map_method = _map_frame(images, vectors, settings)

    metrics = _metrics(images, vectors, labels, ids, match_info, counts, styles, map_method, settings)
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    inputs = {"encoder": encoder_key, "previous_run": previous.name if previous else None}
    results = {"next_style_id": match_info["next_style_id"], "naming_used": metrics["naming"]}
    folder = _write_run(store, images, styles, series, drift, map_frame, metrics,
                        dataclasses.asdict(settings), inputs, results)
    return StylesResult(
        folder=folder, encoder=encoder_key, n_images=len(images), n_styles=len(styles), k=metrics["k"],
        method=metrics["method"], silhouette=metrics.get("silhouette"), noise_share=metrics["noise_share"],
        undated=counts["undated"], matched=metrics["matched_styles"], new_styles=metrics["new_styles"],
        naming=metrics["naming"], styles=styles[["style_id", "name", "size", "share"]].copy(),
    )


def escape_key(text) -> str:
    from trendgan.console import escape

    return escape(text)


def _previous_run(store: Store, encoder_key: str) -> StylesRun | None:
    """The latest finished run over the same encoder's vectors: only its centroids live in the same space."""
    for run in reversed(StylesRun.all(store)):
        if run.encoder == encoder_key:
            return run
    return None


def _first_free_id(store: Store) -> int:
    """One more than any style id ever handed out in this store, whatever the encoder: ids are never reused."""
    return max((run.next_style_id for run in StylesRun.all(store)), default=0)


# --------------------------------------------------------------------------- reading


def _read_images_and_vectors(store: Store, settings: StyleSettings):
    """Catalog rows (DuckDB) joined to their vectors; counts of what was left out, for the metrics."""
    import pandas as pd

    from trendgan.embed import load_vectors_with_key
    from trendgan.ingest.catalog import dated_images

    encoder_key, image_ids, vectors = load_vectors_with_key(store, settings.encoder)
    catalog = dated_images(store)
    counts = {"catalog_images": len(catalog), "vectors": len(image_ids)}
    if not settings.include_duplicates:
        catalog = catalog[catalog["duplicate_of"].isna()]
    counts["duplicates_left_out"] = counts["catalog_images"] - len(catalog)
    position = pd.Series(np.arange(len(image_ids)), index=pd.Index(image_ids, name="image_id"))
    position = position[~position.index.duplicated(keep="last")]
    catalog = catalog[catalog["image_id"].isin(position.index)].sort_values("image_id", kind="stable")
    counts["without_vectors"] = counts["catalog_images"] - counts["duplicates_left_out"] - len(catalog)
    if catalog.empty:
        raise NoImagesError(
            f"no catalog image in {store.root} has a {encoder_key!r} vector; run `trendgan embed` first"
        )
    rows = position.loc[catalog["image_id"]].to_numpy()
    catalog = catalog.drop(columns=["duplicate_of"]).reset_index(drop=True)
    catalog["posted_at"] = pd.to_datetime(catalog["posted_at"]).astype("datetime64[ns]")
    catalog["leading_source"] = catalog["leading_source"].fillna(False).astype(bool)
    counts["undated"] = int(catalog["posted_at"].isna().sum())
    return catalog, normalise(vectors[rows]), encoder_key, counts


# --------------------------------------------------------------------------- clustering and ids


def _cluster_and_match(vectors, previous: StylesRun | None, first_free_id: int, settings: StyleSettings, clusterer):
    model = clusterer if clusterer is not None else make_clusterer(settings.method, settings)
    if clusterer is None and settings.method == "kmeans" and settings.k == "auto":
        say(f"styles: choosing k by silhouette over {settings.k_min}..{settings.k_max}")
    labels = cluster_labels(model, vectors)
    labels = relabel_by_size(fold_small_styles(vectors, labels, settings.min_share))
    n_styles = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if n_styles == 0:
        raise NoImagesError("clustering left every image as noise; use --method kmeans or a smaller min cluster size")
    centroids = style_centroids(vectors, labels, n_styles)
    if previous is not None:
        old = previous.styles
        match = match_styles(centroids, np.stack(old["centroid"].to_numpy()), old["style_id"].to_numpy(),
                             max(first_free_id, int(old["style_id"].max()) + 1), settings.match_max_distance)
        ids = match.ids
        retired = sorted(set(old["style_id"].tolist()) - set(match.matched.values()))
    else:
        ids, match, retired = np.arange(first_free_id, first_free_id + n_styles, dtype=np.int64), None, []
    info = {
        "k": n_styles, "k_scores": getattr(model, "k_scores_", {}),
        "method": type(model).__name__ if clusterer is not None else settings.method,
        "matched": match.matched if match else {}, "match_distances": match.distances if match else {},
        "next_style_id": match.next_style_id if match else first_free_id + n_styles, "retired": retired,
    }
    return ids, labels, centroids, info


def _assign_to_previous(vectors, previous: StylesRun, settings: StyleSettings):
    old = previous.styles.sort_values("style_id")
    centroids = np.stack(old["centroid"].to_numpy()).astype(np.float32)  # kept exactly: these styles do not move
    labels, _ = nearest_style(vectors, centroids, settings.chunk_size)
    ids = old["style_id"].to_numpy(dtype=np.int64)
    info = {"k": len(ids), "k_scores": {}, "method": "assign-only", "matched": {i: int(v) for i, v in enumerate(ids)},
            "match_distances": {}, "retired": [],
            "next_style_id": previous.next_style_id or int(ids.max() + 1)}
    return ids, labels, centroids, info


# --------------------------------------------------------------------------- tables


def distance_to_style(vectors, labels, centroids, chunk_size=65_536) -> np.ndarray:
    """Cosine distance from each image to its own style's centroid (NaN for noise), chunked to keep memory flat."""
    distance = np.full(len(vectors), np.nan, dtype=np.float32)
    for start in range(0, len(vectors), chunk_size):
        part = labels[start:start + chunk_size]
        styled = part >= 0
        block = vectors[start:start + chunk_size][styled]
        distance[start:start + chunk_size][styled] = 1.0 - np.einsum("ij,ij->i", block, centroids[part[styled]])
    return distance


def _styles_table(images, ids, labels, distance, centroids, settings):
    """One row per style: size, share, centroid and the images closest to it (its representatives)."""
    import pandas as pd

    styled = labels >= 0
    sizes = np.bincount(labels[styled], minlength=len(ids))
    members = np.flatnonzero(styled)[np.lexsort((distance[styled], labels[styled]))]
    starts = np.searchsorted(labels[members], np.arange(len(ids)))
    representatives, paths = [], []
    for style in range(len(ids)):
        chosen = members[starts[style]:starts[style] + min(settings.n_representatives, sizes[style])]
        representatives.append(images["image_id"].to_numpy()[chosen].tolist())
        paths.append(images["path"].to_numpy()[chosen].tolist())
    return pd.DataFrame({
        "style_id": ids.astype(np.int64),
        "size": sizes.astype(np.int64),
        "share": sizes / max(1, styled.sum()),
        "centroid": [c.astype(np.float32) for c in centroids],
        "representatives": representatives,
        "representative_paths": paths,
    })


def _name_styles(styles, images, centroids, encoder_key, previous, settings):
    """Add ``name``, ``keywords``, ``colour`` (the garment's measured colour, hex) and ``naming``; assign-only keeps
    the previous names, and a re-clustered style that kept its id keeps its name unless its colour or garment changed."""
    if previous is not None and settings.assign_only:
        old = previous.styles.set_index("style_id")
        styles["name"] = old.loc[styles["style_id"], "name"].to_numpy()
        styles["keywords"] = old.loc[styles["style_id"], "keywords"].to_numpy() if "keywords" in old else [[]] * len(styles)
        styles["colour"] = old.loc[styles["style_id"], "colour"].to_numpy() if "colour" in old else [None] * len(styles)
        styles.attrs["naming"] = previous.results.get("naming_used", "previous run")
    else:
        names, how = _names_for(styles, images, centroids, encoder_key, settings, previous)
        styles["name"] = unique_names([n.name for n in names], styles["style_id"])
        styles["keywords"] = [n.keywords for n in names]
        styles["colour"] = [n.colour for n in names]
        styles.attrs["naming"] = how
    return styles[["style_id", "name", "size", "share", "centroid", "representatives", "representative_paths",
                   "keywords", "colour"]]


def _names_for(styles, images, centroids, encoder_key, settings, previous=None) -> tuple[list[StyleName], str]:
    encoder = _encoder_for_naming(encoder_key) if settings.naming in ("auto", "text", "classes") else None
    text_garments = None
    if encoder is not None and getattr(encoder, "has_text", False) and settings.naming in ("auto", "text"):
        text_garments = [n.garment for n in name_styles_with_text(centroids, encoder.embed_texts)]
    classify = getattr(encoder, "classify", None) if settings.naming in ("auto", "classes") else None
    captions = _captions_per_style(images, styles["style_id"])
    old = None
    if previous is not None:
        table = previous.styles
        old = {int(r.style_id): (r.name, r.keywords if "keywords" in table else None) for r in table.itertuples()}
    with progress(len(styles), "naming styles", unit="styles") as bar:
        pictures = []
        for paths in styles["representative_paths"]:
            pictures.append(_open_images(paths))
            bar.advance()
    names = name_styles(pictures, captions, classify=classify if text_garments is None else None,
                        garments_from_text=text_garments, style_ids=styles["style_id"].tolist(), previous=old,
                        seed=settings.seed)
    how = "text" if text_garments is not None else ("classes+colours" if classify is not None else "colours")
    return names, ("captions+" + how) if any(len(c) for c in captions) else how


def _captions_per_style(images, style_ids) -> list[list[str]]:
    """Each style's post captions (the words its posts use), in style-table order."""
    if "caption" not in images.columns:
        return [[] for _ in style_ids]
    texts = images.loc[images["caption"].notna() & (images["caption"].astype(str).str.strip() != ""), ["style_id", "caption"]]
    grouped = texts.groupby("style_id")["caption"].apply(list).to_dict()
    return [grouped.get(int(s), []) for s in style_ids]


def _encoder_for_naming(encoder_key):
    """The encoder behind the vectors when trendgan.embed can load it; naming falls back to colours otherwise."""
    try:
        from trendgan.embed import get_encoder

        return get_encoder(encoder_key)
    except ImportError:
        say("styles: trendgan.embed cannot load encoders here; naming styles by colour only")
        return None
    except TrendganError as exc:
        say(f"styles: naming without the encoder ({escape_key(exc)}); using colours only")
        return None


def _open_images(paths):
    from PIL import Image, UnidentifiedImageError

    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError):
            continue  # moved or unreadable since ingest: name from the others
    return images


def _map_frame(images, vectors, settings):
    import pandas as pd

    rows = sample_rows(len(vectors), settings.map_limit, settings.seed)
    coords, method = style_map(vectors[rows], settings.map_sample, settings.seed, method=settings.map_method)
    frame = pd.DataFrame({
        "image_id": images["image_id"].to_numpy()[rows], "x": coords[:, 0], "y": coords[:, 1],
        "style_id": images["style_id"].to_numpy()[rows], "ds": images["period"].to_numpy()[rows],
    })
    return frame, method


def _metrics(images, vectors, labels, ids, info, counts, styles, map_method, settings) -> dict:
    from sklearn.metrics import silhouette_score

    styled = labels >= 0
    silhouette = None
    rows = sample_rows(len(vectors), 5000, settings.seed)
    rows = rows[styled[rows]]
    if len(np.unique(labels[rows])) >= 2 and len(rows) > len(np.unique(labels[rows])):
        silhouette = float(silhouette_score(vectors[rows], labels[rows], metric="cosine"))
    return {
        "stage": STAGE, "method": info["method"], "k": int(info["k"]),
        "k_scores": {str(k): round(v, 4) for k, v in info["k_scores"].items()},
        "silhouette": silhouette, "images": int(len(images)), "noise": int((~styled).sum()),
        "noise_share": float((~styled).mean()) if len(labels) else 0.0,
        "undated_left_out_of_series": counts["undated"], "without_vectors": counts["without_vectors"],
        "duplicates_left_out": counts["duplicates_left_out"],
        "sizes": {int(s): int(n) for s, n in zip(styles["style_id"], styles["size"])},
        "matched_styles": len(info["matched"]) if not settings.assign_only else 0,
        "new_styles": 0 if settings.assign_only else int(len(ids) - len(info["matched"])),
        "matched": {int(ids[i]): round(d, 4) for i, d in info["match_distances"].items()},
        "retired_styles": info["retired"], "naming": styles.attrs.get("naming", ""), "map": map_method,
    }


def _write_run(store, images, styles, series, drift, map_frame, metrics, settings, inputs, results) -> Path:
    """Everything into a fresh run folder under the writer lock; config.json last marks the run finished."""
    with start_run(store, StylesRun, settings=settings, inputs=inputs) as run:
        assignments = images[["image_id", "style_id", "distance", "posted_at", "period", "source", "leading_source"]]
        run.write_table("assignments", assignments)
        run.write_table("styles", styles)
        run.write_table("series", series)
        run.write_table("drift", drift)
        run.write_table("map", map_frame)
        run.log(metrics)
        run.finish(results=results, summary={k: metrics[k] for k in ("k", "images", "silhouette", "new_styles")})
    return run.folder
