"""`trendgan check [--repair]`: is the store whole, and what to do when it is not.

What is checked, and what ``--repair`` does about each finding:

- the catalog (``catalog.duckdb``) opens and every table reads; damaged -> moved to ``damaged/`` (when only its
  write-ahead log is damaged, only the log is moved: the catalog loses the last unsaved batch, nothing more). The
  store's vectors and runs survive: an ingest of the same folders rebuilds the catalog with the same image ids.
- every vector part (``embeddings/<encoder>/part-*.parquet``) reads: its footer (quick) and every row (full), one
  width, finite values, no image twice; damaged -> moved to ``damaged/embeddings/<encoder>/``, so the next
  ``trendgan embed`` recomputes exactly its vectors. Vectors are counted against the catalog.
- every run folder is finished (``config.json`` written, no ``.incomplete``) or in progress by a live process; a
  half-written one (its process killed) is removed, unless it holds a GAN checkpoint (``train --resume`` continues
  it). A finished run whose config, tables, index or checkpoint cannot be read is moved to
  ``damaged/<stage folder>/``: the run before it becomes the latest again.
- ``runs`` rows still ``running`` whose process is gone are marked ``interrupted``.
- temporary files of killed writers (``.<name>.<random>.tmp``) are removed; a ``metrics.jsonl`` line cut short by a
  kill is dropped.

Nothing a user may want is deleted: damaged files are moved, never removed; only half-written outputs (which a
re-run recomputes) and temporary files go. ``preflight`` is the cheap part every writing stage runs under the
writer lock before it starts: it marks dead runs interrupted and refuses, in one line, to build on a damaged
catalog or damaged vectors.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trendgan.errors import StoreDamagedError, TrendganError
from trendgan.preflight import BadPart, read_vector_part, run_is_dead
from trendgan.store import (
    DAMAGED_FOLDER, TMP_SUFFIX, Store, is_finished_run, utcnow, write_text_atomic,
)

# Kinds of finding. "damage" is a file that cannot be read (stages refuse to build on it), "litter" is what a
# killed run left behind (harmless to readers, removed by --repair), "note" is information (nothing to repair).
DAMAGE, LITTER, NOTE = "damage", "litter", "note"


@dataclass
class Finding:
    severity: str            # damage | litter | note
    what: str                # catalog | wal | vectors | run | checkpoint | runs-row | tmp | metrics | ...
    path: Path | None
    message: str             # plain words: what is wrong
    fix: str = ""            # what --repair does about it ("" = nothing to do automatically)
    repaired: bool = False
    run_id: str | None = None  # for a runs row

    def line(self) -> str:
        return self.message + (f" -> {self.fix}" if self.fix else "")


@dataclass
class CheckReport:
    store: Path
    findings: list[Finding] = field(default_factory=list)
    counts: dict = field(default_factory=dict)   # what was looked at: images, vector parts, vectors, runs...

    @property
    def damage(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == DAMAGE and not f.repaired]

    @property
    def litter(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == LITTER and not f.repaired]

    @property
    def repaired(self) -> list[Finding]:
        return [f for f in self.findings if f.repaired]

    @property
    def ok(self) -> bool:
        """No damage left (litter and notes do not make a store unusable)."""
        return not self.damage

    def add(self, severity: str, what: str, path: Path | None, message: str, fix: str = "") -> Finding:
        finding = Finding(severity, what, path, message, fix)
        self.findings.append(finding)
        return finding

    def to_dict(self) -> dict:
        return {"store": str(self.store), "ok": self.ok, "counts": self.counts,
                "findings": [{"severity": f.severity, "what": f.what, "path": str(f.path) if f.path else None,
                              "message": f.message, "fix": f.fix, "repaired": f.repaired} for f in self.findings]}


# --------------------------------------------------------------------------- the checks


def check_store(store: Store | str | os.PathLike | None = None, quick: bool = False, lock_held: bool = False) -> CheckReport:
    """Look at everything in the store (``quick``: Parquet footers and zip directories only, no data pages)
    and report what is damaged or left behind; changes nothing. ``lock_held``: the caller holds the writer lock,
    so no writer is running and any ``running`` run that takes the lock is dead."""
    store = store if isinstance(store, Store) else Store(store)
    report = CheckReport(store.root)
    if not store.root.is_dir():
        raise TrendganError(f"no store at {store.root}: nothing to check (point --store at a trendgan store)")
    catalog_ids = _check_catalog(store, report, quick)
    _check_vectors(store, report, quick, catalog_ids)
    live = _check_runs_rows(store, report, lock_held) if catalog_ids is not None else set()
    _check_run_folders(store, report, quick, live)
    _check_tmp_files(store, report, live)
    return report


def _check_catalog(store: Store, report: CheckReport, quick: bool) -> set[str] | None:
    """The catalog's image ids, or None when there is no catalog or it cannot be read (a finding says why)."""
    import duckdb

    if not store.exists():
        report.add(NOTE, "catalog", store.catalog_path, "no catalog yet (nothing ingested)")
        return None
    try:
        with _read_catalog(store) as db:
            for table in ("images", "fingerprints", "files", "rejects", "runs"):
                # hash(t) reads every column of every row: a damaged block anywhere fails here
                sql = f"SELECT count(*) FROM {table}" if quick else f"SELECT count(*), sum(hash({table})) FROM {table}"
                report.counts[f"catalog_{table}"] = int(db.execute(sql).fetchone()[0])
            ids = {i for (i,) in db.execute("SELECT image_id FROM images").fetchall()}
        return ids
    except (duckdb.Error, StoreDamagedError) as exc:
        wal = store.catalog_path.with_name(store.catalog_path.name + ".wal")
        if wal.exists() and _opens_without_wal(store):
            report.add(DAMAGE, "wal", wal, f"the catalog's write-ahead log {wal.name} is damaged ({_first_line(exc)})",
                       f"move it to {DAMAGED_FOLDER}/; the catalog keeps all but the last unsaved batch")
        else:
            report.add(DAMAGE, "catalog", store.catalog_path, f"the catalog {store.catalog_path.name} cannot be read "
                       f"({_first_line(exc)})", f"move it to {DAMAGED_FOLDER}/; then ingest the same folders again")
        return None


@contextlib.contextmanager
def _read_catalog(store: Store):
    """The catalog opened read-only; a lock conflict (a writer has it open) is passed on, damage raised as such."""
    with store.catalog(read_only=True) as db:
        yield db


def _opens_without_wal(store: Store) -> bool:
    """Does the catalog open when its write-ahead log is left out? (tried on a copy, the store is not touched)"""
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "catalog.duckdb"
        shutil.copyfile(store.catalog_path, copy)
        try:
            with duckdb.connect(str(copy), read_only=True) as db:
                db.execute("SELECT count(*) FROM images").fetchone()
            return True
        except duckdb.Error:
            return False


def _check_vectors(store: Store, report: CheckReport, quick: bool, catalog_ids: set[str] | None) -> None:
    from trendgan.embed.vectors import ENCODER_FILE, part_files, read_encoder_info

    root = store.root / "embeddings"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    report.counts.update(vector_parts=0, vectors=0)
    for folder in folders:
        parts = part_files(folder)
        info_path = folder / ENCODER_FILE
        info = read_encoder_info(folder)
        if parts and (not info_path.exists() or not info.get("key")):
            key = _encoder_key_from_runs(store, folder)
            report.add(DAMAGE, "encoder-info", info_path, f"{folder.name}/{ENCODER_FILE} is missing or unreadable, "
                       "so its vectors cannot be matched to their encoder",
                       f"rewrite it from the embed runs' record ({key})" if key else "")
        fix = f"move it to {DAMAGED_FOLDER}/embeddings/{folder.name}/; `trendgan embed` then recomputes its vectors"
        readable: dict[Path, tuple[set[str], int | None]] = {}
        for part in parts:
            report.counts["vector_parts"] += 1
            try:
                readable[part] = read_vector_part(part, quick)
            except BadPart as bad:
                report.add(DAMAGE, "vectors", part, f"the vector part {folder.name}/{part.name} is damaged ({bad})", fix)
        widths = Counter(width for _, width in readable.values() if width is not None)
        usual = widths.most_common(1)[0][0] if widths else None
        ids: set[str] = set()
        duplicates = 0
        for part, (part_ids, width) in readable.items():
            if width is not None and width != usual:
                report.add(DAMAGE, "vectors", part, f"the vector part {folder.name}/{part.name} is damaged (its vectors "
                           f"are {width}-d, the other parts' {usual}-d)", fix)
                continue
            duplicates += len(ids & part_ids)
            ids |= part_ids
        report.counts["vectors"] += len(ids)
        if duplicates:
            report.add(NOTE, "vectors", folder, f"{folder.name}: {duplicates} images have a vector in more than one part "
                       "(the parts were copied by hand?)")
        if catalog_ids is not None and parts:
            missing, orphans = len(catalog_ids - ids), len(ids - catalog_ids)
            report.counts.setdefault("vectors_per_encoder", {})[folder.name] = {
                "vectors": len(ids), "catalog_images": len(catalog_ids), "without_vector": missing}
            if missing:
                report.add(NOTE, "vectors", folder, f"{folder.name}: {missing:,} of {len(catalog_ids):,} catalog images "
                           f"have no vector yet (`trendgan embed --encoder {info.get('key', '...')}` adds them)")
            if orphans:
                report.add(NOTE, "vectors", folder, f"{folder.name}: {orphans:,} vectors belong to images no longer in "
                           "the catalog (rejected or re-ingested); stages ignore them")


def _encoder_key_from_runs(store: Store, folder: Path) -> str | None:
    """The encoder key an embed run recorded for ``folder`` in the runs table (to restore a lost encoder.json)."""
    from trendgan.store import encoder_slug

    with contextlib.suppress(Exception):
        with store.catalog(read_only=True) as db:
            rows = db.execute("SELECT folder, summary FROM runs WHERE stage = 'embed' ORDER BY started_at DESC").fetchall()
        for recorded, summary in rows:
            key = (json.loads(summary or "{}") or {}).get("encoder")
            # by the folder's name, not its full path: a store may have been moved or copied since
            if key and Path(recorded or "").name == folder.name and encoder_slug(key) == folder.name:
                return key
    return None


def _check_runs_rows(store: Store, report: CheckReport, lock_held: bool) -> set[str]:
    """Mark what is stuck at ``running``; return the folders of runs still in progress (left alone)."""
    live: set[str] = set()
    with contextlib.suppress(StoreDamagedError):
        with store.catalog(read_only=True) as db:
            rows = db.execute("SELECT run_id, stage, folder, summary FROM runs WHERE status = 'running'").fetchall()
        for run_id, stage, folder, summary in rows:
            if run_is_dead(stage, summary, lock_held):
                report.add(LITTER, "runs-row", None, f"the {stage} run {run_id} is recorded as running, but its process "
                           "is gone (killed)", "mark it interrupted").run_id = run_id
            else:
                if folder:
                    live.add(str(folder))
                report.add(NOTE, "runs-row", None, f"the {stage} run {run_id} is running now")
    return live


def _check_run_folders(store: Store, report: CheckReport, quick: bool, live: set[str]) -> None:
    from trendgan.runs import RUN_KINDS, CONFIG, INCOMPLETE

    report.counts["runs"] = 0
    for kind in RUN_KINDS.values():
        parent = store.stage_dir(kind.folder_name)
        if not parent.is_dir():
            continue
        for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
            report.counts["runs"] += 1
            if str(folder) in live:
                continue
            if not is_finished_run(folder):
                if (folder / "checkpoint.pt").exists():
                    problem = _checkpoint_problem(folder / "checkpoint.pt", quick)
                    if problem:
                        report.add(DAMAGE, "run", folder, f"the unfinished GAN run {folder.name}'s checkpoint is damaged "
                                   f"({problem})", f"move the run to {DAMAGED_FOLDER}/{kind.folder_name}/")
                    else:
                        report.add(NOTE, "run", folder, f"the GAN run {folder.name} was stopped before it finished; "
                                   "`trendgan train --resume` continues it")
                    continue
                why = "has no config.json" if not (folder / CONFIG).exists() else f"is still marked {INCOMPLETE}"
                report.add(LITTER, "half-run", folder, f"the {kind.stage} run {folder.name} was never finished ({why})",
                           "remove it; a re-run recomputes it")
                continue
            problem = _finished_run_problem(kind, folder, quick)
            if problem:
                report.add(DAMAGE, "run", folder, f"the {kind.stage} run {folder.name} is damaged: {problem}",
                           f"move it to {DAMAGED_FOLDER}/{kind.folder_name}/; the run before it is used again")
                continue
            torn = _torn_metrics_lines(folder)
            if torn:
                report.add(LITTER, "metrics", folder / "metrics.jsonl", f"the {kind.stage} run {folder.name}'s "
                           f"metrics.jsonl has {torn} line(s) cut short by a kill", "drop those lines")


def _finished_run_problem(kind, folder: Path, quick: bool) -> str | None:
    """Why a finished run cannot be used, or None."""
    from trendgan.runs import CONFIG

    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return f"{CONFIG} cannot be read ({_first_line(exc)})"
    for table in sorted(folder.glob("*.parquet")):
        problem = _parquet_problem(table, quick)
        if problem:
            return f"its {table.stem} table cannot be read ({problem})"
    if (folder / "index.json").exists():
        try:
            json.loads((folder / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"index.json cannot be read ({_first_line(exc)})"
    if kind.stage == "train":
        checkpoint = folder / "checkpoint.pt"
        if not checkpoint.exists():
            return "it has no checkpoint.pt"
        problem = _checkpoint_problem(checkpoint, quick)
        if problem:
            return f"checkpoint.pt cannot be read ({problem})"
    return None


def _parquet_problem(path: Path, quick: bool) -> str | None:
    import pyarrow.parquet as pq

    from trendgan.embed.vectors import parquet_trouble

    try:
        if quick:
            pq.ParquetFile(path).metadata
        else:
            pq.read_table(path)
    except Exception as exc:
        return parquet_trouble(exc)
    return None


def _checkpoint_problem(path: Path, quick: bool) -> str | None:
    """A torch checkpoint is a zip: its directory (at the end) is cheap to read and lost by any truncation; the
    full check loads it as the stages do (weights only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if not quick and archive.testzip() is not None:
                return "a stored file fails its checksum"
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return _first_line(exc)
    if not quick:
        from trendgan.gan.sampling import read_checkpoint

        try:
            read_checkpoint(path)
        except TrendganError as exc:
            return getattr(exc, "reason", None) or _first_line(exc)
    return None


def _torn_metrics_lines(folder: Path) -> int:
    path = folder / "metrics.jsonl"
    if not path.exists():
        return 0
    torn = 0
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    torn += 1
    return torn


def _check_tmp_files(store: Store, report: CheckReport, live: set[str]) -> None:
    """Temporary files of atomic writes (``.<name>.<8 random>.tmp``) whose writer was killed, in the places the
    store writes (its top folder, embeddings, run folders): never in image folders a user keeps inside the store."""
    from trendgan.runs import RUN_KINDS
    from trendgan.store import RUN_FOLDERS

    live_paths = [Path(p) for p in live]
    places = [store.root / name for name in {"embeddings", *RUN_FOLDERS, *(k.folder_name for k in RUN_KINDS.values())}]
    candidates = [p for p in store.root.iterdir() if p.is_file()]
    for place in places:
        for folder, _, files in os.walk(place):
            candidates += [Path(folder) / name for name in files]
    for path in sorted(candidates):
        if not _ATOMIC_TMP.fullmatch(path.name) or any(p == path.parent or p in path.parents for p in live_paths):
            continue
        report.add(LITTER, "tmp", path, f"{path.relative_to(store.root)} is a temporary file left by a killed writer",
                   "remove it")


# a DuckDB file being created under such a name may also leave its write-ahead log (".wal") when killed
_ATOMIC_TMP = re.compile(r"\..+\.[A-Za-z0-9_]{8}" + re.escape(TMP_SUFFIX) + r"(\.wal)?")


# --------------------------------------------------------------------------- repair


def repair_store(store: Store | str | os.PathLike | None = None, quick: bool = False) -> CheckReport:
    """Check the store under the writer lock and fix what the check found (see the module docstring); returns the
    report with each fixed finding marked ``repaired``."""
    store = store if isinstance(store, Store) else Store(store)
    with store.writer("check --repair"):
        report = check_store(store, quick=quick, lock_held=True)
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        for finding in report.findings:
            if finding.severity == NOTE or not finding.fix:
                continue
            with contextlib.suppress(FileNotFoundError):
                _REPAIRS[finding.what](store, finding, stamp)
                finding.repaired = True
    return report


def _move_aside(store: Store, path: Path, stamp: str) -> Path:
    """Move ``path`` under ``<store>/damaged/`` keeping its place in the store; never overwrites."""
    relative = path.relative_to(store.root)
    target = store.root / DAMAGED_FOLDER / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = target.with_name(f"{target.name}.{stamp}")
    n = 2
    while target.exists():
        target = target.with_name(f"{target.name}-{n}")
        n += 1
    os.replace(path, target)
    return target


def _repair_catalog(store: Store, finding: Finding, stamp: str) -> None:
    for path in (store.catalog_path, store.catalog_path.with_name(store.catalog_path.name + ".wal")):
        if path.exists():
            _move_aside(store, path, stamp)


def _repair_wal(store: Store, finding: Finding, stamp: str) -> None:
    _move_aside(store, finding.path, stamp)


def _repair_moved(store: Store, finding: Finding, stamp: str) -> None:
    _move_aside(store, finding.path, stamp)


def _repair_removed(store: Store, finding: Finding, stamp: str) -> None:
    if finding.path.is_dir():
        shutil.rmtree(finding.path)
    else:
        finding.path.unlink()


def _repair_runs_row(store: Store, finding: Finding, stamp: str) -> None:
    with store.catalog() as db:
        db.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'",
                   [utcnow(), finding.run_id])


def _repair_metrics(store: Store, finding: Finding, stamp: str) -> None:
    kept = []
    for line in finding.path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            json.loads(line)
            kept.append(line)
    write_text_atomic(finding.path, "".join(f"{line}\n" for line in kept))


def _repair_encoder_info(store: Store, finding: Finding, stamp: str) -> None:
    from trendgan.embed.vectors import write_encoder_info

    key = _encoder_key_from_runs(store, finding.path.parent)
    if key:
        if finding.path.exists():
            _move_aside(store, finding.path, stamp)
        write_encoder_info(finding.path.parent, {"key": key}, restored_by="trendgan check --repair")


_REPAIRS = {
    "catalog": _repair_catalog, "wal": _repair_wal, "vectors": _repair_moved, "run": _repair_moved,
    "half-run": _repair_removed, "tmp": _repair_removed, "runs-row": _repair_runs_row, "metrics": _repair_metrics,
    "encoder-info": _repair_encoder_info,
}


# --------------------------------------------------------------------------- the cheap part, before every stage


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
