"""Images per second of the embed stage against a naive loop and against the model alone.

On the same JPEG files and the same model (ViT-B-32 with random weights by default: same cost as the real one):

    naive     open one image, preprocess it, forward it with batch 1 (what a first script does)
    trendgan  trendgan.embed.embed on a fresh store: decode workers, batches, Parquet parts (timed without model load)
    ceiling   the model alone on pre-decoded uint8 batches (decoding cost removed: the best embed could reach)

Prints one JSON object with the three rates and the ratios trendgan/naive and trendgan/ceiling; progress on stderr.

    python benchmarks/embed_throughput.py                                   # 192 product photos, CPU
    python benchmarks/embed_throughput.py --images 20000 --device cuda --batch-size 512 --workers 16 --skip-naive

Images come from ../shared/data/fashion-product-9k/images (or --folder); without them, 224 px JPEGs are drawn.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRODUCTS = ROOT.parent / "shared" / "data" / "fashion-product-9k" / "images"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def image_files(folder: Path | None, count: int, scratch: Path) -> list[Path]:
    folder = folder or (PRODUCTS if PRODUCTS.is_dir() else None)
    if folder is not None:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
        if len(files) >= count:
            return files
        log(f"{folder} has only {len(files)} images; drawing the rest")
    else:
        files = []
    return files + draw_jpegs(scratch / "drawn", count - len(files))


def draw_jpegs(folder: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        path = folder / f"drawn-{i:06d}.jpg"
        Image.fromarray(pixels).resize((224, 224), Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def naive_rate(encoder, paths: list[Path], limit: int) -> float:
    """One image at a time, straight from disk, as a first script would: open, preprocess, forward."""
    import torch
    from PIL import Image

    paths = paths[:limit]
    started = time.perf_counter()
    with torch.no_grad():
        for path in paths:
            image = Image.open(path).convert("RGB")
            inputs = encoder.preprocess(image)[None].to(encoder.device)
            features = encoder._forward(inputs)
            torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()
    sync(encoder.device)
    return len(paths) / (time.perf_counter() - started)


def ceiling_rate(encoder, paths: list[Path], batch_size: int) -> float:
    """The model alone: every image already decoded and cropped, only normalise + forward + copy back."""
    import numpy as np

    pixels = np.stack([encoder.recipe.load(str(p)) for p in paths])
    encoder.embed_pixels(pixels[:batch_size])  # warm-up (kernel selection, allocator)
    sync(encoder.device)
    started = time.perf_counter()
    for start in range(0, len(pixels), batch_size):
        encoder.embed_pixels(pixels[start:start + batch_size])
    sync(encoder.device)
    return len(pixels) / (time.perf_counter() - started)


def trendgan_rate(key: str, device: str, paths: list[Path], batch_size: int, workers: int | None, scratch: Path):
    from trendgan.embed import embed
    from trendgan.store import Store, utcnow

    store = Store(scratch / f"store-{time.monotonic_ns()}")
    with store.catalog() as db:
        rows = [(hashlib.sha256(p.read_bytes()).hexdigest() + f"-{i}", str(p), utcnow()) for i, p in enumerate(paths)]
        db.executemany("INSERT INTO images (image_id, path, source, date_origin, width, height, phash, ingested_at) "
                       "VALUES (?, ?, 'bench', 'none', 224, 224, '0', ?)", rows)
    result = embed(store, encoder=key, device=device, batch_size=batch_size, workers=workers)
    assert result.embedded == len(paths), result
    return result.images_per_second, result


def median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def sync(device) -> None:
    import torch

    if getattr(device, "type", "") == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=192, help="images embedded by trendgan and the ceiling (default 192)")
    parser.add_argument("--naive-images", type=int, default=48, help="images for the naive loop (default 48: its rate is flat)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate ceiling / trendgan / naive this many times and report medians (noisy machines)")
    parser.add_argument("--folder", type=Path, default=None, help="folder of JPEGs (default: fashion-product-9k)")
    parser.add_argument("--encoder", default="clip:ViT-B-32/none", help="encoder key (default: ViT-B-32, random weights)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 on GPU, 32 on CPU")
    parser.add_argument("--workers", type=int, default=None, help="decode workers for trendgan (default: up to 4)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the naive loop (slow at large sizes)")
    args = parser.parse_args()

    import torch

    from trendgan.console import set_quiet
    from trendgan.devices import pick_device
    from trendgan.embed import get_encoder
    from trendgan.embed.stage import default_batch_size, default_workers

    set_quiet(True)
    device = pick_device(args.device)
    batch_size = args.batch_size or default_batch_size(device)
    with tempfile.TemporaryDirectory(prefix="trendgan-embed-bench-") as scratch:
        scratch = Path(scratch)
        paths = image_files(args.folder, args.images, scratch)
        encoder = get_encoder(args.encoder, device)
        log(f"{len(paths)} images, {encoder.key} on {device}, batch {batch_size}, torch threads {torch.get_num_threads()}")
        rates = {"ceiling": [], "trendgan": [], "naive": []}
        for round_ in range(args.rounds):
            rates["ceiling"].append(ceiling_rate(encoder, paths, batch_size))
            ours, result = trendgan_rate(encoder.key, args.device, paths, batch_size, args.workers, scratch)
            rates["trendgan"].append(ours)
            if not args.skip_naive:
                rates["naive"].append(naive_rate(encoder, paths, min(args.naive_images, len(paths))))
            log(f"round {round_ + 1}: " + ", ".join(f"{name} {values[-1]:.2f}" for name, values in rates.items() if values)
                + " images/s")
    ceiling, ours = median(rates["ceiling"]), median(rates["trendgan"])
    naive = median(rates["naive"]) if rates["naive"] else None
    report = {
        "benchmark": "embed_throughput",
        "encoder": encoder.key,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else os.uname().machine,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "images": len(paths),
        "batch_size": batch_size,
        "workers": args.workers if args.workers is not None else default_workers(device),
        "rounds": args.rounds,
        "naive_images": min(args.naive_images, len(paths)) if naive else 0,
        "naive_images_per_s": round(naive, 2) if naive else None,
        "trendgan_images_per_s": round(ours, 2),
        "ceiling_images_per_s": round(ceiling, 2),
        "trendgan_over_naive": round(ours / naive, 3) if naive else None,
        "trendgan_over_ceiling": round(ours / ceiling, 3),
        "model_load_s": round(result.load_seconds, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "per_round_images_per_s": {name: [round(v, 2) for v in values] for name, values in rates.items()},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
