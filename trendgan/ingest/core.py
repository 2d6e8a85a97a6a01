"""``ingest``: folders of scraped fashion images -> the store's catalog, with dates, sources, captions and likes.

One pass: scan (stat only) -> skip files whose path, size and mtime are already catalogued -> read, hash and decode
the rest in a worker pool, in batches -> resolve each image's date and source -> flag exact and near duplicates ->
write the batch to DuckDB in one transaction. A batch is committed whole or not at all, so an interrupted ingest is
resumed by running it again: committed files are skipped, nothing is catalogued twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from trendgan.errors import DiskFullError, IngestError
from trendgan.ingest.dates import date_from_path, implausible_reason
from trendgan.ingest.duplicates import (
    DEFAULT_COLOUR_TOLERANCE,
    DEFAULT_NEAR_DUPLICATE_DISTANCE,
    earliest_near_duplicates,
    hashes_to_int,
    layouts_to_array,
)
from trendgan.ingest.examine import LocalExaminer
from trendgan.ingest.images import (
    DEFAULT_MAX_PIXELS,
    ImageFacts,
    describe_file_type,
    has_image_extension,
)
from trendgan.ingest.metadata import Manifest, PostInfo, read_manifest
from trendgan.ingest.scan import FoundFile, absolute, describe_missing, scan
from trendgan.store import Store, running_process, utcnow

BATCH_SIZE = 1000  # files committed per transaction: the most an interruption can cost
EXAMPLES_KEPT = 10


@dataclass
class IngestResult:
    """What one ingest did; counts are files unless they say images."""

    run_id: str
    store: Path
    scanned: int = 0  # files looked at (images and non-images)
    unchanged: int = 0  # skipped by path, size and mtime
    new: int = 0  # images added to the catalog
    changed: int = 0  # catalogued paths whose bytes changed since the last ingest
    exact_duplicates: int = 0  # files whose bytes are already catalogued under another path
    near_duplicates: int = 0  # new images flagged as a repost / resized copy of an earlier one
    undated: int = 0  # new images kept without a date
    unreadable_dates: int = 0  # new images whose manifest/sidecar date was in no known format (next source used)
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> files
    date_origins: dict[str, int] = field(default_factory=dict)  # manifest | sidecar | exif | path | mtime | none
    sources: dict[str, int] = field(default_factory=dict)  # new images per source
    leading_sources: list[str] = field(default_factory=list)
    reject_examples: list[tuple[str, str, str]] = field(default_factory=list)  # (path, reason, detail)
    manifest_conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # (path, date used, date dropped)
    long_captions: int = 0  # manifest captions cut to MAX_CAPTION_CHARS
    undated_examples: list[str] = field(default_factory=list)
    unreadable_date_examples: list[tuple[str, str]] = field(default_factory=list)  # (path, the date text)
    seconds: float = 0.0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def files_per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict:
        keys = ("scanned", "unchanged", "new", "changed", "exact_duplicates", "near_duplicates", "undated",
                "unreadable_dates")
        out = {k: getattr(self, k) for k in keys}
        out.update(rejected=dict(self.rejected), date_origins=dict(self.date_origins), sources=dict(self.sources),
                   leading_sources=list(self.leading_sources), manifest_conflicts=len(self.manifest_conflicts),
                   long_captions=self.long_captions, seconds=round(self.seconds, 3))
        return out


@dataclass
class _Settings:
    source: str | None
    leading_all: bool
    leading_names: set[str]
    date_from_mtime: bool
    near_duplicate_distance: int
    colour_tolerance: int
    max_pixels: int
    manifest: dict[str, PostInfo]
    now: dt.datetime
    allowed_roots: list[str] | None = None  # manifest files must lie under these (None: anywhere)


def ingest(
    paths: Iterable[str | os.PathLike] = (),
    store: Store | str | os.PathLike | None = None,
    source: str | None = None,
    manifest: str | os.PathLike | None = None,
    leading: bool = False,
    leading_sources: Iterable[str] = (),
    date_from_mtime: bool = False,
    near_duplicate_distance: int = DEFAULT_NEAR_DUPLICATE_DISTANCE,
    colour_tolerance: int = DEFAULT_COLOUR_TOLERANCE,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    batch_size: int = BATCH_SIZE,
    progress=None,
    allow_outside: bool = False,
    engine: str = "local",
) -> IngestResult:
    """Catalog the images under ``paths`` (folders or files) in ``store``.

    Dates come from, in order: the manifest, a scraper's sidecar file, EXIF DateTimeOriginal, a date in the path,
    and the file's modification time only with ``date_from_mtime``; where each date came from is recorded.
    ``source`` names the source of every image (default: the first folder below each PATH; a manifest's ``source``
    column wins). ``leading`` marks every source in this ingest as leading; ``leading_sources`` marks the named ones.
    An image is flagged as a near duplicate of the earliest image whose perceptual hash is within
    ``near_duplicate_distance`` bits (-1: no search) and whose 8x8 colour thumbnail differs by at most
    ``colour_tolerance`` in every cell. ``progress(done, total)`` is called after each batch (the CLI draws its bar from it).

    A manifest may only name files under the folders given (or, with none given, under the manifest's own folder);
    ``allow_outside`` lifts that. Only regular files are read: a FIFO, device or socket is rejected with a reason.
    Batches of ``batch_size`` files are committed one at a time, so a kill or a full disk costs at most one batch.
    ``engine="ray"`` reads, hashes and decodes the files in Ray tasks (``trendgan.ingest.ray_engine``; the files
    must be where every node can read them); this process still writes the catalog, so the result is the same.
    """
    from trendgan.engines import check_engine

    engine = check_engine(engine)
    paths = [Path(p) for p in paths]
    if not paths and manifest is None:
        raise IngestError("nothing to ingest: give one or more folders of images (or --manifest FILE)")
    missing = describe_missing(paths)
    if missing:
        raise IngestError(f"{missing[0]} does not exist; check the path (nothing was ingested)")
    if near_duplicate_distance > 64:
        raise IngestError("--near-duplicate-distance is a number of bits out of 64; use 0-16 (default 6), or -1 to turn it off")
    if not 0 <= colour_tolerance <= 255:
        raise IngestError("--colour-tolerance is a difference of 0-255 in one colour channel (default 32)")
    if workers is not None and workers < 1:
        raise IngestError("--workers must be 1 or more")
    store = store if isinstance(store, Store) else Store(store)
    roots = [absolute(p) for p in paths] or ([absolute(Path(manifest).expanduser().resolve().parent)] if manifest else [])
    settings = _Settings(
        source=source.strip() if source and source.strip() else None,
        leading_all=leading,
        leading_names={s.strip() for s in leading_sources if s and s.strip()},
        date_from_mtime=date_from_mtime,
        near_duplicate_distance=near_duplicate_distance,
        colour_tolerance=colour_tolerance,
        max_pixels=max_pixels,
        manifest=read_manifest(manifest) if manifest is not None else Manifest(),
        now=utcnow(),
        allowed_roots=None if allow_outside else roots,
    )
    started = time.perf_counter()
    with store.writer("ingest"):
        from trendgan.preflight import preflight

        preflight(store)
        # two ingests can start in the same second (a quick re-run): the suffix keeps their runs rows apart
        result = IngestResult(run_id=f"ingest-{settings.now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}", store=store.root)
        result.manifest_conflicts = list(getattr(settings.manifest, "conflicts", []))
        result.long_captions = getattr(settings.manifest, "long_captions", 0)
        try:
            _ingest_locked(store, paths, settings, result, workers, batch_size, progress, started, engine)
        except BaseException as exc:
            result.seconds = time.perf_counter() - started
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            with contextlib.suppress(Exception):  # never hide the real error behind a bookkeeping one
                store.record_run(result.run_id, "ingest", settings.now, status, None, result.summary())
            if isinstance(exc, DiskFullError):
                raise DiskFullError(f"{exc}; {result.new:,} new images from the batches before are committed, the "
                                    "batch in flight is not") from None
            raise
    _warn_about_manifest(result)
    return result


def _warn_about_manifest(result: IngestResult) -> None:
    """Choices ingest made for the user about the manifest, said once (the counts are in the summary too)."""
    from trendgan.console import escape, say
    from trendgan.ingest.metadata import MAX_CAPTION_CHARS

    if result.manifest_conflicts:
        path, kept, dropped = result.manifest_conflicts[0]
        n = len(result.manifest_conflicts)
        say(f"[yellow]{n:,} manifest {'path is' if n == 1 else 'paths are'} listed more than once with different "
            f"dates[/]; the last row's date was used (e.g. {escape(path)}: {escape(kept)}, not {escape(dropped)})")
    if result.long_captions:
        n = result.long_captions
        say(f"[yellow]{n:,} manifest {'caption was' if n == 1 else 'captions were'} longer than {MAX_CAPTION_CHARS:,} "
            "characters[/] and cut to that length")


def _ingest_locked(store: Store, paths, settings: _Settings, result: IngestResult, workers, batch_size, progress,
                   started: float, engine: str = "local") -> None:
    found = scan(paths, store_root=store.root)
    _add_manifest_only_files(found, settings)
    result.scanned = len(found.files) + len(found.unreadable)
    # one catalog connection to start and one to finish: opening DuckDB is most of an unchanged re-ingest's time
    with store.catalog() as db:
        _record_run(db, result, settings, "running", {"paths": [str(p) for p in paths], "process": running_process()})
        known = {path: (size, mtime) for path, size, mtime in db.execute("SELECT path, size, mtime_ns FROM files").fetchall()}
    todo = [f for f in found.files if known.get(f.path) != (f.size, f.mtime_ns)]
    result.unchanged = len(found.files) - len(todo)
    result.changed = sum(1 for f in todo if f.path in known)
    total = len(todo) + len(found.unreadable)
    if found.unreadable:
        _write_batch(store, [], [], found.unreadable, [], result)
    if progress:
        progress(len(found.unreadable), total)
    if todo:
        catalog = _Catalog.load(store)
        batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
        done = len(found.unreadable)
        with _examiner(engine, workers, len(todo), settings.max_pixels) as examiner:
            for batch, examined in examiner.examine_batches(batches):
                _ingest_batch(store, batch, examined, catalog, settings, known, result)
                done += len(batch)
                if progress:
                    progress(done, total)
    with store.catalog() as db:
        _mark_leading(db, found.files, settings, result)
        result.seconds = time.perf_counter() - started
        _record_run(db, result, settings, "done", result.summary())


def _record_run(db, result: IngestResult, settings: _Settings, status: str, summary: dict) -> None:
    """The runs row (same columns as Store.record_run), written on a connection that is open anyway."""
    db.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, 'ingest', ?, ?, ?, NULL, ?)",
        [result.run_id, settings.now, utcnow(), status, json.dumps(summary, default=str)],
    )


def _add_manifest_only_files(found, settings: _Settings) -> None:
    """Files a manifest lists that the folder scan did not find are ingested too, if they lie under the folders
    given; listed files that are gone, elsewhere or not regular files are reported, as are rows naming no file."""
    scanned = {f.path for f in found.files}
    found.unreadable.extend(getattr(settings.manifest, "problems", []))
    for path in settings.manifest:
        if path in scanned:
            continue
        if not _lies_under(path, settings.allowed_roots):
            found.unreadable.append((path, "outside", "listed in the manifest but outside the folders given to ingest; "
                                     "pass --allow-outside to read it"))
            continue
        try:
            info = os.stat(path)
        except OSError:
            found.unreadable.append((path, "missing", "listed in the manifest but not found on disk"))
            continue
        if not stat.S_ISREG(info.st_mode):
            found.unreadable.append((path, "not_a_regular_file", f"this is {describe_file_type(info.st_mode)}, not a "
                                     "regular file; only regular files are read"))
            continue
        folder = os.path.dirname(path)
        found.files.append(FoundFile(path=path, size=info.st_size, mtime_ns=info.st_mtime_ns, root=folder,
                                     source=os.path.basename(folder) or "unknown",
                                     looks_like_image=has_image_extension(path)))


def _lies_under(path: str, roots: list[str] | None) -> bool:
    """Is ``path`` (where it really is, symlinks followed) inside one of ``roots``? ``roots`` None: anywhere goes."""
    if roots is None:
        return True
    real = os.path.realpath(path)
    for root in roots:
        for base in {root, os.path.realpath(root)}:
            if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
                return True
    return False


# ---------------------------------------------------------------------------------------------- reading files


def _examiner(engine: str, workers: int | None, jobs: int, max_pixels: int):
    """Where files are read: this machine's process pool, or Ray tasks (the same answers either way)."""
    if engine == "ray":
        from trendgan.ingest.ray_engine import RayExaminer

        return RayExaminer(max_pixels)
    return LocalExaminer(workers, jobs, max_pixels)


# ---------------------------------------------------------------------------------------------- deciding


class _Catalog:
    """What the catalog already holds that a batch is compared with: ids, hashes and colour layouts, in order."""

    def __init__(self, ids: list[str], hashes: list[str], layouts: list[bytes | None], paths: dict[str, str], leading: set[str]):
        self.ids = ids
        self.hashes = hashes_to_int(hashes)
        self.layouts = layouts_to_array(layouts)
        self.paths = paths  # image_id -> the path kept for it
        self.leading = leading

    @classmethod
    def load(cls, store: Store) -> "_Catalog":
        with store.catalog() as db:
            rows = db.execute(
                "SELECT i.image_id, i.phash, i.path, f.colour_layout FROM images i "
                "LEFT JOIN fingerprints f USING (image_id) ORDER BY i.ingested_at, i.path"
            ).fetchall()
            leading = {s for (s,) in db.execute("SELECT DISTINCT source FROM images WHERE leading_source").fetchall()}
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[3] for r in rows], {r[0]: r[2] for r in rows}, leading)

    def add(self, ids: list[str], hashes, layouts, paths: list[str]) -> None:
        import numpy as np

        self.ids.extend(ids)
        self.paths.update(zip(ids, paths))
        self.hashes = np.concatenate([self.hashes, hashes])
        self.layouts = np.concatenate([self.layouts, layouts])


def _ingest_batch(store: Store, batch: list[FoundFile], examined: list, catalog: _Catalog, settings: _Settings,
                  known: dict, result: IngestResult) -> None:
    images, files, rejects = [], [], []
    batch_ids: dict[str, str] = {}
    for found, answer in zip(batch, examined):
        if answer is None:
            ext = os.path.splitext(found.path)[1] or "(none)"
            detail = f"extension {ext} is not an image type trendgan reads (jpg, png, webp, avif, gif, bmp, tiff)"
            _reject(found, "wrong_extension", detail, files, rejects)
            continue
        facts, sidecar = answer
        if isinstance(facts, tuple):
            _reject(found, facts[0], facts[1], files, rejects)
            continue
        earlier_path = batch_ids.get(facts.image_id) or catalog.paths.get(facts.image_id)
        if earlier_path is not None and earlier_path != found.path:
            files.append(_file_row(found, facts.image_id, "exact_duplicate"))
            result.exact_duplicates += 1
            continue
        if earlier_path == found.path:  # touched but unchanged bytes: only the file record moves on
            files.append(_file_row(found, facts.image_id, "image"))
            continue
        row = _image_row(found, facts, sidecar, settings, catalog)
        if isinstance(row, str):
            _reject(found, "absurd_date", row, files, rejects)
            continue
        batch_ids[facts.image_id] = found.path
        images.append(row)
        files.append(_file_row(found, facts.image_id, "image"))
    _flag_near_duplicates(images, catalog, settings, result)
    changed = [found.path for found in batch if found.path in known]
    _write_batch(store, images, files, rejects, changed, result)
    _count_new(images, result)


def _reject(found: FoundFile, reason: str, detail: str, files: list, rejects: list) -> None:
    files.append(_file_row(found, None, "rejected"))
    rejects.append((found.path, reason, detail))


def _file_row(found: FoundFile, image_id: str | None, status: str) -> dict:
    return {"path": found.path, "size": found.size, "mtime_ns": found.mtime_ns, "image_id": image_id, "status": status}


def _image_row(found: FoundFile, facts: ImageFacts, sidecar: PostInfo | None, settings: _Settings, catalog: _Catalog):
    """The catalog row for a new image, or a string saying why its date is absurd."""
    listed = settings.manifest.get(found.path)
    info = listed.merged_over(sidecar) if listed else (sidecar or PostInfo())
    posted_at, origin, raw = info.posted_at, info.origin if info.posted_at else "none", info.raw_date
    if posted_at is None and facts.exif_taken_at is not None:
        posted_at, origin, raw = facts.exif_taken_at, "exif", None
    if posted_at is None:
        posted_at, raw = date_from_path(found.path, root=found.root), None
        origin = "path" if posted_at else "none"
    if posted_at is None and settings.date_from_mtime:
        posted_at = dt.datetime.fromtimestamp(found.mtime_ns / 1e9, dt.timezone.utc).replace(tzinfo=None)
        origin = "mtime"
    if posted_at is not None:
        why = implausible_reason(posted_at, settings.now)
        if why:
            return f"{origin} date {raw or posted_at.isoformat(sep=' ')}: {why}"
    source = info.source or settings.source or found.source
    return {
        "image_id": facts.image_id,
        "path": found.path,
        "source": source,
        "leading_source": settings.leading_all or source in settings.leading_names or source in catalog.leading,
        "posted_at": posted_at,
        "date_origin": origin,
        "width": facts.width,
        "height": facts.height,
        "phash": facts.phash,
        "colour_layout": facts.colour_layout,  # goes to the fingerprints table
        "duplicate_of": None,
        "caption": info.caption,
        "hashtags": info.hashtags or None,
        "engagement": info.likes,
        "ingested_at": settings.now,
        "unreadable_date": info.unreadable_date if origin != "manifest" else None,  # counted, not stored
    }


def _flag_near_duplicates(images: list[dict], catalog: _Catalog, settings: _Settings, result: IngestResult) -> None:
    new_hashes = hashes_to_int([row["phash"] for row in images])
    new_layouts = layouts_to_array([row["colour_layout"] for row in images])
    matches = earliest_near_duplicates(catalog.hashes, new_hashes, settings.near_duplicate_distance,
                                       catalog.layouts, new_layouts, settings.colour_tolerance)
    batch_ids = [row["image_id"] for row in images]
    for row, match in zip(images, matches):
        if match >= 0:
            row["duplicate_of"] = catalog.ids[match] if match < len(catalog.ids) else batch_ids[match - len(catalog.ids)]
            result.near_duplicates += 1
    catalog.add(batch_ids, new_hashes, new_layouts, [row["path"] for row in images])


def _count_new(images: list[dict], result: IngestResult) -> None:
    result.new += len(images)
    for row in images:
        origin = row["date_origin"]
        result.date_origins[origin] = result.date_origins.get(origin, 0) + 1
        result.sources[row["source"]] = result.sources.get(row["source"], 0) + 1
        if row["unreadable_date"]:
            result.unreadable_dates += 1
            if len(result.unreadable_date_examples) < EXAMPLES_KEPT:
                result.unreadable_date_examples.append((row["path"], row["unreadable_date"]))
        if row["posted_at"] is None:
            result.undated += 1
            if len(result.undated_examples) < EXAMPLES_KEPT:
                result.undated_examples.append(row["path"])


# ---------------------------------------------------------------------------------------------- writing


def _write_batch(store: Store, images: list[dict], files: list[dict], rejects: list[tuple[str, str, str]],
                 changed: list[str], result: IngestResult) -> None:
    """One transaction: the batch's images, file records and rejects land together or not at all."""
    import pyarrow as pa

    now = utcnow()
    reject_rows = [{"path": p, "stage": "ingest", "reason": r, "detail": d, "rejected_at": now} for p, r, d in rejects]
    with store.catalog() as db:
        db.execute("BEGIN TRANSACTION")
        try:
            touched = [{"path": row["path"]} for row in files] + [{"path": p} for p, _, _ in rejects]
            if touched:
                db.register("touched_paths", pa.Table.from_pylist(touched, schema=pa.schema([("path", pa.string())])))
                # a file processed again replaces its earlier verdict instead of piling up rejects
                db.execute("DELETE FROM rejects WHERE stage = 'ingest' AND path IN (SELECT path FROM touched_paths)")
            if images:
                db.register("new_images", pa.Table.from_pylist(images, schema=_IMAGES_SCHEMA()))
                db.execute("INSERT OR IGNORE INTO images BY NAME SELECT * FROM new_images")
                prints = [{"image_id": row["image_id"], "colour_layout": row["colour_layout"]} for row in images]
                db.register("new_fingerprints", pa.Table.from_pylist(
                    prints, schema=pa.schema([("image_id", pa.string()), ("colour_layout", pa.binary())])))
                db.execute("INSERT OR REPLACE INTO fingerprints BY NAME SELECT * FROM new_fingerprints")
            if files:
                db.register("new_files", pa.Table.from_pylist(files, schema=_FILES_SCHEMA()))
                db.execute("INSERT OR REPLACE INTO files BY NAME SELECT * FROM new_files")
            if reject_rows:
                db.register("new_rejects", pa.Table.from_pylist(reject_rows, schema=_REJECTS_SCHEMA()))
                db.execute("INSERT INTO rejects BY NAME SELECT * FROM new_rejects")
            for path in changed:
                _forget_replaced_bytes(db, path)
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a full disk) has already ended the transaction: ROLLBACK would then fail too and
            # hide the real cause, which the catalog turns into one clear line.
            with contextlib.suppress(Exception):
                db.execute("ROLLBACK")
            raise
    for _, reason, detail in rejects:
        result.rejected[reason] = result.rejected.get(reason, 0) + 1
    for path, reason, detail in rejects:
        if len(result.reject_examples) >= EXAMPLES_KEPT:
            break
        result.reject_examples.append((path, reason, detail))


def _forget_replaced_bytes(db, path: str) -> None:
    """A changed file no longer holds its old bytes: the old image moves to an exact copy elsewhere, or goes."""
    stale = db.execute(
        "SELECT image_id FROM images WHERE path = ? AND image_id NOT IN (SELECT image_id FROM files WHERE path = ? AND image_id IS NOT NULL)",
        [path, path],
    ).fetchall()
    for (image_id,) in stale:
        copy = db.execute(
            "SELECT min(path) FROM files WHERE image_id = ? AND status = 'exact_duplicate'", [image_id]
        ).fetchone()[0]
        if copy:
            db.execute("UPDATE images SET path = ? WHERE image_id = ?", [copy, image_id])
            db.execute("UPDATE files SET status = 'image' WHERE path = ?", [copy])
        else:
            db.execute("DELETE FROM images WHERE image_id = ?", [image_id])
            db.execute("DELETE FROM fingerprints WHERE image_id = ?", [image_id])


def _mark_leading(db, found: list[FoundFile], settings: _Settings, result: IngestResult) -> None:
    """Leading is a property of a source: mark every image of the named sources, old ones included."""
    import pyarrow as pa

    names = set(settings.leading_names)
    if settings.leading_all and found:
        db.register("ingested_paths", pa.table({"path": pa.array([f.path for f in found], pa.string())}))
        names |= {s for (s,) in db.execute(
            "SELECT DISTINCT source FROM images WHERE path IN (SELECT path FROM ingested_paths)").fetchall()}
    if names:
        db.execute("UPDATE images SET leading_source = TRUE WHERE list_contains(?, source)", [sorted(names)])
    result.leading_sources = [s for (s,) in db.execute(
        "SELECT DISTINCT source FROM images WHERE leading_source ORDER BY source").fetchall()]


def _IMAGES_SCHEMA():
    import pyarrow as pa

    return pa.schema([
        ("image_id", pa.string()), ("path", pa.string()), ("source", pa.string()), ("leading_source", pa.bool_()),
        ("posted_at", pa.timestamp("us")), ("date_origin", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
        ("phash", pa.string()), ("duplicate_of", pa.string()), ("caption", pa.string()),
        ("hashtags", pa.list_(pa.string())), ("engagement", pa.int64()), ("ingested_at", pa.timestamp("us")),
    ])


def _FILES_SCHEMA():
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
                      ("image_id", pa.string()), ("status", pa.string())])


def _REJECTS_SCHEMA():
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("stage", pa.string()), ("reason", pa.string()),
                      ("detail", pa.string()), ("rejected_at", pa.timestamp("us"))])
