"""How well trendgan's styles match real garment categories, and how well its series recover known shares.

Measurements, one JSON object on stdout (progress on stderr):

0. catalogue (``--skip catalogue`` to leave out): all fashion-product-9k photos in a store embedded once with
   effnet-lite0 by the embed stage (``<cache>/catalogue-store``, image ids = sha256 of the bytes), run through
   the styles stage (k="auto"): NMI and ARI of the styles and of the families against articleType, and 5-fold
   5-NN accuracy of the coordinates the stage clusters (the UMAP of its whitened vectors, Euclidean, from 2,000
   images up), of the whitened vectors it builds them from, and of the encoder's own (cosine).
   The store this script builds is undated, so the automatic level is set by images per style alone (k = 60 for
   7,590 photos) and nothing is split by trend; a cached store whose photos were later given dates (e.g. re-ingested
   with a manifest of the catalogue's years) gets the per-period bound and trend splits instead (``granularity``
   in the output says which: ``images_per_period`` is null when undated).
1. fashion-product-9k: effnet-lite0 vectors of the real product photos (computed with trendgan.embed, cached under
   --cache, never in git), clustered by KMeansStyles with k = the number of articleTypes present; NMI and ARI
   against articleType.
2. Fashion-MNIST (test set): pixel-PCA vectors (50 principal components of the 28x28 pixels, L2-normalised; no
   CNN, so it also runs where torch is slow), k auto and k = 10; NMI and ARI against the 10 labels.
3. A simulated scenario: weeks of Fashion-MNIST (train set) images whose labels follow known share curves
   (rising, declining, seasonal, stable), written into a temporary store and run through the whole stage
   (trendgan.styles.find_styles). Each style is mapped to its majority label; the mean absolute error between the
   recovered and the true share per label and week is reported against the curves and against the shares actually
   sampled (the latter isolates clustering error from sampling noise).

4. end-to-end scenarios over real images (``--skip e2e`` to leave out): pipelines/scenarios/
   fashion-mnist-lookalikes.toml (Fashion-MNIST train split) and catalogue-lookalikes.toml (the catalogue photos),
   look-alike classes given opposite curves, for each of ``--seeds``: simulate -> ingest -> embed -> styles ->
   forecast (``trendgan.forecast.forecast_frame``, what the forecast stage runs) at the style and the family
   level. Per planted class: the share MAE of the units (styles or families) whose majority it is against the
   true share, over the sampling noise alone (the sampled share against the true share); and whether the trend
   call of the unit holding most of its images matches the true trend; beside it the same calls with perfect styles
   (each class its own style, its sampled shares), the ceiling the trend calls set. Vectors come from the embed
   stage once:
   the scenario stores are seeded from ``<cache>/catalogue-store`` and ``<cache>/fmnist-store`` (vectors keyed
   by sha256 of the very bytes the simulator copies), and embed runs on whatever is left. The Fashion-MNIST
   scenario draws from a pool of the first 1,000 train images per class (``<cache>/fmnist-pool``, 56-px PNGs as
   the simulator writes them), so the pool is embedded once.

    python benchmarks/styles_quality.py --cache /tmp/styles --skip products fmnist scenario   # catalogue + e2e
    python benchmarks/styles_quality.py --skip catalogue e2e     # the old sections only
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(os.environ.get("TRENDGAN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "trendgan-styles-bench",
                        help="where product-photo vectors are cached between runs (never the repository)")
    parser.add_argument("--products", type=int, default=2000, help="product photos to use (0 = all 7,667)")
    parser.add_argument("--fmnist", type=int, default=10_000, help="Fashion-MNIST test images to cluster")
    parser.add_argument("--weeks", type=int, default=26, help="weeks in the simulated scenario")
    parser.add_argument("--per-week", type=int, default=300, help="images per simulated week")
    parser.add_argument("--k-max", type=int, default=40, help="largest k tried by k=auto")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["catalogue", "products", "fmnist", "scenario", "e2e"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=5, help="seeds of each end-to-end scenario")
    parser.add_argument("--datasets", nargs="*", default=["fashion-mnist", "catalogue"],
                        choices=["fashion-mnist", "catalogue"], help="end-to-end scenarios to run")
    parser.add_argument("--style", action="append", default=[],
                        help="a StyleSettings override for every styles run, e.g. --style k_tolerance=0.2")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- clustering quality


def cluster_scores(vectors, labels, k, k_max, seed) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from trendgan.styles import KMeansStyles

    started = time.perf_counter()
    model = KMeansStyles(k, k_min=4, k_max=k_max, seed=seed).fit(vectors)
    return {
        "k": int(model.n_styles_),
        "nmi": round(float(normalized_mutual_info_score(labels, model.labels_)), 4),
        "ari": round(float(adjusted_rand_score(labels, model.labels_)), 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def product_vectors(data: Path, limit: int, cache: Path, seed: int):
    """effnet-lite0 vectors of the product photos (cached) and their articleType."""
    import pandas as pd
    from PIL import Image

    folder = data / "fashion-product-9k"
    table = pd.read_csv(folder / "styles.csv")
    table = table[[(folder / p).is_file() for p in table["image"]]]
    if limit and limit < len(table):
        table = table.sample(n=limit, random_state=seed)
    table = table.sort_values("id").reset_index(drop=True)
    key = hashlib.sha256(",".join(map(str, table["id"])).encode()).hexdigest()[:16]
    target = cache / f"fashion-product-effnet-lite0-{key}.npy"
    if target.exists():
        log(f"products: cached vectors {target}")
        return np.load(target), table
    from trendgan.embed import get_encoder

    encoder = get_encoder("effnet-lite0")
    parts, started = [], time.perf_counter()
    for start in range(0, len(table), 64):
        images = [Image.open(folder / p).convert("RGB") for p in table["image"][start:start + 64]]
        parts.append(encoder.embed_images(images))
        done = start + len(images)
        log(f"products: embedded {done}/{len(table)} ({done / (time.perf_counter() - started):.1f} images/s)")
    vectors = np.concatenate(parts).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(target, vectors)
    return vectors, table


def measure_products(args) -> dict:
    vectors, table = product_vectors(args.data, args.products, args.cache, args.seed)
    labels = table["articleType"].to_numpy()
    n_types = int(len(np.unique(labels)))
    log(f"products: clustering {len(vectors)} photos ({n_types} articleTypes)")
    return {
        "images": int(len(vectors)), "vectors": "effnet-lite0 (ImageNet EfficientNet-Lite0, 1280-d pooled features)",
        "article_types": n_types,
        "k_article_types": cluster_scores(vectors, labels, n_types, args.k_max, args.seed),
    }


# --------------------------------------------------------------------------- Fashion-MNIST


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def pixel_pca(fit_images: np.ndarray, images: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    from trendgan.styles import normalise

    pca = PCA(n_components=50, random_state=seed).fit(fit_images.reshape(len(fit_images), -1) / 255.0)
    return normalise(pca.transform(images.reshape(len(images), -1) / 255.0))


def measure_fmnist(args) -> dict:
    folder = args.data / "fashion-mnist"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")[: args.fmnist]
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[: args.fmnist]
    vectors = pixel_pca(images, images, args.seed)
    log(f"fashion-mnist: clustering {len(vectors)} pixel-PCA vectors")
    return {
        "images": int(len(vectors)), "vectors": "pixel PCA (50 components of the 28x28 pixels), L2-normalised",
        "k_by_silhouette": cluster_scores(vectors, labels, "auto", args.k_max, args.seed),
        "k_10": cluster_scores(vectors, labels, 10, args.k_max, args.seed),
    }


# --------------------------------------------------------------------------- simulated scenario


def share_curves(weeks: int) -> dict[int, tuple[str, np.ndarray]]:
    """True share curves per Fashion-MNIST label: two rising, two declining, two seasonal, four stable."""
    t = np.arange(weeks) / max(1, weeks - 1)
    raw = {
        0: ("stable", np.full(weeks, 1.0)), 1: ("declining", 1.6 - 1.2 * t), 2: ("rising", 0.3 + 1.5 / (1 + np.exp(-10 * (t - 0.5)))),
        3: ("seasonal", 1.0 + 0.6 * np.sin(2 * np.pi * t * 2)), 4: ("stable", np.full(weeks, 0.8)),
        5: ("rising", 0.2 + 1.4 * t), 6: ("stable", np.full(weeks, 0.9)), 7: ("seasonal", 1.0 - 0.6 * np.sin(2 * np.pi * t * 2)),
        8: ("declining", 1.5 / (1 + np.exp(8 * (t - 0.6)))+0.2), 9: ("stable", np.full(weeks, 1.1)),
    }
    total = np.sum([curve for _, curve in raw.values()], axis=0)
    return {label: (trend, curve / total) for label, (trend, curve) in raw.items()}


def build_scenario_store(root: Path, vectors, labels, curves, weeks, per_week, seed):
    """A store with one catalog row and one vector per sampled image, dated inside its week."""
    import pandas as pd

    from trendgan.store import Store, write_json_atomic, write_parquet_atomic

    rng = np.random.default_rng(seed)
    pools = {label: list(rng.permutation(np.flatnonzero(labels == label))) for label in curves}
    start = dt.datetime(2024, 1, 1)  # a Monday
    rows, picked, sampled = [], [], np.zeros((weeks, len(curves)))
    shares = np.stack([curves[label][1] for label in sorted(curves)], axis=1)
    for week in range(weeks):
        counts = rng.multinomial(per_week, shares[week])
        sampled[week] = counts / counts.sum()
        for label, count in zip(sorted(curves), counts):
            for _ in range(count):
                index = pools[label].pop()
                picked.append(index)
                rows.append({"image_id": f"fmnist-{index:05d}", "path": f"fashion-mnist/train/{index}.png",
                             "source": "simulated", "leading_source": False,
                             "posted_at": start + dt.timedelta(weeks=week, hours=int(rng.integers(0, 24 * 7))),
                             "date_origin": "manifest", "width": 28, "height": 28, "phash": "0" * 16,
                             "duplicate_of": None, "caption": None, "engagement": None, "ingested_at": start})
    store = Store(root)
    frame = pd.DataFrame(rows)
    frame["engagement"] = frame["engagement"].astype("Int64")
    with store.catalog() as db:
        db.register("scenario", frame)
        db.execute(f"INSERT INTO images ({', '.join(frame.columns)}) SELECT * FROM scenario")
    key = "pixel-pca"
    write_parquet_atomic(pd.DataFrame({"image_id": frame["image_id"], "vector": list(vectors[picked])}),
                         store.embeddings_dir(key) / "part-00000.parquet")
    write_json_atomic(store.embeddings_dir(key) / "encoder.json",
                      {"key": key, "dim": int(vectors.shape[1]), "finished_at": dt.datetime.now().isoformat()})
    truth = dict(zip(frame["image_id"], labels[picked]))
    return store, truth, sampled


def recovered_shares(run, truth, n_labels, weeks) -> tuple[np.ndarray, dict]:
    """Per week and label, the summed share of the styles whose majority label it is."""
    assignments = run.assignments
    assignments = assignments.assign(label=assignments["image_id"].map(truth))
    majority = assignments.groupby("style_id")["label"].agg(lambda s: s.value_counts().idxmax()).to_dict()
    series = run.series.assign(label=run.series["unique_id"].map(majority))
    table = series.pivot_table(index="ds", columns="label", values="y", aggfunc="sum").sort_index()
    table = table.reindex(columns=range(n_labels), fill_value=0.0).fillna(0.0)
    return table.to_numpy()[:weeks], majority


def measure_scenario(args) -> dict:
    from trendgan.styles import find_styles, load_styles

    folder = args.data / "fashion-mnist"
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    vectors = pixel_pca(images[:20_000], images, args.seed)
    curves = share_curves(args.weeks)
    true = np.stack([curves[label][1] for label in sorted(curves)], axis=1)
    result = {"weeks": args.weeks, "images_per_week": args.per_week, "vectors": "pixel PCA (as above)",
              "curves": {str(label): trend for label, (trend, _) in curves.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        store, truth, sampled = build_scenario_store(Path(tmp) / "store", vectors, labels, curves, args.weeks,
                                                     args.per_week, args.seed)
        # k = 30: finer styles than labels, each mapped to its majority label (how an analyst would read them)
        for name, k in (("k_10", 10), ("k_30", 30), ("k_auto", "auto")):
            log(f"scenario: find_styles(k={k}) on {args.weeks * args.per_week} images")
            started = time.perf_counter()
            run = load_styles(store, find_styles(store, k=k, k_max=args.k_max, map_method="pca", seed=args.seed,
                                                 naming="colours").run)
            recovered, majority = recovered_shares(run, truth, len(curves), args.weeks)
            error_curve = np.abs(recovered - true).mean(axis=1)
            error_sampled = np.abs(recovered - sampled).mean(axis=1)
            result[name] = {
                "k": int(run.styles["style_id"].nunique()),
                "labels_covered": int(len(set(majority.values()))),
                "mae_per_week_vs_true_curve": {"mean": round(float(error_curve.mean()), 4), "max": round(float(error_curve.max()), 4)},
                "mae_per_week_vs_sampled_shares": {"mean": round(float(error_sampled.mean()), 4), "max": round(float(error_sampled.max()), 4)},
                "sampling_noise_mae_per_week": round(float(np.abs(sampled - true).mean()), 4),
                "mean_true_share": round(float(true.mean()), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
    return result


# --------------------------------------------------------------------------- the catalogue through the stage


def style_overrides(args) -> dict:
    """``--style name=value`` pairs as keyword arguments of find_styles (numbers parsed)."""
    out = {}
    for item in args.style:
        name, _, value = item.partition("=")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def catalogue_store(data: Path, cache: Path):
    """``<cache>/catalogue-store``: every catalogue photo (image_id = sha256 of its bytes), embedded once with
    effnet-lite0 by the embed stage; and the table of (image_id, articleType) for scoring."""
    import pandas as pd

    from trendgan.embed import embed
    from trendgan.store import Store, utcnow

    folder = data / "fashion-product-9k"
    table = pd.read_csv(folder / "styles.csv")
    table = table[[(folder / p).is_file() for p in table["image"]]].copy()
    table["image_id"] = [hashlib.sha256((folder / p).read_bytes()).hexdigest() for p in table["image"]]
    store = Store(cache / "catalogue-store")
    with store.catalog() as db:
        known = {row[0] for row in db.execute("SELECT image_id FROM images").fetchall()}
        fresh = table.drop_duplicates("image_id")
        fresh = fresh[~fresh["image_id"].isin(known)]
        if len(fresh):
            db.executemany("INSERT INTO images (image_id, path, source, date_origin, width, height, phash, "
                           "ingested_at) VALUES (?, ?, 'catalogue', 'none', 224, 224, '0', ?)",
                           [(i, str(folder / p), utcnow()) for i, p in zip(fresh["image_id"], fresh["image"])])
    log("catalogue: embedding what the store lacks (all 7,667 photos take ~15 min on 2 busy cores, once)")
    embed(store, encoder="effnet-lite0", device="cpu")
    return store, table


def measure_catalogue(args) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    from trendgan.embed import load_vectors
    from trendgan.styles import StyleSettings, find_styles, load_styles
    from trendgan.styles.stage import make_space

    store, table = catalogue_store(args.data, args.cache)
    started = time.perf_counter()
    overrides = style_overrides(args)
    run = load_styles(store, find_styles(store, k="auto", map_method="pca", naming="colours", seed=args.seed,
                                         **overrides).run)
    seconds = time.perf_counter() - started
    # one row per photo (duplicated bytes share an image id and a style)
    style_of = dict(zip(run.assignments["image_id"], run.assignments["style_id"]))
    family_of = dict(zip(run.styles["style_id"], run.styles["family"]))
    truth = table["articleType"].to_numpy()
    styles = np.array([style_of[i] for i in table["image_id"]])
    families = np.array([family_of[s] for s in styles])
    ids, vectors = load_vectors(store, "effnet-lite0")
    row = {image_id: i for i, image_id in enumerate(ids)}
    vectors = vectors[[row[i] for i in table["image_id"]]]
    settings = StyleSettings(**{k: v for k, v in overrides.items() if k in StyleSettings.__dataclass_fields__})
    # the stage's own space, fitted again the same way (seeded: the same coordinates the stage clustered)
    space = make_space(settings)
    clustered = space.fit_transform(vectors)
    whitened = space._whiten(vectors)

    def knn(v, metric="cosine"):
        model = KNeighborsClassifier(n_neighbors=5, metric=metric)
        return round(float(cross_val_score(model, v, truth, cv=KFold(5, shuffle=True, random_state=args.seed)).mean()), 4)

    def agreement(labels):
        return {"nmi": round(float(normalized_mutual_info_score(truth, labels)), 4),
                "ari": round(float(adjusted_rand_score(truth, labels)), 4), "count": int(len(np.unique(labels)))}

    summary = run.metrics[0]
    return {
        "images": int(len(table)), "article_types": int(len(np.unique(truth))),
        "styles": agreement(styles), "families": agreement(families),
        "knn5_accuracy_clustering_space": knn(clustered, "cosine" if space.metric_ == "cosine" else "euclidean"),
        "knn5_accuracy_whitened_vectors": knn(whitened), "knn5_accuracy_encoder_vectors": knn(vectors),
        "space": summary.get("space"), "granularity": summary.get("granularity"),
        "family_silhouette_by_count": summary.get("family_silhouette_by_count"),
        "overrides": overrides, "styles_seconds": round(seconds, 1),
    }


# --------------------------------------------------------------------------- end-to-end scenarios over real images


SCENARIOS = {"fashion-mnist": "fashion-mnist-lookalikes.toml", "catalogue": "catalogue-lookalikes.toml"}
POOL_PER_CLASS = 1000


def fmnist_pool(data: Path, cache: Path) -> Path:
    """``<cache>/fmnist-pool``: the first 1,000 train images of each class as the 56-px PNGs the simulator writes
    (``labels.csv`` beside them), so one embedding serves every seed; built once."""
    import csv
    import io

    from PIL import Image

    from trendgan.simulate.labelled import FASHION_MNIST_CLASSES, read_fashion_mnist

    pool = cache / "fmnist-pool"
    if (pool / "labels.csv").exists():
        return pool
    (pool / "images").mkdir(parents=True, exist_ok=True)
    images, labels = read_fashion_mnist(data / "fashion-mnist", "train")
    rows = []
    for number, name in enumerate(FASHION_MNIST_CLASSES):
        for index in np.flatnonzero(labels == number)[:POOL_PER_CLASS]:
            picture = Image.fromarray(images[index], "L").convert("RGB").resize((56, 56), Image.Resampling.BICUBIC)
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            (pool / f"images/{index:05d}.png").write_bytes(buffer.getvalue())
            rows.append({"image": f"images/{index:05d}.png", "label": name, "index": int(index)})
    with open(pool / "labels.tmp", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["image", "label", "index"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(pool / "labels.tmp", pool / "labels.csv")
    return pool


def vector_cache(dataset: str, args):
    """(encoder key, {sha256: vector}) of every picture the scenario can draw, embedded once by the embed stage."""
    from trendgan.embed import embed, load_vectors
    from trendgan.store import Store, utcnow

    if dataset == "catalogue":
        store, _ = catalogue_store(args.data, args.cache)
    else:
        pool = fmnist_pool(args.data, args.cache)
        store = Store(args.cache / "fmnist-store")
        with store.catalog() as db:
            known = {row[0] for row in db.execute("SELECT image_id FROM images").fetchall()}
            rows = []
            for path in sorted((pool / "images").glob("*.png")):
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                if sha not in known:
                    known.add(sha)
                    rows.append((sha, str(path), utcnow()))
            if rows:
                db.executemany("INSERT INTO images (image_id, path, source, date_origin, width, height, phash, "
                               "ingested_at) VALUES (?, ?, 'pool', 'none', 56, 56, '0', ?)", rows)
        embed(store, encoder="effnet-lite0", device="cpu")
    ids, vectors = load_vectors(store, "effnet-lite0")
    return dict(zip(ids, vectors))


def scenario_table(dataset: str, args) -> dict:
    """The scenario as a dict, its images pointing at the shared data (or the Fashion-MNIST pool)."""
    from trendgan.config import load_toml

    table = load_toml(Path(__file__).resolve().parents[1] / "pipelines" / "scenarios" / SCENARIOS[dataset])
    if dataset == "catalogue":
        table["images"]["path"] = str(args.data / "fashion-product-9k")
    else:
        table["images"] = {"kind": "folder", "path": str(fmnist_pool(args.data, args.cache)), "csv": "labels.csv",
                           "image_column": "image", "label_column": "label"}
        table["size"] = 0  # the pool is already 56 px: copy its PNGs byte for byte
    return table


def seed_store_vectors(store, cache: dict) -> int:
    """Write the cached vectors of the store's images as one embeddings part; embed then does only the rest."""
    from trendgan.embed.vectors import write_encoder_info, write_part

    with store.catalog(read_only=True) as db:
        ids = [row[0] for row in db.execute("SELECT image_id FROM images").fetchall()]
    known = [i for i in ids if i in cache]
    folder = store.embeddings_dir("effnet-lite0")
    folder.mkdir(parents=True, exist_ok=True)
    if known:
        write_part(folder, "part-00000000T000000000000-cache.parquet", known, np.stack([cache[i] for i in known]))
        write_encoder_info(folder, {"key": "effnet-lite0", "dim": int(len(next(iter(cache.values()))))})
    return len(known)


def run_scenario(dataset: str, seed: int, cache: dict, args) -> dict:
    from trendgan.embed import embed
    from trendgan.forecast.core import forecast_frame
    from trendgan.ingest import ingest
    from trendgan.simulate import load_truth, simulate
    from trendgan.store import Store
    from trendgan.styles import find_styles, load_styles

    with tempfile.TemporaryDirectory(prefix="trendgan-e2e-") as tmp:
        corpus = simulate(Path(tmp) / "corpus", scenario_table(dataset, args), seed=seed)
        store = Store(Path(tmp) / "store")
        ingest([corpus.out], store, manifest=corpus.manifest, leading_sources=corpus.leading_sources,
               near_duplicate_distance=-1)
        seeded = seed_store_vectors(store, cache)
        embedded = embed(store, encoder="effnet-lite0", device="cpu").embedded
        started = time.perf_counter()
        run = load_styles(store, find_styles(store, k="auto", map_method="pca", naming="colours", seed=0,
                                             **style_overrides(args)).run)
        styles_seconds = time.perf_counter() - started
        truth = load_truth(corpus.out)
        members = labelled_members(store, corpus.out, run.assignments)
        horizon = int(truth["holdout_periods"])
        result = {"seed": seed, "images": int(len(members)), "vectors_from_cache": seeded, "embedded_now": embedded,
                  "styles": int(len(run.styles)), "families": int(len(run.families)),
                  "splits": int(run.metrics[0].get("splits", 0)), "k_choice": run.metrics[0].get("granularity"),
                  "styles_seconds": round(styles_seconds, 1)}
        result["perfect_styles"] = perfect_style_calls(truth, horizon)
        for level, series, unit_of in (("style", run.series, members["style_id"]),
                                       ("family", run.family_series, members["family"])):
            started = time.perf_counter()
            labels = forecast_frame(series, horizon, period="W").labels.set_index("unique_id")["trend"]
            result[level] = score_level(truth, members.assign(unit=unit_of.to_numpy()), series, labels)
            result[level]["forecast_seconds"] = round(time.perf_counter() - started, 1)
    return result


def perfect_style_calls(truth: dict, horizon: int) -> dict:
    """The ceiling styles can reach: the forecast's trend calls when every planted class is its own style (its
    sampled shares, from the truth's counts), so what is left is the trend calls' own error."""
    import pandas as pd

    from trendgan.forecast.core import forecast_frame

    counts = pd.DataFrame({label: entry["counts"] for label, entry in truth["labels"].items()}).fillna(0)
    counts.index = pd.to_datetime(counts.index)
    total = counts.sum(axis=1)
    series = pd.DataFrame([{"unique_id": i, "ds": ds, "y": counts.at[ds, label] / total[ds],
                            "count": int(counts.at[ds, label]), "total": int(total[ds])}
                           for i, label in enumerate(counts.columns) for ds in counts.index])
    labels = forecast_frame(series, horizon, period="W").labels.set_index("unique_id")["trend"]
    calls = {label: labels[i] for i, label in enumerate(counts.columns)}
    movers = [label for label in calls if truth["labels"][label]["trend"] in ("rising", "declining", "emerging")]
    return {"calls": calls, "movers_called_right": sum(calls[l] == truth["labels"][l]["trend"] for l in movers),
            "movers": len(movers)}


def labelled_members(store, corpus: Path, assignments):
    """image_id, style_id, family and the true label of every styled image of the corpus (via labels.csv)."""
    import pandas as pd

    truth = pd.read_csv(corpus / "labels.csv")
    truth["path"] = [str((corpus / p).resolve()) for p in truth["path"]]
    with store.catalog(read_only=True) as db:
        catalog = db.execute("SELECT image_id, path FROM images").fetchdf()
    catalog["path"] = [str(Path(p).resolve()) for p in catalog["path"]]
    labelled = catalog.merge(truth[["path", "label"]], on="path")
    members = assignments[["image_id", "style_id", "family"]].merge(labelled[["image_id", "label"]], on="image_id")
    return members[members["style_id"] >= 0]


def score_level(truth: dict, members, series, trend_calls) -> dict:
    """Share MAE against the truth and the sampling noise per planted class; trend calls of risers and decliners."""
    import pandas as pd

    majority = members.groupby("unit")["label"].agg(lambda s: s.value_counts().idxmax())
    shares = series.assign(label=series["unique_id"].map(majority)).pivot_table(
        index="ds", columns="label", values="y", aggfunc="sum").fillna(0.0)
    shares.index = pd.to_datetime(shares.index).normalize()
    counts = pd.DataFrame({label: entry["counts"] for label, entry in truth["labels"].items()}).fillna(0)
    counts.index = pd.to_datetime(counts.index)
    sampled = counts.div(counts.sum(axis=1), axis=0)
    classes = {}
    for label, entry in truth["labels"].items():
        true = pd.Series(entry["shares"], dtype=float)
        true.index = pd.to_datetime(true.index)
        got = shares[label].reindex(true.index).fillna(0.0) if label in shares else pd.Series(0.0, index=true.index)
        noise = float((sampled[label].reindex(true.index) - true).abs().mean())
        error = float((got - true).abs().mean())
        holder = members.loc[members["label"] == label, "unit"].value_counts()
        unit = holder.index[0] if len(holder) else None
        called = trend_calls.get(unit) if unit is not None else None
        classes[label] = {"true_trend": entry["trend"], "share_mae": round(error, 4), "noise_mae": round(noise, 4),
                          "ratio": round(error / noise, 2) if noise else None,
                          "mae_vs_sampled": round(float((got - sampled[label].reindex(true.index)).abs().mean()), 4),
                          "unit": None if unit is None else int(unit), "coverage": round(float(holder.iloc[0] / holder.sum()), 3) if len(holder) else 0.0,
                          "called": called, "right": called == entry["trend"]}
    movers = {k: v for k, v in classes.items() if v["true_trend"] in ("rising", "declining", "emerging")}
    return {"classes": classes,
            "max_ratio": max(v["ratio"] for v in classes.values() if v["ratio"] is not None),
            "classes_within_2x_noise": sum(v["ratio"] is not None and v["ratio"] <= 2 for v in classes.values()),
            "movers_called_right": sum(v["right"] for v in movers.values()), "movers": len(movers)}


def measure_end_to_end(args) -> dict:
    out = {}
    for dataset in args.datasets:
        log(f"e2e: vectors for {dataset}")
        cache = vector_cache(dataset, args)
        runs = []
        for seed in range(args.seeds):
            log(f"e2e: {dataset} seed {seed}")
            runs.append(run_scenario(dataset, seed, cache, args))
            log(json.dumps({k: runs[-1][k] for k in ("seed", "styles", "families", "splits")}) + " " + json.dumps(
                {level: {k: runs[-1][level][k] for k in ("max_ratio", "classes_within_2x_noise", "movers_called_right")}
                 for level in ("style", "family")}))
        labels = list(runs[0]["style"]["classes"])
        summary = {}
        for level in ("style", "family"):
            per_class = {label: {"ratio_by_seed": [r[level]["classes"][label]["ratio"] for r in runs],
                                 "called_right_by_seed": [r[level]["classes"][label]["right"] for r in runs],
                                 "true_trend": runs[0][level]["classes"][label]["true_trend"]} for label in labels}
            movers = [l for l, v in per_class.items() if v["true_trend"] in ("rising", "declining", "emerging")]
            summary[level] = {
                "movers_right_in_4_of_5_with_perfect_styles": sum(
                    sum(r["perfect_styles"]["calls"][l] == per_class[l]["true_trend"] for r in runs) >= 0.8 * len(runs)
                    for l in movers),
                "classes_within_2x_noise_every_seed": sum(all(r is not None and r <= 2 for r in v["ratio_by_seed"])
                                                          for v in per_class.values()),
                "classes": len(labels),
                "movers_right_in_4_of_5": sum(sum(per_class[l]["called_right_by_seed"]) >= 0.8 * len(runs)
                                              for l in movers),
                "movers": len(movers), "per_class": per_class,
            }
        out[dataset] = {"seeds": args.seeds, "summary": summary, "runs": runs}
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    result = {"benchmark": "styles_quality", "seed": args.seed}
    sections = (("catalogue", "catalogue", measure_catalogue, "fashion-product-9k"),
                ("e2e", "end_to_end", measure_end_to_end, "fashion-mnist"),
                ("products", "fashion_product_9k", measure_products, "fashion-product-9k"),
                ("fmnist", "fashion_mnist", measure_fmnist, "fashion-mnist"),
                ("scenario", "scenario", measure_scenario, "fashion-mnist"))
    for flag, name, measure, needs in sections:
        if flag in args.skip:
            continue
        if name == "end_to_end":
            if not all((args.data / d).exists() for d in ("fashion-mnist", "fashion-product-9k")):
                result[name] = {"skipped": f"needs {args.data}/fashion-mnist and fashion-product-9k"}
                continue
        if not (args.data / needs).exists():
            result[name] = {"skipped": f"needs {args.data / needs}"}
            continue
        result[name] = measure(args)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(without_nan(result)))
    return result


def without_nan(value):
    """The result with NaN (a one-style family has no silhouette) as null: NaN is not JSON."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


if __name__ == "__main__":
    main()
