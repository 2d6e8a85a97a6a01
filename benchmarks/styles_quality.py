"""How well trendgan's styles match real garment categories, and how well its series recover known shares.

Three measurements, one JSON object on stdout (progress on stderr):

1. fashion-product-9k: effnet-lite0 vectors of the real product photos (computed with trendgan.embed, cached under
   --cache, never in git), clustered by KMeansStyles with k chosen automatically and with k = the number of
   articleTypes present; NMI and ARI against articleType.
2. Fashion-MNIST (test set): pixel-PCA vectors (50 principal components of the 28x28 pixels, L2-normalised; no
   CNN, so it also runs where torch is slow), k auto and k = 10; NMI and ARI against the 10 labels.
3. A simulated scenario: weeks of Fashion-MNIST (train set) images whose labels follow known share curves
   (rising, declining, seasonal, stable), written into a temporary store and run through the whole stage
   (trendgan.styles.find_styles). Each style is mapped to its majority label; the mean absolute error between the
   recovered and the true share per label and week is reported against the curves and against the shares actually
   sampled (the latter isolates clustering error from sampling noise).

    python benchmarks/styles_quality.py                          # 2,000 product photos (a few minutes on CPU)
    python benchmarks/styles_quality.py --products 0             # all 7,667 product photos (full run)
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
    parser.add_argument("--skip", nargs="*", default=[], choices=["products", "fmnist", "scenario"])
    parser.add_argument("--seed", type=int, default=0)
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
        "k_auto": cluster_scores(vectors, labels, "auto", args.k_max, args.seed),
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
        "k_auto": cluster_scores(vectors, labels, "auto", args.k_max, args.seed),
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


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    result = {"benchmark": "styles_quality", "seed": args.seed}
    sections = (("products", "fashion_product_9k", measure_products, "fashion-product-9k"),
                ("fmnist", "fashion_mnist", measure_fmnist, "fashion-mnist"),
                ("scenario", "scenario", measure_scenario, "fashion-mnist"))
    for flag, name, measure, needs in sections:
        if flag in args.skip:
            continue
        if not (args.data / needs).exists():
            result[name] = {"skipped": f"needs {args.data / needs}"}
            continue
        result[name] = measure(args)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
