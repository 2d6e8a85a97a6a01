"""The vectors on disk: ``embeddings/<encoder slug>/part-*.parquet`` (image_id, vector) and ``encoder.json``.

Parts are written whole and atomically, so the set of image_ids in finished parts is exactly what has been
embedded: that is what a resumed run skips. DuckDB, pandas, Ray and Spark can read the folder directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trendgan.errors import StageNotRunError, StoreDamagedError
from trendgan.store import Store, atomic_path, utcnow, write_json_atomic

ENCODER_FILE = "encoder.json"


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def write_part(folder: Path, name: str, image_ids: list[str], vectors: np.ndarray) -> Path:
    """One Parquet part, atomically: a killed run leaves either the whole part or nothing (a full disk raises
    DiskFullError and leaves nothing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    offsets = pa.array(np.arange(0, vectors.size + 1, vectors.shape[1], dtype=np.int32))
    table = pa.table({"image_id": pa.array(image_ids, type=pa.string()),
                      "vector": pa.ListArray.from_arrays(offsets, flat, type=pa.list_(pa.float32()))})
    target = folder / name
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    return target


def embedded_ids(folder: Path) -> set[str]:
    """Image ids that already have a vector in ``folder``."""
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for part in part_files(folder):
        try:
            ids.update(pq.read_table(part, columns=["image_id"]).column("image_id").to_pylist())
        except Exception as exc:  # pyarrow: ArrowInvalid, OSError... for a truncated or overwritten part
            raise damaged_part(part, exc) from None
    return ids


def damaged_part(part: Path, exc: BaseException) -> StoreDamagedError:
    """The one-line error for a vector part that cannot be read."""
    return StoreDamagedError(
        f"the vector part {part.parent.name}/{part.name} is damaged ({parquet_trouble(exc)}); run "
        "`trendgan check --repair` to move it aside, then `trendgan embed` to recompute its vectors")


def parquet_trouble(exc: BaseException) -> str:
    """What pyarrow's error about a damaged Parquet file means, in a few words."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    lower = detail.lower()
    if "magic bytes" in lower or "size is 0" in lower or "file size" in lower or "too small" in lower:
        return "truncated, empty or not a Parquet file"
    return detail[:120]


def read_encoder_info(folder: Path) -> dict:
    try:
        return json.loads((folder / ENCODER_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_encoder_info(folder: Path, description: dict, **updates) -> dict:
    info = {**read_encoder_info(folder), **description, **updates}
    write_json_atomic(folder / ENCODER_FILE, info)
    return info


def latest_encoder_key(store: Store) -> str:
    """The encoder key of the most recent embed run on this store (finished runs first)."""
    root = store.root / "embeddings"
    infos = [read_encoder_info(folder) for folder in (root.iterdir() if root.is_dir() else []) if part_files(folder)]
    infos = [info for info in infos if info.get("key")]
    if not infos:
        raise StageNotRunError(f"the store {store.root} has no image vectors yet: run `trendgan embed` first")
    finished = [info for info in infos if info.get("finished_at")]
    pool = finished or infos
    return max(pool, key=lambda info: info.get("finished_at") or info.get("started_at") or "")["key"]


def load_vectors(store: Store, encoder: str | None = None) -> tuple[list[str], np.ndarray]:
    """(image_ids, vectors (N, dim) float32, unit rows) for ``encoder`` (default: the latest embed run's key)."""
    import pyarrow.dataset as ds

    key = encoder or latest_encoder_key(store)
    folder = store.embeddings_dir(key)
    parts = part_files(folder)
    if not parts:
        raise StageNotRunError(f"the store {store.root} has no {key!r} vectors; run `trendgan embed --encoder {key}` first")
    try:
        table = ds.dataset([str(p) for p in parts], format="parquet").to_table(columns=["image_id", "vector"])
    except Exception as exc:
        raise damaged_part(_first_damaged(parts) or parts[0], exc) from None
    image_ids = table.column("image_id").to_pylist()
    lengths = table.column("vector").combine_chunks().value_lengths().to_numpy(zero_copy_only=False)
    if len(lengths) and lengths.min() != lengths.max():
        raise damaged_part(_odd_width_part(parts), ValueError("its vectors are not as wide as the other parts'"))
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vectors = np.asarray(flat, dtype=np.float32).reshape(table.num_rows, -1)
    return image_ids, vectors


def load_vectors_with_key(store: Store, encoder: str | None = None) -> tuple[str, list[str], np.ndarray]:
    """(encoder key, image_ids, vectors) for the stages that must record which encoder their vectors came from."""
    key = encoder or latest_encoder_key(store)
    image_ids, vectors = load_vectors(store, key)
    return key, image_ids, vectors


def _odd_width_part(parts: list[Path]) -> Path:
    """The part whose vector width differs from most parts'."""
    import collections

    import pyarrow.parquet as pq

    widths = {}
    for part in parts:
        lengths = pq.read_table(part, columns=["vector"]).column("vector").combine_chunks().value_lengths()
        widths[part] = lengths[0].as_py() if len(lengths) else None
    usual = collections.Counter(w for w in widths.values() if w is not None).most_common(1)[0][0]
    return next((part for part, width in widths.items() if width not in (usual, None)), parts[0])


def _first_damaged(parts: list[Path]) -> Path | None:
    import pyarrow.parquet as pq

    for part in parts:
        try:
            pq.read_table(part, columns=["image_id", "vector"])
        except Exception:
            return part
    return None


def vectors_per_encoder(store: Store) -> dict[str, dict]:
    """{encoder folder: {vectors, parts, damaged_parts}}, counted from Parquet footers (no data is read); a part
    whose footer cannot be read is counted as damaged, not silently left out."""
    import pyarrow.parquet as pq

    root = store.root / "embeddings"
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        parts = part_files(folder)
        vectors = damaged = 0
        for part in parts:
            try:
                vectors += pq.ParquetFile(part).metadata.num_rows
            except Exception:  # reported by store_status's problems and `trendgan check`
                damaged += 1
        found[folder.name] = {"vectors": vectors, "parts": len(parts), "damaged_parts": damaged}
    return found


def parts_state(store: Store) -> list:
    """(part path, size) of every vector part: what the pipeline fingerprints to tell that vectors changed."""
    root = store.root / "embeddings"
    if not root.is_dir():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*.parquet"))


def new_part_prefix() -> str:
    """Part names sort by time and never collide between runs: ``part-20261122T101500123456-00003.parquet``."""
    return f"part-{utcnow():%Y%m%dT%H%M%S%f}"
