"""What a store holds: images per period and per source, undated, rejected, duplicates, vectors, and which stages
have run. Each part comes from the stage that owns it: the catalog from ingest, the vectors from embed, the runs from
their folders.

Read-only: ``store_status`` opens the catalog read-only and never takes the writer lock, so it works beside a
running ``trendgan embed``; what ``trendgan check --quick`` finds damaged or left behind is in ``problems`` (DuckDB itself refuses while an ingest holds the catalog open for a batch; that is
reported as a clear StoreLockedError).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from trendgan import periods
from trendgan.store import RUN_FOLDERS, Store


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
    problems: list[str] = field(default_factory=list)  # damage and litter `trendgan check --quick` finds, in words

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
            "embeddings": self.embeddings, "problems": self.problems,
        }


def store_status(store: Store | str | os.PathLike | None = None, period: str = "month") -> StoreStatus:
    """Summarise a store; StoreError when there is no store there yet."""
    from trendgan.embed.vectors import vectors_per_encoder
    from trendgan.ingest.catalog import catalog_counts

    period = periods.period(period).word  # also DuckDB's date_trunc unit
    store = store if isinstance(store, Store) else Store(store)
    counts = catalog_counts(store, period)
    counts["images_per_period"] = [(p.date() if isinstance(p, dt.datetime) else p, n) for p, n in counts["images_per_period"]]
    if counts["last_ingest"]:
        counts["last_ingest"]["finished_at"] = _iso(counts["last_ingest"]["finished_at"])
    status = StoreStatus(store=store.root, period=period, **counts)
    status.stages = {folder: _stage_runs(store, folder) for folder in RUN_FOLDERS}
    status.embeddings = vectors_per_encoder(store)
    status.problems = _problems(store)
    return status


def _problems(store: Store) -> list[str]:
    """What the quick check finds damaged or left behind: status never reports fewer vectors without saying why."""
    from trendgan.check import check_store

    report = check_store(store, quick=True)
    found = [f"{finding.message}: `trendgan check --repair` will {finding.fix}" if finding.fix else finding.message
             for finding in report.damage + report.litter]
    return found


def _stage_runs(store: Store, folder: str) -> dict:
    if folder == "reports":  # a report is a page (plus its .json and .csv), not a run folder
        parent = store.stage_dir(folder)
        pages = sorted(parent.rglob("*.htm*"), key=lambda p: (p.stat().st_mtime_ns, p.name)) if parent.is_dir() else []
        return {"runs": len(pages), "latest": str(pages[-1].relative_to(parent)) if pages else None}
    runs = store.runs(folder)
    return {"runs": len(runs), "latest": runs[-1].name if runs else None}


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
