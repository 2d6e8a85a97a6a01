"""The embed stage: every catalog image without a vector for the chosen encoder gets one.

Decoding happens in DataLoader workers (or Ray tasks) while the model runs; vectors are written in Parquet parts
as they come, so a killed run keeps every finished part and a rerun embeds only what is missing. Files that no
longer decode are moved from the catalog to the rejects table instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from trendgan.console import escape, progress, say
from trendgan.embed.batches import Batch, Failure, decode_or_failure
from trendgan.embed.encoders import resolve_encoder_key
from trendgan.embed.vectors import (
    embedded_ids,
    new_part_prefix,
    write_encoder_info,
    write_part,
)
from trendgan.errors import DiskFullError, NoImagesError, TrendganError
from trendgan.ingest.catalog import images_in_path_order, reject_images
from trendgan.store import Store, utcnow

DEFAULT_PART_SIZE = 2048      # vectors per Parquet part
# ...or a part this often, so a kill or a full disk never costs more than this much work: on a 2-core CPU (about
# 30 images/s with effnet-lite0) a part of ~300 vectors, a few hundred parts for 60,000 images (which pyarrow
# reads as one dataset in well under a second); on a GPU the part size is reached first.
FLUSH_EVERY_S = 10.0


@dataclasses.dataclass
class EmbedResult:
    encoder_key: str
    dim: int
    folder: Path
    embedded: int             # vectors written by this run
    already_embedded: int     # images skipped because they had a vector for this encoder
    rejected: int             # images moved to rejects (could not be decoded)
    missing: int              # images whose file is gone; kept in the catalog and retried next time
    total_vectors: int        # vectors in the folder after this run
    seconds: float            # embedding time, from the first batch to the last part written
    load_seconds: float       # building the model in this process; not counted in images_per_second
    engine: str
    device: str
    reason: str               # why this encoder was used ("asked for", or what auto found)

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def default_workers(device=None) -> int:
    """Up to 4 decode workers beside a CPU model (more would only take cores from it); on a GPU decoding is the
    bottleneck, so up to 16."""
    cap = 16 if getattr(device, "type", None) == "cuda" else 4
    return max(1, min(cap, os.cpu_count() or 1))


def default_batch_size(device) -> int:
    # Large batches keep a GPU busy; on a CPU 32 already reaches full matmul efficiency and keeps parts flowing.
    return 256 if getattr(device, "type", str(device)) == "cuda" else 32


def embed(
    store: Store | str | os.PathLike,
    encoder: str = "auto",
    device: str = "auto",
    batch_size: int | None = None,
    workers: int | None = None,
    engine: str = "local",
    part_size: int = DEFAULT_PART_SIZE,
    limit: int | None = None,
) -> EmbedResult:
    """Embed the catalog's images that have no vector for ``encoder`` yet; see the module docstring.

    ``limit`` embeds at most that many images this run (the rest on the next run).
    """
    from trendgan.devices import pick_device

    store = store if isinstance(store, Store) else Store(store)
    store.require()
    if engine not in ("local", "ray"):
        raise TrendganError(f"unknown engine {engine!r}; use local or ray")
    if batch_size is not None and batch_size < 1 or workers is not None and workers < 0 or part_size < 1:
        raise TrendganError("--batch-size and the part size must be at least 1, --workers at least 0")
    key, reason = resolve_encoder_key(encoder)
    say(f"encoder [bold]{escape(key)}[/] ({escape(reason)})")
    torch_device = pick_device(device)
    batch_size = batch_size or default_batch_size(torch_device)
    workers = default_workers(torch_device) if workers is None else workers

    with store.writer("embed"):
        from trendgan.preflight import preflight

        preflight(store, vectors=True)
        folder = store.embeddings_dir(key)
        done = embedded_ids(folder)
        todo, catalogued = _images_to_embed(store, done)
        if catalogued == 0:
            raise NoImagesError(f"the catalog in {store.root} has no images; run `trendgan ingest PATH` first")
        if limit is not None:
            todo = todo[:limit]
        result = EmbedResult(key, 0, folder, 0, len(done), 0, 0, len(done), 0.0, 0.0, engine, str(torch_device), reason)
        if not todo:
            result.dim = _known_dim(folder)
            say(f"all {catalogued:,} images already have {escape(key)} vectors; nothing to do")
            return result
        return _run(store, key, torch_device, todo, batch_size, workers, engine, part_size, result)


def _run(store, key, device, todo, batch_size, workers, engine, part_size, result: EmbedResult) -> EmbedResult:
    from trendgan.embed.encoders import get_encoder

    loading = time.perf_counter()
    # The driver builds the encoder even for Ray: missing weights fail here, before a cluster is started.
    encoder = get_encoder(key, device if engine == "local" else "cpu")
    result.dim = encoder.dim
    started = time.perf_counter()
    result.load_seconds = started - loading
    run_id, run_started = f"embed-{utcnow():%Y%m%d-%H%M%S-%f}", utcnow()
    store.record_run(run_id, "embed", run_started, "running", result.folder, {"encoder": key, "todo": len(todo)})
    write_encoder_info(result.folder, encoder.describe(), started_at=run_started)
    how = f"{workers} decode workers" if engine == "local" else "Ray Data"
    say(f"embedding {len(todo):,} images on {device} (batch {batch_size}, {how}; {result.already_embedded:,} already done)")
    sink = PartWriter(store, result.folder, part_size)
    status = "failed"
    try:
        if engine == "ray":
            from trendgan.embed.ray_engine import ray_batches

            recipe, encoder = encoder.recipe, None  # each Ray actor builds its own copy
            batches = ray_batches(key, str(device), recipe, todo, batch_size)
        else:
            batches = local_batches(encoder, todo, batch_size, workers)
        with progress(len(todo), "embedding") as bar:
            for batch in batches:
                sink.add(batch)
                bar.advance(len(batch.image_ids) + len(batch.failures))
        sink.flush()
        status = "done"
    except DiskFullError as exc:
        parts = f"{sink.parts:,} finished part{'' if sink.parts == 1 else 's'}"
        raise DiskFullError(f"{exc}: {sink.written:,} vectors in {parts} are kept, the {sink.pending:,} computed "
                            "since the last part are not; `trendgan embed` finishes the rest") from None
    except BaseException:
        # On Ctrl-C or an error, vectors already computed are still written: the rerun does not redo them.
        with contextlib.suppress(Exception):  # ...unless writing them fails too: the first error is the one to see
            sink.flush()
        raise
    finally:
        result.embedded, result.rejected, result.missing = sink.written, sink.rejected, sink.missing
        result.total_vectors = result.already_embedded + sink.written
        result.seconds = time.perf_counter() - started
        summary = {"encoder": key, "embedded": result.embedded, "rejected": result.rejected, "missing": result.missing,
                   "seconds": round(result.seconds, 3),
                   "load_seconds": round(result.load_seconds, 3), "engine": engine, "device": result.device}
        with contextlib.suppress(Exception):  # bookkeeping must never hide the real error (a full disk)
            store.record_run(run_id, "embed", run_started, status, result.folder, summary)
        if status == "done":
            write_encoder_info(result.folder, {}, finished_at=utcnow(), vectors=result.total_vectors)
    if result.missing:
        say(f"[yellow]{result.missing} image files are missing[/]; they stay in the catalog: restore them and rerun")
    return result


def _images_to_embed(store: Store, done: set[str]) -> tuple[list[tuple[str, str]], int]:
    """(image_id, path) pairs without a vector, in path order (neighbouring files decode faster), and the catalog size."""
    rows = images_in_path_order(store)
    return [(image_id, path) for image_id, path in rows if image_id not in done], len(rows)


def _known_dim(folder: Path) -> int:
    from trendgan.embed.vectors import read_encoder_info

    return int(read_encoder_info(folder).get("dim", 0))


# --------------------------------------------------------------------------- the local engine


class _DecodeImages:
    """A torch Dataset of catalog images: each item is decoded and cropped to uint8 pixels in a worker."""

    def __init__(self, items: list[tuple[str, str]], recipe):
        self.items, self.recipe = items, recipe

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        image_id, path = self.items[index]
        return image_id, path, *decode_or_failure(self.recipe, path)


def _collate(samples):
    import torch

    good = [s for s in samples if s[3] is None]
    failures = [Failure(s[0], s[1], *s[3]) for s in samples if s[3] is not None]
    pixels = torch.from_numpy(np.stack([s[2] for s in good])) if good else None
    return [s[0] for s in good], pixels, failures


def _quiet_worker(_):
    import torch

    # Decoding is single-threaded work; one thread per worker stops workers fighting the model for cores.
    torch.set_num_threads(1)


def local_batches(encoder, items, batch_size: int, workers: int) -> Iterator[Batch]:
    """Embed ``items`` with a DataLoader: workers decode the next batches while the model runs this one."""
    from torch.utils.data import DataLoader

    loader = DataLoader(
        _DecodeImages(items, encoder.recipe), batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=_collate, pin_memory=encoder.device.type == "cuda",
        worker_init_fn=_quiet_worker if workers else None, prefetch_factor=4 if workers else None,
    )
    for image_ids, pixels, failures in loader:
        vectors = encoder.embed_pixels(pixels) if pixels is not None else np.zeros((0, encoder.dim), np.float32)
        yield Batch(image_ids, vectors, failures)


# --------------------------------------------------------------------------- writing as we go


class PartWriter:
    """Collects vectors and writes a Parquet part every ``part_size`` vectors or FLUSH_EVERY_S seconds; moves
    undecodable images to rejects at the same moments."""

    def __init__(self, store: Store, folder: Path, part_size: int):
        self.store, self.folder, self.part_size = store, folder, part_size
        self.prefix = new_part_prefix()
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.failures: list[Failure] = []
        self.written = self.rejected = self.missing = self.parts = 0
        self.last_flush = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, batch: Batch) -> None:
        self.ids.extend(batch.image_ids)
        if len(batch.image_ids):
            self.vectors.append(batch.vectors)
        self.failures.extend(batch.failures)
        if len(self.ids) >= self.part_size or time.monotonic() - self.last_flush > FLUSH_EVERY_S:
            self.flush()

    @property
    def pending(self) -> int:
        """Vectors computed but not yet in a finished part."""
        return len(self.ids)

    def flush(self) -> None:
        while self.ids:
            take = min(self.part_size, len(self.ids))
            vectors = np.concatenate(self.vectors)
            write_part(self.folder, f"{self.prefix}-{self.parts:05d}.parquet", self.ids[:take], vectors[:take])
            self.parts += 1
            self.written += take
            self.ids, self.vectors = self.ids[take:], [vectors[take:]] if take < len(vectors) else []
        if self.failures:
            self._record_failures(self.failures)
            self.failures = []
        self.last_flush = time.monotonic()

    def _record_failures(self, failures: list[Failure]) -> None:
        missing = [f for f in failures if f.reason == "missing"]
        broken = [f for f in failures if f.reason != "missing"]
        self.missing += len(missing)
        if broken:
            reject_images(self.store, broken, stage="embed")
            self.rejected += len(broken)
            for failure in broken[:5]:
                say(f"[yellow]rejected[/] {escape(failure.path)}: {escape(failure.reason)} ({escape(failure.detail)})")
