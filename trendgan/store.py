"""The store folder: one place for everything a run produces.

Layout (DESIGN.md, "The store")::

    <store>/catalog.duckdb            images, fingerprints, files, rejects, runs
    <store>/embeddings/<encoder>/     part-*.parquet (image_id, vector)
    <store>/<stage>/<run>/            config.json, metrics.jsonl and the stage's outputs
    <store>/.lock                     held by the one process allowed to write

Writes are atomic (temporary file in the same folder, then ``os.replace``) so an interrupted run never leaves a
half-written file behind (a killed writer may leave its ``.<name>.*.tmp``, which ``trendgan check --repair``
removes). The writer lock is an ``flock`` on ``.lock``: the kernel releases it when the holding process dies, so a
killed run never leaves a stale lock; a process forked while the lock is held (a worker pool) closes its copy at
once, so a worker outliving its parent can never keep the store locked.

Failures a user can meet are one line: a full disk is ``DiskFullError`` (whatever layer noticed: Python, DuckDB,
torch), a catalog DuckDB cannot read is ``StoreDamagedError``, a catalog open in another process
``StoreLockedError``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterator

from trendgan.errors import DiskFullError, StageNotRunError, StoreDamagedError, StoreError, StoreLockedError

DEFAULT_STORE = "trendgan-store"
# Folders of stage outputs inside a store (trendgan.runs gives each stage's runs a type); ingest never scans them.
RUN_FOLDERS = ("styles", "forecasts", "gan", "renders", "designs", "reports")
# Where `trendgan check --repair` moves damaged files (never deleted: a user may want them back).
DAMAGED_FOLDER = "damaged"

CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    image_id     VARCHAR PRIMARY KEY,   -- sha256 of the file's bytes
    path         VARCHAR NOT NULL,      -- first path seen with these bytes
    source       VARCHAR NOT NULL,
    leading_source BOOLEAN NOT NULL DEFAULT FALSE,  -- source marked as leading (influencers, runway, magazines)
    posted_at    TIMESTAMP,             -- UTC; NULL when no date could be found
    date_origin  VARCHAR NOT NULL,      -- manifest | sidecar | exif | path | mtime | none
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    phash        VARCHAR NOT NULL,      -- 64-bit perceptual hash, hex
    duplicate_of VARCHAR,               -- image_id of the earlier image this one nearly repeats (repost, resize)
    caption      VARCHAR,
    hashtags     VARCHAR[],
    engagement   BIGINT,                -- likes, when the scraper recorded them
    ingested_at  TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS fingerprints (
    image_id     VARCHAR PRIMARY KEY,
    colour_layout BLOB NOT NULL         -- 8x8 RGB thumbnail (192 bytes): tells a repost from a same-shape product in another colour
);
CREATE TABLE IF NOT EXISTS files (
    path      VARCHAR PRIMARY KEY,      -- every file ever scanned, for incremental re-ingest
    size      BIGINT NOT NULL,
    mtime_ns  BIGINT NOT NULL,
    image_id  VARCHAR,                  -- NULL when the file was rejected
    status    VARCHAR NOT NULL          -- image | exact_duplicate | rejected
);
CREATE TABLE IF NOT EXISTS rejects (
    path     VARCHAR NOT NULL,
    stage    VARCHAR NOT NULL,          -- ingest | embed ...
    reason   VARCHAR NOT NULL,          -- short code, e.g. corrupt, truncated, empty, not_an_image, absurd_date
    detail   VARCHAR,
    rejected_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id      VARCHAR PRIMARY KEY,
    stage       VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,       -- running | done | failed
    folder      VARCHAR,
    summary     VARCHAR                 -- JSON
);
"""


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (DuckDB TIMESTAMP has no zone; the store is UTC throughout)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def resolve_store_path(path: str | os.PathLike | None = None) -> Path:
    """``--store`` if given, else ``$TRENDGAN_STORE``, else ``./trendgan-store``."""
    chosen = path or os.environ.get("TRENDGAN_STORE") or DEFAULT_STORE
    return Path(chosen).expanduser().resolve()


# --------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one rename.

    On an exception the temporary file is removed and ``target`` is left as it was; running out of space (at any
    layer: Python, pyarrow, torch) becomes DiskFullError naming the file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    except OSError as exc:
        raise_if_disk_full(exc, target)
        raise
    # mkstemp makes the file private (0600); give it the usual permissions so reports and Parquet files can be
    # shared and served like any file the user writes.
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except Exception as exc:
        raise_if_disk_full(exc, target)
        raise
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


TMP_SUFFIX = ".tmp"


def is_disk_full(exc: BaseException, where: str | os.PathLike | None = None) -> bool:
    """Did ``exc`` come from a full disk or quota? Libraries say so in their own words: OSError's errno, DuckDB's
    and pyarrow's message text, torch's "file write failed" (then the file system is asked how much space is left)."""
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(error)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        if where is not None and "write failed" in text and _free_bytes(where) < 1 << 20:
            return True
    return False


def raise_if_disk_full(exc: BaseException, where: str | os.PathLike) -> None:
    """Re-raise ``exc`` as DiskFullError when it is a full disk (with the path and what to do), else return."""
    if isinstance(exc, DiskFullError) or not is_disk_full(exc, where):
        return
    raise DiskFullError(
        f"the disk holding {where} is full ({_free_bytes(where) // 1024:,} KiB free): free some space and run "
        "the same command again") from None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _free_bytes(where: str | os.PathLike) -> int:
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        info = os.statvfs(path)
    except OSError:
        return 1 << 62
    return info.f_bavail * info.f_frsize


def _read_umask() -> int:
    # Read once at import: os.umask can only be read by setting it, which is not safe once threads run.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json_atomic(target: str | os.PathLike, payload: Any) -> Path:
    return write_text_atomic(target, json.dumps(payload, indent=2, default=_json_default, sort_keys=False) + "\n")


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_parquet_atomic(frame, target: str | os.PathLike) -> Path:
    """Write a pandas DataFrame to Parquet atomically."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(target)


def append_jsonl(target: str | os.PathLike, record: dict) -> None:
    """Append one JSON line (metrics logs); a line is written with one ``write`` call."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=_json_default) + "\n")
    except OSError as exc:
        raise_if_disk_full(exc, target)
        raise


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """A JSON file's content, or ``default`` ({} unless given) when it is missing or unreadable (an optional file)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {} if default is None else default


def _json_default(value: Any):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------- the store


class Store:
    """A store folder. Cheap to create; nothing is written until a writer asks for it.

    >>> store = Store("my-store")
    >>> with store.writer("ingest"):
    ...     with store.catalog() as db:
    ...         db.execute("SELECT count(*) FROM images").fetchone()
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = resolve_store_path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # ---- paths
    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    def exists(self) -> bool:
        return self.catalog_path.exists()

    def require(self) -> "Store":
        """Raise a clear error when the store has not been created by an ingest yet."""
        if not self.exists():
            raise StoreError(
                f"no trendgan store at {self.root}: run `trendgan ingest PATH --store {self.root}` first "
                "(or point --store / TRENDGAN_STORE at an existing store)"
            )
        return self

    def embeddings_dir(self, encoder_key: str) -> Path:
        return self.root / "embeddings" / encoder_slug(encoder_key)

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    # ---- catalog
    @contextlib.contextmanager
    def catalog(self, read_only: bool = False):
        """A DuckDB connection to the catalog; the schema is created on first write."""
        import duckdb

        if read_only:
            self.require()
        else:
            self._ensure_root()
            if not self.catalog_path.exists():
                self._create_catalog()
        try:
            con = duckdb.connect(str(self.catalog_path), read_only=read_only)
        except duckdb.Error as exc:
            raise self._catalog_error(exc) from None
        try:
            if not read_only:
                con.execute(CATALOG_SCHEMA)
            yield con
        except duckdb.Error as exc:
            # A full disk shows up as a failed COMMIT (and then "cannot rollback"): say what really happened.
            raise_if_disk_full(exc, self.catalog_path)
            if _is_damage(exc):  # a damaged block is found when a query first reads it, not when the file opens
                raise self._catalog_error(exc) from None
            raise
        finally:
            with contextlib.suppress(Exception):
                con.close()

    def _create_catalog(self) -> None:
        """Create the catalog with its schema under a temporary name, then link it into place: a first ingest
        killed while DuckDB lays out the file leaves only a temporary file (``trendgan check`` removes it), never a
        ``catalog.duckdb`` without tables; a catalog another process created meanwhile is kept as it is."""
        import secrets

        import duckdb

        scratch = self.root / f".{self.catalog_path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
        try:
            con = duckdb.connect(str(scratch))
            try:
                con.execute(CATALOG_SCHEMA)
            finally:
                con.close()
            try:
                os.link(scratch, self.catalog_path)  # unlike a rename, never replaces a catalog that appeared
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: rename, still never over an existing catalog
                if not self.catalog_path.exists():
                    os.replace(scratch, self.catalog_path)
        except duckdb.Error as exc:
            raise_if_disk_full(exc, self.root)
            raise
        finally:
            for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _catalog_error(self, exc: Exception) -> StoreError:
        """Why DuckDB would not open the catalog, in the user's words: another process has it, the disk is full,
        or the file is damaged (only the first is worth waiting for)."""
        text = _first_line(exc)
        if "lock" in text.lower() and "conflicting" in text.lower():
            return StoreLockedError(
                f"the catalog {self.catalog_path} is open in another process ({text}); "
                "wait for that run to finish and try again")
        if is_disk_full(exc, self.catalog_path):
            return DiskFullError(f"the disk holding {self.catalog_path} is full ({text}): free some space and run the "
                                 "same command again")
        return StoreDamagedError(
            f"the catalog {self.catalog_path} is damaged and cannot be opened ({text}); run `trendgan check --repair` "
            "to move it aside, then ingest the same folders again (vectors and runs are kept)")

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise StoreError(f"the store folder {self.root} is not writable; choose another with --store")

    # ---- the writer lock
    @contextlib.contextmanager
    def writer(self, stage: str):
        """Hold the store's writer lock for ``stage``; a second writer gets StoreLockedError at once."""
        self._ensure_root()
        fh = open(self.lock_path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise StoreLockedError(
                f"the store {self.root} is being written by {holder}; wait for it to finish "
                "(the lock is released automatically when that process ends)"
            ) from None
        _HELD_LOCKS.add(fh)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"`trendgan {stage}` (pid {os.getpid()} on {socket.gethostname()}, since {utcnow():%Y-%m-%d %H:%M:%S} UTC)")
            fh.flush()
            yield self
        finally:
            _HELD_LOCKS.discard(fh)
            with contextlib.suppress(OSError):  # a full disk must not keep the lock or hide the real error
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    # ---- run folders
    def new_run(self, folder: str, name: str | None = None) -> Path:
        """Create ``<stage>/<run>/``; run names sort by time: ``20261122-101500`` (+ ``-2`` if taken)."""
        base = name or utcnow().strftime("%Y%m%d-%H%M%S")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", base):
            raise StoreError(f"run name {base!r} may only use letters, digits, '.', '_' and '-'")
        parent = self.stage_dir(folder)
        parent.mkdir(parents=True, exist_ok=True)
        candidate, n = parent / base, 1
        while candidate.exists():
            n += 1
            candidate = parent / f"{base}-{n}"
        candidate.mkdir()
        return candidate

    def runs(self, folder: str) -> list[Path]:
        """Finished run folders under ``<store>/<folder>/``, oldest first (``trendgan.runs`` gives them types)."""
        parent = self.stage_dir(folder)
        if not parent.is_dir():
            return []
        done = [p for p in parent.iterdir() if is_finished_run(p)]
        return sorted(done, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def run_dir(self, folder: str, run: str | None = None) -> Path:
        """The named run folder, or the latest finished one; StageNotRunError when there is none.

        Stages open runs through ``trendgan.runs`` (``StylesRun.open(store)``), which also names the command to run.
        """
        if run:
            path = self.stage_dir(folder) / run
            if not path.is_dir():
                raise StageNotRunError(f"no {folder} run named {run!r} in {self.root}")
            return path
        runs = self.runs(folder)
        if not runs:
            raise StageNotRunError(f"the store {self.root} has no finished run in {folder}/ yet")
        return runs[-1]

    def latest_run(self, folder: str) -> Path | None:
        runs = self.runs(folder)
        return runs[-1] if runs else None

    def record_run(self, run_id: str, stage: str, started_at: dt.datetime, status: str, folder: Path | None, summary: dict) -> None:
        """The run's row in the ``runs`` table; a ``running`` row also names its process (``running_process``), so
        ``trendgan check`` can tell a run in progress from one whose process was killed."""
        if status == "running":
            summary = {**summary, "process": running_process()}
        with self.catalog() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, stage, started_at, utcnow(), status, str(folder) if folder else None, json.dumps(summary, default=_json_default)],
            )


# The lock files this process holds. A forked child (a worker pool, DataLoader workers) shares the parent's open
# file description, and flock locks belong to that: a worker outliving a killed parent would keep the store locked.
# So every forked child closes its copies at once (closing, never LOCK_UN, which would unlock the parent too).
_HELD_LOCKS: set = set()


def _close_inherited_locks() -> None:
    for fh in list(_HELD_LOCKS):
        with contextlib.suppress(Exception):
            fh.close()
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


def die_with_parent(parent_pid: int) -> None:
    """In a worker: ask the kernel to kill this process when its parent dies (Linux), and exit now if it already has.

    Pool workers otherwise outlive a ``kill -9`` of their parent, blocked on a queue nobody will ever write to.
    ``parent_pid`` is the parent's pid as the parent saw it (a pool initializer argument).
    """
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(1)


def running_process() -> dict:
    """This process as a ``running`` runs row records it: pid, host and the kernel's start time of the pid (so a
    pid reused by a later process is not mistaken for the run)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": _process_started(os.getpid())}


def process_is_gone(process: dict | None) -> bool | None:
    """True when the process a runs row names has ended, False when it still runs, None when this machine cannot
    tell (no process recorded, or another host)."""
    if not isinstance(process, dict) or not isinstance(process.get("pid"), int) or process.get("host") != socket.gethostname():
        return None
    pid = process["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by someone else
    recorded, now = process.get("started"), _process_started(pid)
    return recorded is not None and now is not None and recorded != now


def _process_started(pid: int) -> int | None:
    """The kernel's start time of ``pid`` in clock ticks since boot (Linux ``/proc/<pid>/stat`` field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def is_finished_run(folder: Path) -> bool:
    """A run folder is finished once its ``config.json`` is written (last) and no ``.incomplete`` marker is left."""
    return folder.is_dir() and (folder / "config.json").exists() and not (folder / ".incomplete").exists()


def encoder_slug(encoder_key: str) -> str:
    """A folder name for an encoder key: ``clip:ViT-B-32/laion2b_s34b_b79k`` -> ``clip-ViT-B-32-laion2b_s34b_b79k``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", encoder_key).strip("-")
    return slug or "encoder"


def _is_damage(exc: BaseException) -> bool:
    """A DuckDB error that means the catalog's bytes are bad (not a query or constraint problem)."""
    import duckdb

    text = str(exc).lower()
    return isinstance(exc, (duckdb.IOException, duckdb.SerializationException)) or "corrupt" in text or "checksum" in text


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
