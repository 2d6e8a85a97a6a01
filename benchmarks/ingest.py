"""Ingest speed: a first ingest of N small generated images, then an unchanged re-ingest of the same folders.

Prints one JSON object (files/s for both, their ratio, peak memory); progress goes to stderr.

    python benchmarks/ingest.py                 # 2,000 images: a quick check
    python benchmarks/ingest.py --n 20000       # the full-size run (target: re-ingest >= 20x faster)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SOURCES = ("instagram", "runway", "streetstyle", "magazines")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="images to generate (default 2000; the full run is 20000)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--workers", type=int, default=None, help="ingest worker processes (default: ingest's own)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the generated images")
    parser.add_argument("--workdir", type=Path, default=None, help="where to generate images and the store (default: a temp dir, removed)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_garment(rng: np.random.Generator, size: int) -> Image.Image:
    """A noisy background with a coloured garment-like silhouette: distinct images, cheap to make."""
    background = rng.integers(150, 256, size=(size, size, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in rng.integers(0, 200, size=3))
    top, width = size * rng.uniform(0.1, 0.3), size * rng.uniform(0.3, 0.6)
    left = (size - width) / 2
    draw.rectangle([left, top, left + width, size * rng.uniform(0.7, 0.95)], fill=colour)
    draw.rectangle([left - size * 0.15, top, left + width + size * 0.15, top + size * 0.15], fill=colour)
    return image


def generate(folder: Path, n: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 2)
    for i in range(n):
        day = start + dt.timedelta(days=int(rng.integers(0, 365)))
        target = folder / SOURCES[i % len(SOURCES)] / f"{day:%Y}" / f"{day:%m}"
        target.mkdir(parents=True, exist_ok=True)
        image = make_garment(rng, size)
        if i % 2:
            image.save(target / f"IMG_{day:%Y%m%d}_{i:06d}.jpg", quality=85)
        else:
            image.save(target / f"post_{i:06d}.png")
        if (i + 1) % 5000 == 0:
            log(f"generated {i + 1:,} images")


def peak_memory_mib() -> dict:
    to_mib = 1 / 1024  # Linux reports ru_maxrss in KiB
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mib
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mib
    return {"peak_rss_main_mib": round(own, 1), "peak_rss_largest_worker_mib": round(children, 1)}


def run(args: argparse.Namespace, workdir: Path) -> dict:
    from trendgan.ingest import ingest
    from trendgan.store import Store

    images, store = workdir / "images", Store(workdir / "store")
    log(f"generating {args.n:,} {args.size}x{args.size} images in {images}")
    t0 = time.perf_counter()
    generate(images, args.n, args.size, args.seed)
    log(f"generated in {time.perf_counter() - t0:.1f} s; first ingest")

    t0 = time.perf_counter()
    first = ingest([images], store=store, workers=args.workers)
    first_s = time.perf_counter() - t0
    log(f"first ingest {first_s:.1f} s; unchanged re-ingest")
    t0 = time.perf_counter()
    again = ingest([images], store=store, workers=args.workers)
    again_s = time.perf_counter() - t0
    return {
        "benchmark": "ingest",
        "n_images": args.n,
        "image_size": args.size,
        "workers": args.workers if args.workers is not None else min(4, os.cpu_count() or 1),
        "cpu_count": os.cpu_count(),
        "first_ingest_s": round(first_s, 2),
        "first_ingest_files_per_s": round(args.n / first_s, 1),
        "reingest_s": round(again_s, 3),
        "reingest_files_per_s": round(args.n / again_s, 1),
        "reingest_speedup": round(first_s / again_s, 1),
        "target_speedup": 20,
        "first_new": first.new,
        "first_near_duplicates": first.near_duplicates,
        "first_rejected": first.rejected_total,
        "reingest_unchanged": again.unchanged,
        "reingest_new": again.new,
        **peak_memory_mib(),
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args, args.workdir)), flush=True)
    else:
        with tempfile.TemporaryDirectory(prefix="trendgan-bench-ingest-") as tmp:
            print(json.dumps(run(args, Path(tmp))), flush=True)  # before the (slow) clean-up of N files
            log("removing the generated images")


if __name__ == "__main__":
    main()
