"""What every writing stage checks under the writer lock before it starts (``preflight``), and the two small tests
``trendgan check`` shares with it: is a run recorded as running dead, and can a vector part be read whole.

Kept apart from ``trendgan.check`` (which walks every run kind) so that the run contract (``trendgan.runs``), ingest
and embed can call it without importing the checker that reads their runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from trendgan.errors import StoreDamagedError
from trendgan.store import Store, process_is_gone, utcnow


def preflight(store: Store, vectors: bool = False) -> None:
    """Run by each writing stage under the writer lock, before it starts: runs recorded as running whose process is
    gone are marked interrupted, and a damaged catalog (or, for stages built from vectors, a damaged vector part)
    stops the stage with one line naming ``trendgan check --repair``. Reads footers only: milliseconds."""
    if not store.exists():
        return
    with store.catalog() as db:  # a damaged catalog raises StoreDamagedError here
        rows = db.execute("SELECT run_id, stage, summary FROM runs WHERE status = 'running'").fetchall()
        dead = [run_id for run_id, stage, summary in rows if run_is_dead(stage, summary, lock_held=True)]
        for run_id in dead:
            db.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE run_id = ?", [utcnow(), run_id])
    if vectors:
        damaged = damaged_vector_parts(store)
        if damaged:
            part, why = damaged[0]
            more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
            raise StoreDamagedError(
                f"the vector part {part.parent.name}/{part.name} is damaged ({why}){more}; run "
                "`trendgan check --repair` to move it aside, then `trendgan embed` to recompute its vectors")


def damaged_vector_parts(store: Store) -> list[tuple[Path, str]]:
    """(part, why) for every vector part whose footer cannot be read (a truncated or overwritten file)."""
    from trendgan.embed.vectors import part_files

    root = store.root / "embeddings"
    damaged = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        for part in part_files(folder):
            try:
                read_vector_part(part, quick=True)
            except BadPart as bad:
                damaged.append((part, str(bad)))
    return damaged


def run_is_dead(stage: str, summary: str | None, lock_held: bool) -> bool:
    try:
        process = (json.loads(summary or "{}") or {}).get("process")
    except ValueError:
        process = None
    gone = process_is_gone(process)
    if gone is not None:
        return gone
    # No process recorded (an older row) or another host's: while we hold the writer lock, no run that takes it
    # can be alive. A pipeline takes no lock of its own, so an unrecorded one is left as it is.
    return lock_held and stage != "pipeline"


class BadPart(Exception):
    """A vector part that cannot be read whole; its message says why."""


def read_vector_part(part: Path, quick: bool) -> tuple[set[str], int | None]:
    """(image ids, vector width) of one part; BadPart saying why when it cannot be read whole."""
    import numpy as np
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(part).metadata
        if quick:
            return set(), None
        table = pq.read_table(part, columns=["image_id", "vector"])
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for every kind of damage
        from trendgan.embed.vectors import parquet_trouble

        raise BadPart(parquet_trouble(exc)) from None
    if table.num_rows != meta.num_rows:
        raise BadPart(f"{table.num_rows} rows read, the footer says {meta.num_rows}")
    lengths = table.column("vector").combine_chunks().value_lengths().to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths.min() != lengths.max() or lengths.min() == 0):
        raise BadPart("vectors of different widths")
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if not np.isfinite(flat).all():
        raise BadPart("vectors with NaN or infinite values")
    ids = table.column("image_id").to_pylist()
    if any(i is None for i in ids) or len(set(ids)) != len(ids):
        raise BadPart("missing or repeated image ids")
    return set(ids), int(lengths[0]) if len(lengths) else None
