"""Scale-out on Ray Data: the same encoder and the same Parquet parts, decoding and inference spread over a cluster.

Decoding runs as stateless Ray tasks (one CPU each); inference runs in a pool of actors that each load the
encoder once (one GPU per actor when the cluster has GPUs). The driver receives the vectors and writes the parts
itself, through the same writer as the local engine, so the layout, resume and rejects behave identically.

Set ``RAY_ADDRESS`` to use an existing cluster; otherwise a local Ray instance is started for the run and shut
down afterwards. Ray is an optional extra: ``pip install 'trendgan[ray]'``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from trendgan.embed.batches import Batch, Failure, decode_or_failure
from trendgan.engines import ray_session


def decode_batch(batch: dict, recipe) -> dict:
    """Ray task: file paths -> uint8 pixels; undecodable files are flagged, never raised."""
    size = recipe.size
    count = len(batch["path"])
    pixels = np.zeros((count, 3, size, size), dtype=np.uint8)
    ok = np.zeros(count, dtype=bool)
    reasons, details = [""] * count, [""] * count
    for i, path in enumerate(batch["path"]):
        image, failure = decode_or_failure(recipe, str(path))
        if failure is None:
            pixels[i], ok[i] = image, True
        else:
            reasons[i], details[i] = failure
    return {"image_id": batch["image_id"], "path": batch["path"], "pixels": pixels, "ok": ok,
            "reason": np.array(reasons, dtype=object), "detail": np.array(details, dtype=object)}


class EmbedActor:
    """Ray actor: builds the encoder once, then embeds batch after batch."""

    def __init__(self, key: str, device: str):
        from trendgan.embed.encoders import get_encoder

        self.encoder = get_encoder(key, device)

    def __call__(self, batch: dict) -> dict:
        ok = np.asarray(batch["ok"], dtype=bool)
        vectors = np.zeros((len(ok), self.encoder.dim), dtype=np.float32)
        if ok.any():
            vectors[ok] = self.encoder.embed_pixels(np.asarray(batch["pixels"])[ok])
        return {"image_id": batch["image_id"], "path": batch["path"], "vector": vectors, "ok": ok,
                "reason": batch["reason"], "detail": batch["detail"]}


def ray_batches(key: str, device: str, recipe, items: list[tuple[str, str]], batch_size: int) -> Iterator:
    """Embed ``items`` on Ray; yields the same Batch tuples as the local engine.

    Ray decides how many decode tasks run at once (one per free CPU); inference gets one actor per GPU, or a
    single actor on a CPU-only cluster, where torch already uses every core of its node.
    """
    # A local instance sized to this machine unless RAY_ADDRESS names a cluster (trendgan.engines).
    with ray_session("--engine ray (Ray Data)") as ray:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # trendgan shows its own bar
        gpus = int(ray.cluster_resources().get("GPU", 0)) if device != "cpu" else 0
        actors = max(1, gpus)
        rows = [{"image_id": image_id, "path": path} for image_id, path in items]
        blocks = max(1, min(len(rows) // max(1, batch_size), 200)) or 1
        dataset = (
            ray.data.from_items(rows, override_num_blocks=blocks)
            .map_batches(decode_batch, fn_kwargs={"recipe": recipe}, batch_size=batch_size, batch_format="numpy", num_cpus=1)
            .map_batches(EmbedActor, fn_constructor_kwargs={"key": key, "device": "cuda" if gpus else "cpu"},
                         compute=ray.data.ActorPoolStrategy(size=actors), num_gpus=1 if gpus else 0,
                         batch_size=batch_size, batch_format="numpy")
        )
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
            ok = np.asarray(batch["ok"], dtype=bool)
            ids = [str(i) for i in np.asarray(batch["image_id"])[ok]]
            failures = [Failure(str(i), str(p), str(r), str(d)) for i, p, r, d, good in
                        zip(batch["image_id"], batch["path"], batch["reason"], batch["detail"], ok) if not good]
            yield Batch(ids, np.asarray(batch["vector"], dtype=np.float32)[ok], failures)

