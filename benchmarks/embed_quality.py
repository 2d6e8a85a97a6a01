"""How well an encoder's vectors separate garment types, on real product photos.

On ../shared/data/fashion-product-9k (Myntra catalogue, labelled with articleType), embeds a seeded random subset
through the embed stage itself (a fresh store, DataLoader workers, Parquet parts) and measures:

    knn_accuracy   5-fold cross-validated accuracy of a 5-nearest-neighbour classifier (cosine) on articleType
    knn_accuracy_whitened  the same on the vectors after the styles stage's whitening (trendgan.styles.space:
                   PCA to 512 axes, power 0.5, fitted on these vectors, no labels), what its UMAP is built from
    kmeans_nmi     normalised mutual information between k-means clusters (k = number of article types) and
                   articleType

Prints one JSON object; progress on stderr.

    python benchmarks/embed_quality.py                       # 1,500 images, effnet-lite0
    python benchmarks/embed_quality.py --images 0            # all 7,667 images
    python benchmarks/embed_quality.py --encoder clip:ViT-B-32@/path/to/weights.pt
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRODUCTS = ROOT.parent / "shared" / "data" / "fashion-product-9k"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def labelled_products(root: Path, count: int, seed: int) -> list[tuple[str, Path]]:
    import numpy as np

    with open(root / "styles.csv", newline="", encoding="utf-8") as fh:
        rows = [(row["articleType"], root / row["image"]) for row in csv.DictReader(fh)]
    rows = [(kind, path) for kind, path in rows if path.exists()]
    if 0 < count < len(rows):
        pick = np.random.default_rng(seed).choice(len(rows), size=count, replace=False)
        rows = [rows[i] for i in sorted(pick)]
    return rows


def embed_products(products, key: str, device: str, batch_size, workers, scratch: Path):
    """Through the stage itself: a catalog listing the photos, then trendgan.embed.embed."""
    from trendgan.embed import embed, load_vectors
    from trendgan.store import Store, utcnow

    store = Store(scratch / "store")
    ids = [f"product-{i:05d}" for i in range(len(products))]
    with store.catalog() as db:
        db.executemany("INSERT INTO images (image_id, path, source, date_origin, width, height, phash, ingested_at) "
                       "VALUES (?, ?, 'myntra', 'none', 224, 224, '0', ?)",
                       [(image_id, str(path), utcnow()) for image_id, (_, path) in zip(ids, products)])
    result = embed(store, encoder=key, device=device, batch_size=batch_size, workers=workers)
    got_ids, vectors = load_vectors(store, result.encoder_key)
    order = {image_id: i for i, image_id in enumerate(got_ids)}
    return vectors[[order[i] for i in ids]], result


def scores(vectors, labels, seed: int) -> dict:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    labels = np.asarray(labels)
    knn = KNeighborsClassifier(n_neighbors=5, metric="cosine")
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    accuracy = cross_val_score(knn, vectors, labels, cv=folds).mean()
    from trendgan.styles.space import StyleSpace

    whitened = StyleSpace(seed=seed, min_images=0).fit_transform(vectors)
    accuracy_whitened = cross_val_score(knn, whitened, labels, cv=folds).mean()
    k = len(set(labels))
    clusters = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)
    return {"knn_accuracy": round(float(accuracy), 4), "knn_accuracy_whitened": round(float(accuracy_whitened), 4),
            "kmeans_nmi": round(float(normalized_mutual_info_score(labels, clusters)), 4), "article_types": k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1500, help="random subset size; 0 = all 7,667 (default 1500)")
    parser.add_argument("--data", type=Path, default=PRODUCTS, help="fashion-product-9k folder (styles.csv + images/)")
    parser.add_argument("--encoder", default="effnet-lite0", help="encoder key (default effnet-lite0)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the subset, the folds and k-means")
    args = parser.parse_args()
    if not (args.data / "styles.csv").exists():
        parser.exit(2, f"needs fashion-product-9k at {args.data} (styles.csv + images/); pass --data\n")

    from trendgan.console import set_quiet

    set_quiet(True)
    products = labelled_products(args.data, args.images, args.seed)
    log(f"{len(products)} products, {len({k for k, _ in products})} article types; embedding with {args.encoder}")
    with tempfile.TemporaryDirectory(prefix="trendgan-embed-quality-") as scratch:
        started = time.perf_counter()
        vectors, result = embed_products(products, args.encoder, args.device, args.batch_size, args.workers, Path(scratch))
        embed_seconds = time.perf_counter() - started
    log(f"embedded at {result.images_per_second:.1f} images/s; scoring")
    report = {
        "benchmark": "embed_quality",
        "dataset": "fashion-product-9k",
        "encoder": result.encoder_key,
        "device": result.device,
        "images": len(products),
        "seed": args.seed,
        **scores(vectors, [kind for kind, _ in products], args.seed),
        "embed_images_per_s": round(result.images_per_second, 2),
        "embed_wall_s": round(embed_seconds, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
