"""What a store holds: images per period and per source, undated, rejected, duplicates, and which stages have run.

Read-only: ``store_status`` opens the catalog read-only and never takes the writer lock, so it works beside a
running ``trendgan embed`` (DuckDB itself refuses while an ingest holds the catalog open for a batch; that is
reported as a clear StoreLockedError).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from trendgan.errors import TrendganError
from trendgan.store import STAGES, Store

PERIODS = ("day", "week", "month", "quarter", "year")


@dataclass
class StoreStatus:
    store: Path
    period: str
    images: int = 0
    undated: int = 0
    near_duplicates: int = 0  # images flagged as nearly repeating an earlier one
    exact_duplicates: int = 0  # files whose bytes were already catalogued under another path
    files_tracked: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason (or "stage: reason" after ingest) -> files
    first_date: dt.datetime | None = None
    last_date: dt.datetime | None = None
    images_per_period: list[tuple[dt.date, int]] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)  # {source, images, leading, first, last}
    date_origins: dict[str, int] = field(default_factory=dict)
    last_ingest: dict | None = None  # {run_id, finished_at, status, summary}
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> {runs, latest}
    embeddings: dict[str, dict] = field(default_factory=dict)  # encoder folder -> {vectors, parts}

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def to_dict(self) -> dict:
        return {
            "store": str(self.store), "period": self.period, "images": self.images, "undated": self.undated,
            "near_duplicates": self.near_duplicates, "exact_duplicates": self.exact_duplicates,
            "files_tracked": self.files_tracked, "rejected": self.rejected,
            "first_date": _iso(self.first_date), "last_date": _iso(self.last_date),
            "images_per_period": [{"period": _iso(p), "images": n} for p, n in self.images_per_period],
            "sources": [{**s, "first": _iso(s["first"]), "last": _iso(s["last"])} for s in self.sources],
            "date_origins": self.date_origins, "last_ingest": self.last_ingest, "stages": self.stages,
            "embeddings": self.embeddings,
        }


def store_status(store: Store | str | os.PathLike | None = None, period: str = "month") -> StoreStatus:
    """Summarise a store; StoreError when there is no store there yet."""
    if period not in PERIODS:
        raise TrendganError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    store = store if isinstance(store, Store) else Store(store)
    status = StoreStatus(store=store.root, period=period)
    with store.catalog(read_only=True) as db:
        _catalog_counts(db, status)
    status.stages = {stage: _stage_runs(store, stage) for stage in STAGES}
    status.embeddings = _embeddings(store)
    return status


def _catalog_counts(db, status: StoreStatus) -> None:
    one = lambda sql, *args: db.execute(sql, list(args)).fetchone()  # noqa: E731
    status.images, status.undated, status.near_duplicates, status.first_date, status.last_date = one(
        "SELECT count(*), count(*) FILTER (WHERE posted_at IS NULL), count(duplicate_of), min(posted_at), max(posted_at) FROM images"
    )
    status.files_tracked, status.exact_duplicates = one(
        "SELECT count(*), count(*) FILTER (WHERE status = 'exact_duplicate') FROM files"
    )
    # later stages (embed) reject files too; their reasons are prefixed with the stage
    status.rejected = {(reason if stage == "ingest" else f"{stage}: {reason}"): n for stage, reason, n in db.execute(
        "SELECT stage, reason, count(*) FROM rejects GROUP BY stage, reason ORDER BY count(*) DESC, stage, reason").fetchall()}
    status.images_per_period = [(p.date() if isinstance(p, dt.datetime) else p, n) for p, n in db.execute(
        f"SELECT date_trunc('{status.period}', posted_at) AS p, count(*) FROM images WHERE posted_at IS NOT NULL "
        "GROUP BY p ORDER BY p").fetchall()]
    status.sources = [
        {"source": s, "images": n, "leading": bool(lead), "first": first, "last": last}
        for s, n, lead, first, last in db.execute(
            "SELECT source, count(*), bool_or(leading_source), min(posted_at), max(posted_at) FROM images "
            "GROUP BY source ORDER BY count(*) DESC, source").fetchall()
    ]
    status.date_origins = dict(db.execute(
        "SELECT date_origin, count(*) FROM images GROUP BY date_origin ORDER BY count(*) DESC").fetchall())
    last = one("SELECT run_id, finished_at, status, summary FROM runs WHERE stage = 'ingest' ORDER BY started_at DESC LIMIT 1")
    if last:
        status.last_ingest = {"run_id": last[0], "finished_at": _iso(last[1]), "status": last[2],
                              "summary": json.loads(last[3]) if last[3] else {}}


def _stage_runs(store: Store, stage: str) -> dict:
    if stage == "reports":  # a report is a page (plus its .json and .csv), not a run folder
        pages = sorted(store.stage_dir(stage).rglob("*.htm*"), key=lambda p: (p.stat().st_mtime_ns, p.name)) \
            if store.stage_dir(stage).is_dir() else []
        return {"runs": len(pages), "latest": str(pages[-1].relative_to(store.stage_dir(stage))) if pages else None}
    runs = store.runs(stage)
    return {"runs": len(runs), "latest": runs[-1].name if runs else None}


def _embeddings(store: Store) -> dict[str, dict]:
    """Vectors per encoder folder, counted from Parquet footers (no data is read)."""
    root = store.root / "embeddings"
    if not root.is_dir():
        return {}
    import pyarrow.parquet as pq

    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        parts = sorted(folder.glob("part-*.parquet"))
        vectors = 0
        for part in parts:
            try:
                vectors += pq.ParquetFile(part).metadata.num_rows
            except Exception:  # a damaged part is the embed stage's to report; count what can be read
                continue
        found[folder.name] = {"vectors": vectors, "parts": len(parts)}
    return found


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
