"""How fast trendgan clusters and assigns many image vectors into styles, and how much memory it needs.

Random unit vectors (float32) stand in for image embeddings: no structure, the hardest case for k-means to
converge on. Measures KMeansStyles.fit (mini-batch k-means on a sample, then chunked nearest-centroid assignment of
every vector) plus each vector's distance to its style centroid. Prints one JSON object; progress goes to stderr.

    python benchmarks/styles_speed.py                      # 100,000 vectors (modest default)
    python benchmarks/styles_speed.py --n 1000000          # the full-size run: 1M x 512 into 100 styles
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def random_unit_vectors(n: int, dim: int, seed: int, chunk: int = 100_000):
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - start), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        vectors[start:start + len(block)] = block
    return vectors


def peak_rss_gib() -> float:
    # ru_maxrss is KiB on Linux: the process's high-water mark, vectors included
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="number of vectors (full run: 1000000)")
    parser.add_argument("--dim", type=int, default=512, help="vector dimension")
    parser.add_argument("--k", type=int, default=100, help="number of styles")
    parser.add_argument("--fit-sample", type=int, default=200_000, help="vectors mini-batch k-means is fitted on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np

    from trendgan.styles import KMeansStyles, distance_to_style

    start = time.perf_counter()
    vectors = random_unit_vectors(args.n, args.dim, args.seed)
    make_seconds = time.perf_counter() - start
    rss_data = peak_rss_gib()
    print(f"made {args.n:,} x {args.dim} vectors in {make_seconds:.1f}s ({vectors.nbytes / 2**30:.2f} GiB)", file=sys.stderr)

    wall, cpu = time.perf_counter(), time.process_time()
    model = KMeansStyles(args.k, fit_sample=args.fit_sample, seed=args.seed).fit(vectors)
    fit_wall = time.perf_counter() - wall
    print(f"clustered and assigned in {fit_wall:.1f}s", file=sys.stderr)
    distance = distance_to_style(vectors, model.labels_, model.centroids_)
    wall_total, cpu_total = time.perf_counter() - wall, time.process_time() - cpu
    sizes = np.bincount(model.labels_, minlength=args.k)

    result = {
        "benchmark": "styles_speed",
        "n_vectors": args.n, "dim": args.dim, "k": args.k, "dtype": str(vectors.dtype),
        "method": type(model.estimator_).__name__, "fit_sample": min(args.fit_sample, args.n),
        "seconds": round(wall_total, 2), "cluster_and_assign_seconds": round(fit_wall, 2),
        "cpu_seconds": round(cpu_total, 2), "cpu_per_wall": round(cpu_total / max(wall_total, 1e-9), 2),
        "vectors_per_second": round(args.n / wall_total),
        "peak_rss_gib": round(peak_rss_gib(), 2), "rss_after_making_vectors_gib": round(rss_data, 2),
        "vectors_gib": round(vectors.nbytes / 2**30, 2),
        "styles_used": int((sizes > 0).sum()), "smallest_style": int(sizes.min()), "largest_style": int(sizes.max()),
        "mean_distance": round(float(np.nanmean(distance)), 4),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
        "note": "shared machine: wall time depends on other users' load; cpu_seconds is the steadier figure",
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
