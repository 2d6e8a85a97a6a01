"""The styles stage over a store: read images and vectors, find (or assign) styles, write ``styles/<run>/``."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trendgan.console import progress, say
from trendgan.engines import in_engine_session, map_row_chunks
from trendgan.errors import NoImagesError, StageNotRunError, TrendganError
from trendgan.runs import StylesRun, start_run
from trendgan.store import Store
from trendgan.styles.cluster import (
    KMeansStyles, cluster_labels, fold_small_styles, make_clusterer, nearest_style, normalise, relabel_by_size,
    sample_rows, style_centroids,
)
from trendgan.styles.families import FamilySettings, build_families, family_name, match_families
from trendgan.styles.granularity import choose_fine_k
from trendgan.styles.matching import match_styles
from trendgan.styles.naming import StyleName, name_styles, name_styles_with_text, unique_names
from trendgan.styles.series import all_periods, engagement_weights, period_start, style_drift, style_series
from trendgan.styles.settings import StyleSettings
from trendgan.styles.space import StyleSpace, centroids_in
from trendgan.styles.splitting import SplitSettings, counts_per_period, split_by_trend
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
    styles: object = field(repr=False)  # pandas frame: style_id, name, size, share, family
    families: object = field(default=None, repr=False)  # pandas frame: family_id, name, size, share, styles
    level: str = "style"
    splits: int = 0

    @property
    def n_families(self) -> int:
        return 0 if self.families is None else len(self.families)

    @property
    def run(self) -> str:
        return self.folder.name


def load_styles(store: Store | str | Path, run: str | None = None) -> StylesRun:
    """The named styles run, or the latest finished one."""
    return StylesRun.open(store, run)


# --------------------------------------------------------------------------- the stage


@in_engine_session
def find_styles(store: Store | str | Path, k="auto", method="kmeans", period="W", min_share=0.0,
                weight_by_engagement=False, assign_only=False, seed=0, settings: StyleSettings | None = None,
                clusterer=None, engine="local", **more) -> StylesResult:
    """Find the styles among the store's embedded images and follow each one's share per period.

    Writes ``styles/<run>/`` (assignments, styles, series, drift, map as Parquet; ``config.json``,
    ``metrics.jsonl``). Style ids are matched to the previous run's (same encoder) so they stay stable;
    ``assign_only`` puts images into the previous run's styles without clustering again. ``clusterer`` may be any
    sklearn-like object with ``fit`` and ``labels_``/``predict`` (it replaces ``method``). ``more`` takes other
    ``StyleSettings`` fields, e.g. ``k_max=40``.

    ``engine="ray"`` runs the passes over every image in Ray tasks, chunk by chunk: placing the images in the
    clustering space fitted on a sample (whitening, UMAP transform), assigning each to its nearest centroid, its
    distance to its style. Everything fitted (space, centroids, splits, families) is fitted here as on the local
    engine, and the series are counted here from the assignments; the run is the same.
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

    images = images.assign(period=period_start(images["posted_at"], settings.period))
    period_index = _period_index(images["period"], settings.period)
    if settings.assign_only:
        found = _assign_to_previous(vectors, previous, settings, engine)
    else:
        found = _cluster_and_match(vectors, period_index, previous, _first_free_id(store), settings, clusterer, engine)
    ids, labels, centroids, match_info = found.ids, found.labels, found.centroids, found.match_info

    labels_stable = np.where(labels >= 0, ids[np.maximum(labels, 0)], -1)
    distance = distance_to_style(vectors, labels, centroids, settings.chunk_size, engine)
    images = images.assign(style_id=labels_stable, distance=distance)

    styles = _styles_table(images, ids, labels, distance, centroids, settings)
    styles = _name_styles(styles, images, centroids, encoder_key, previous, settings)
    family = _find_families(found, period_index, previous, settings)
    styles["family"] = family.of_style
    families = _families_table(images, vectors, styles, family, settings, engine)
    family_of_image = np.where(labels >= 0, family.of_style[np.maximum(labels, 0)], -1)
    images = images.assign(family=family_of_image)
    weights = (engagement_weights(images["engagement"], settings.engagement_weight)
               if settings.weight_by_engagement else None)
    series = style_series(images, settings.period, weights, settings.min_images_per_period, style_ids=ids)
    family_series = style_series(images.assign(style_id=family_of_image), settings.period, weights,
                                 settings.min_images_per_period, style_ids=families["family_id"].to_numpy())
    drift = style_drift(vectors, labels_stable, images["period"])
    family_drift = style_drift(vectors, family_of_image, images["period"])
    map_frame, map_method = _map_frame(images, vectors, settings)

    metrics = _metrics(images, vectors, labels, ids, match_info, counts, styles, map_method, settings)
    metrics.update(space=found.space, granularity=found.k_choice, splits=len(found.events),
                   families=len(families), family_silhouette_by_count=family.scores,
                   family_merges=sum(e["event"] == "merge" and e["kept"] for e in family.events),
                   families_kept_apart=sum(e["event"] == "kept_apart" for e in family.events),
                   level=settings.level, engine=engine)
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    inputs = {"encoder": encoder_key, "previous_run": previous.name if previous else None}
    results = {"next_style_id": match_info["next_style_id"], "next_family_id": family.next_id,
               "naming_used": metrics["naming"]}
    tables = {"styles": styles, "series": series, "drift": drift, "map": map_frame, "families": families,
              "family_series": family_series, "family_drift": family_drift}
    folder = _write_run(store, images, tables, [metrics, *found.events, *family.events],
                        dataclasses.asdict(settings), inputs, results)
    return StylesResult(
        folder=folder, encoder=encoder_key, n_images=len(images), n_styles=len(styles), k=metrics["k"],
        method=metrics["method"], silhouette=metrics.get("silhouette"), noise_share=metrics["noise_share"],
        undated=counts["undated"], matched=metrics["matched_styles"], new_styles=metrics["new_styles"],
        naming=metrics["naming"], styles=styles[["style_id", "name", "size", "share", "family"]].copy(),
        families=families[["family_id", "name", "size", "share", "styles"]].copy(), level=settings.level,
        splits=len(found.events),
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


@dataclass
class Clustering:
    """Styles found (or assigned): per-image style index, stable id per index, centroids in the encoder's space,
    the vectors in the clustering space, and why the number of styles is what it is."""

    ids: np.ndarray
    labels: np.ndarray
    centroids: np.ndarray
    space_vectors: np.ndarray
    match_info: dict
    space: dict = field(default_factory=dict)
    k_choice: dict = field(default_factory=dict)
    events: list = field(default_factory=list)      # splits, with their tests
    previous_families: dict | None = None           # assign-only: style id -> family id of the previous run
    metric: str = "cosine"                          # how the clustering space is compared


def _season_length(period: str) -> int | None:
    """Periods in a year, for the trend tests' yearly sine and cosine (none for years)."""
    from trendgan.periods import season_length

    length = season_length(period)
    return length if length > 1 else None


def _period_index(periods, period: str) -> np.ndarray:
    """0.. for each image's period in the range of dated periods (gaps counted), -1 for undated images."""
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(periods)).to_numpy()
    dated = ~pd.isna(stamps)
    index = np.full(len(stamps), -1, dtype=np.int64)
    if dated.any():
        grid = all_periods(stamps[dated].min(), stamps[dated].max(), period).to_numpy()
        index[dated] = np.searchsorted(grid, stamps[dated])
    return index


def _cluster_and_match(vectors, period_index, previous: StylesRun | None, first_free_id: int,
                       settings: StyleSettings, clusterer, engine: str = "local") -> Clustering:
    space = make_space(settings, engine)
    space_vectors = space.fit_transform(vectors)
    k_choice = {}
    if clusterer is not None:
        model = clusterer
    elif settings.method == "kmeans" and settings.k == "auto":
        choice = choose_fine_k(space_vectors, period_index, settings.k_min, settings.k_max,
                               settings.min_style_images_per_period, settings.min_style_images,
                               settings.k_tolerance, settings.k_sample, settings.seed, space.metric_)
        k_choice = choice.as_dict()
        say(f"styles: {choice.k} styles ({escape_key(choice.why)})")
        model = KMeansStyles(choice.k, settings.k_min, settings.k_max, settings.k_sample, settings.minibatch_above,
                             settings.fit_sample, settings.chunk_size, settings.seed, metric=space.metric_,
                             engine=engine)
    elif settings.method == "kmeans":
        model = KMeansStyles(settings.k, settings.k_min, settings.k_max, settings.k_sample, settings.minibatch_above,
                             settings.fit_sample, settings.chunk_size, settings.seed, metric=space.metric_,
                             engine=engine)
    else:
        model = make_clusterer(settings.method, settings)
    labels = cluster_labels(model, space_vectors)
    labels = fold_small_styles(vectors, labels, settings.min_share)  # the nearest larger style by the encoder's look
    events = []
    if settings.split_by_trend and (labels >= 0).any():
        split = split_by_trend(space_vectors, labels, period_index,
                               SplitSettings(alpha=settings.split_alpha, min_size=settings.split_min_size,
                                             season_length=_season_length(settings.period), seed=settings.seed))
        labels, events = split.labels, split.events
    before = labels
    labels = relabel_by_size(labels)
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
    return Clustering(ids, labels, centroids, space_vectors, info, space.describe(), k_choice,
                      _events_with_ids(events, before, labels, ids), metric=space.metric_)


def make_space(settings: StyleSettings, engine: str = "local") -> StyleSpace:
    """The clustering space the settings ask for (``space``: none, whiten, or umap = whiten then UMAP)."""
    return StyleSpace(settings.space_components if settings.space != "none" else 0, settings.space_power,
                      seed=settings.seed, chunk_size=settings.chunk_size,
                      umap_components=settings.umap_components if settings.space == "umap" else 0,
                      umap_neighbors=settings.umap_neighbors, umap_sample=settings.umap_sample,
                      umap_min_images=settings.umap_min_images, engine=engine)


def _events_with_ids(events, before, after, ids):
    """Split events name the styles by their final stable ids (the splitter numbered them before relabelling)."""
    lookup = {}
    for old, new in zip(before[before >= 0], after[after >= 0]):
        lookup.setdefault(int(old), int(ids[new]))
    for event in events:
        event["style"], event["new_style"] = lookup.get(event["style"]), lookup.get(event["new_style"])
    return events


def _assign_to_previous(vectors, previous: StylesRun, settings: StyleSettings, engine: str = "local") -> Clustering:
    old = previous.styles.sort_values("style_id")
    centroids = np.stack(old["centroid"].to_numpy()).astype(np.float32)  # kept exactly: these styles do not move
    labels, _ = nearest_style(vectors, centroids, settings.chunk_size, engine)
    ids = old["style_id"].to_numpy(dtype=np.int64)
    info = {"k": len(ids), "k_scores": {}, "method": "assign-only", "matched": {i: int(v) for i, v in enumerate(ids)},
            "match_distances": {}, "retired": [],
            "next_style_id": previous.next_style_id or int(ids.max() + 1)}
    families = dict(zip(old["style_id"].astype(int), old["family"].astype(int))) if "family" in old else None
    return Clustering(ids, labels, centroids, vectors, info, {"space": "assign-only: nearest previous centroid"},
                      previous_families=families)


# --------------------------------------------------------------------------- families


@dataclass
class Families:
    of_style: np.ndarray                 # stable family id per style index
    events: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    next_id: int = 0
    matched: int = 0


def _find_families(found: Clustering, period_index, previous: StylesRun | None, settings: StyleSettings) -> Families:
    """Merge the styles into families (or keep the previous run's families when assigning only)."""
    n_styles = len(found.ids)
    previous_families = _previous_families(previous)
    first_free = previous.next_family_id if previous is not None else 0
    if found.previous_families is not None and len(found.previous_families) == n_styles:
        of_style = np.array([found.previous_families[int(i)] for i in found.ids], dtype=np.int64)
        return Families(of_style, next_id=max(first_free, int(of_style.max()) + 1), matched=len(set(of_style)))
    space_centroids = centroids_in(found.space_vectors, found.labels, n_styles, found.metric)
    sizes = np.bincount(found.labels[found.labels >= 0], minlength=n_styles)
    dated = (period_index >= 0).any() and period_index.max() >= 1
    counts = counts_per_period(found.labels, period_index, n_styles, int(period_index.max()) + 1) if dated else None
    tree = build_families(space_centroids, sizes, counts, found.space_vectors, found.labels,
                          FamilySettings(alpha=settings.family_alpha, season_length=_season_length(settings.period),
                                         seed=settings.seed), found.metric)
    members = [np.flatnonzero(tree.family_of_style == f) for f in range(tree.n_families)]
    match = match_families([found.ids[m].tolist() for m in members], [sizes[m].tolist() for m in members],
                           previous_families, first_free)
    of_style = match.ids[tree.family_of_style]
    events = []
    for event in tree.events:
        event = dict(event)
        for key in ("styles", "styles_a", "styles_b", "decided_by"):
            if key in event:
                event[key] = [int(found.ids[i]) for i in event[key]]
        if "decided_by" in event:  # the tree names styles by position; the reader knows them by id
            by_position = [int(i) for i in dict(tree.events[len(events)])["decided_by"]]
            event["why"] = event["why"].replace(f"styles {by_position[0]} and {by_position[1]}",
                                                f"styles {event['decided_by'][0]} and {event['decided_by'][1]}", 1)
        if event["event"] == "merge" and event["kept"]:
            event["family"] = int(of_style[np.flatnonzero(found.ids == event["styles"][0])[0]])
        events.append(event)
    return Families(of_style, events, tree.scores, match.next_family_id, len(match.matched))


def _previous_families(previous: StylesRun | None) -> dict[int, list[int]] | None:
    if previous is None or "family" not in previous.styles:
        return None
    grouped = previous.styles.groupby("family")["style_id"].apply(lambda s: [int(v) for v in s])
    return {int(k): v for k, v in grouped.items()}


def _families_table(images, vectors, styles, family: Families, settings, engine: str = "local"):
    """One row per family: size, share, centroid (encoder space), member styles and the images closest to it."""
    import pandas as pd

    family_ids = np.unique(family.of_style)
    index_of = {int(f): i for i, f in enumerate(family_ids)}
    style_family = dict(zip(styles["style_id"].astype(int), styles["family"].astype(int)))
    image_family = np.array([index_of[style_family[s]] if s >= 0 else -1 for s in images["style_id"]], dtype=np.int64)
    centroids = style_centroids(vectors, image_family, len(family_ids))
    distance = distance_to_style(vectors, image_family, centroids, settings.chunk_size, engine)
    rows = []
    styled = image_family >= 0
    for i, family_id in enumerate(family_ids):
        members = styles[styles["family"] == family_id].sort_values(["size", "style_id"], ascending=[False, True])
        mine = np.flatnonzero(image_family == i)
        closest = mine[np.argsort(distance[mine], kind="stable")[:settings.n_representatives]]
        rows.append({
            "family_id": int(family_id),
            "name": family_name(members["name"].tolist(), members["size"].tolist()),
            "size": int(len(mine)),
            "share": len(mine) / max(1, int(styled.sum())),
            "centroid": centroids[i].astype(np.float32),
            "styles": members["style_id"].astype(int).tolist(),
            "representatives": images["image_id"].to_numpy()[closest].tolist(),
            "representative_paths": images["path"].to_numpy()[closest].tolist(),
        })
    table = pd.DataFrame(rows)
    table["name"] = unique_names(table["name"].tolist(), table["family_id"].tolist(), kind="family")
    return table.sort_values(["size", "family_id"], ascending=[False, True]).reset_index(drop=True)


# --------------------------------------------------------------------------- tables


def distance_to_style(vectors, labels, centroids, chunk_size=65_536, engine="local") -> np.ndarray:
    """Cosine distance from each image to its own style's centroid (NaN for noise), chunked to keep memory flat
    (chunks in Ray tasks with ``engine="ray"``)."""
    parts = map_row_chunks(_distance_in_block, (vectors, labels), chunk_size, centroids, engine)
    return np.concatenate(parts) if parts else np.full(0, np.nan, dtype=np.float32)


def _distance_in_block(block, part, centroids) -> np.ndarray:
    distance = np.full(len(block), np.nan, dtype=np.float32)
    styled = part >= 0
    distance[styled] = 1.0 - np.einsum("ij,ij->i", block[styled], centroids[part[styled]])
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
    from PIL import UnidentifiedImageError

    from trendgan.ingest.images import safe_image

    images = []
    for path in paths:
        try:
            with safe_image(path) as image:  # a FIFO or a bomb swapped in since ingest is skipped, not hung on
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


def _write_run(store, images, tables: dict, metric_lines: list[dict], settings, inputs, results) -> Path:
    """Everything into a fresh run folder under the writer lock; config.json last marks the run finished.
    ``metric_lines``: the run's summary, then one line per split, merge or refusal (``StylesRun.events``)."""
    metrics = metric_lines[0]
    with start_run(store, StylesRun, settings=settings, inputs=inputs) as run:
        assignments = images[["image_id", "style_id", "family", "distance", "posted_at", "period", "source",
                              "leading_source"]]
        run.write_table("assignments", assignments)
        for name, table in tables.items():
            run.write_table(name, table)
        for line in metric_lines:
            run.log(line)
        run.finish(results=results,
                   summary={k: metrics[k] for k in ("k", "images", "silhouette", "new_styles", "families")})
    return run.folder
