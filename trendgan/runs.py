"""Runs: the one way a stage writes its run folder, and the typed way any stage opens one.

A run is a folder ``<store>/<stage folder>/<name>/`` (names sort by time: ``20261129-101500``). Writing one::

    with start_run(store, StylesRun, settings=asdict(settings), inputs={"encoder": key}) as run:
        run.write_table("styles", styles)          # styles.parquet, atomically
        run.log({"k": 8, "silhouette": 0.21})      # one line of metrics.jsonl
        run.finish(results={"next_style_id": 9})   # config.json, last

``start_run`` holds the store's writer lock, makes a fresh folder marked ``.incomplete``, records the run in the
catalog's ``runs`` table (running, then done / failed / interrupted) and, when the block raises, removes the folder
(or keeps it, for a stage whose partial work is worth resuming: GAN training). Reading one::

    styles = StylesRun.open(store)                 # the latest finished run (or StylesRun.open(store, name))
    styles.series, styles.encoder, styles.period   # tables load on first use

Every run's ``config.json`` has the same schema: ``stage``, ``run``, ``created_at``, ``finished_at``, ``settings``
(what the stage was asked to do, defaults filled in), ``inputs`` (the runs and encoder it was built from) and
``results`` (facts later runs need, e.g. the next free style id or the training step). A folder without
``config.json``, or still marked ``.incomplete``, is unfinished: readers ignore it.

Only this module and each stage's own module open a run's files by name; other stages use these classes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Iterator, TypeVar

from trendgan.errors import StageNotRunError, StoreDamagedError, StoreError, TrendganError
from trendgan.store import (
    Store, append_jsonl, atomic_path, is_finished_run, utcnow, write_bytes_atomic, write_json_atomic, write_parquet_atomic,
)

RUN_FORMAT = "trendgan-run/1"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
INCOMPLETE = ".incomplete"

R = TypeVar("R", bound="Run")
# Stages whose runs are built from image vectors: they refuse to start while a vector part is damaged.
VECTOR_READERS = frozenset({"styles", "train", "design"})


# --------------------------------------------------------------------------- reading a finished run


class Run:
    """A finished run of one stage. Subclasses name the stage, its folder, the command that makes it, its tables."""

    stage: ClassVar[str] = ""
    folder_name: ClassVar[str] = ""
    command: ClassVar[str] = ""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.folder)!r})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.folder == other.folder

    def __hash__(self) -> int:
        return hash((type(self), self.folder))

    # ---- finding runs
    @classmethod
    def open(cls: type[R], store: Store | str | Path | None, name: str | None = None) -> R:
        """The run called ``name``, or the latest finished run; StageNotRunError saying which command makes one."""
        store = as_store(store)
        if name:
            folder = store.stage_dir(cls.folder_name) / plain_run_name(name)
            if not is_finished_run(folder):
                raise StageNotRunError(f"no finished {cls.stage} run named {name!r} in {store.root}")
            return cls(folder)
        latest = cls.latest(store)
        if latest is None:
            raise StageNotRunError(f"the store {store.root} has no {cls.stage} run yet: run `trendgan {cls.command}` first")
        return latest

    @classmethod
    def latest(cls: type[R], store: Store | str | Path | None) -> R | None:
        runs = cls.all(store)
        return runs[-1] if runs else None

    @classmethod
    def all(cls: type[R], store: Store | str | Path | None) -> list[R]:
        """Every finished run of this stage, oldest first."""
        return [cls(folder) for folder in as_store(store).runs(cls.folder_name)]

    # ---- what every run has
    @property
    def name(self) -> str:
        return self.folder.name

    @cached_property
    def config(self) -> dict:
        try:
            config = json.loads((self.folder / CONFIG).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StageNotRunError(f"the {self.stage} run {self.folder} has no {CONFIG}: it never finished; "
                                   f"run `trendgan {self.command}` again") from None
        except (OSError, ValueError) as exc:
            raise self.damaged(CONFIG, exc) from None
        if not isinstance(config, dict):
            raise self.damaged(CONFIG, ValueError("not a JSON object"))
        return config

    def damaged(self, what: str, exc: BaseException) -> StoreDamagedError:
        """The one-line error for a file of this finished run that cannot be read."""
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return StoreDamagedError(
            f"the {self.stage} run {self.name}'s {what} is damaged ({detail}); run `trendgan check --repair` to move "
            f"the run aside (the previous run is used again), or `trendgan {self.command}` to make a new one")

    def _part(self, key: str) -> dict:
        # Runs written before this schema kept everything in one flat object: read it as all three parts.
        if "format" not in self.config:
            return self.config
        part = self.config.get(key)
        return part if isinstance(part, dict) else {}

    @property
    def settings(self) -> dict:
        return self._part("settings")

    @property
    def inputs(self) -> dict:
        return self._part("inputs")

    @property
    def results(self) -> dict:
        return self._part("results")

    @property
    def created_at(self) -> str | None:
        return self.config.get("created_at")

    @property
    def metrics(self) -> list[dict]:
        """The lines of ``metrics.jsonl`` (a line cut short by a crash is skipped)."""
        path = self.folder / METRICS
        if not path.exists():
            return []
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def table(self, name: str, columns: list[str] | None = None):
        """``<name>.parquet`` of this run as a pandas frame; StageNotRunError when the run lacks it."""
        import pandas as pd

        path = self.folder / f"{name}.parquet"
        if not path.exists():
            raise StageNotRunError(f"the {self.stage} run {self.name} has no {name} table: run `trendgan {self.command}` again")
        try:
            return pd.read_parquet(path, columns=columns)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise self.damaged(f"{name} table", exc) from None

    def has_table(self, name: str) -> bool:
        return (self.folder / f"{name}.parquet").exists()

    def read_json(self, name: str, default: Any = None) -> Any:
        try:
            return json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def file(self, relative: str | Path) -> Path:
        """A file of this run by its path relative to the run folder (as index files record them)."""
        path = Path(relative)
        return path if path.is_absolute() else self.folder / path


def _table(name: str) -> cached_property:
    """A run attribute that loads the ``name`` table on first use."""
    prop = cached_property(lambda self: self.table(name))
    prop.__doc__ = f"the {name} table"
    return prop


class StylesRun(Run):
    """``styles/<run>/``: assignments, styles, series, drift and map tables; families, family_series and
    family_drift (the level above styles, ``trendgan.styles.families``)."""

    stage, folder_name, command = "styles", "styles", "styles"
    assignments = _table("assignments")
    styles = _table("styles")
    series = _table("series")
    drift = _table("drift")
    map = _table("map")
    families = _table("families")              # family_id, name, size, share, centroid, styles, representatives...
    family_series = _table("family_series")    # the shape of series, unique_id = family id
    family_drift = _table("family_drift")

    @property
    def level(self) -> str:
        """The level forecasting and rendering use: ``style`` (default) or ``family`` (``trendgan styles --level``)."""
        return str(self.settings.get("level") or "style")

    @property
    def level_series(self):
        """The series the forecast stage reads: ``series`` or ``family_series``, as the run's level says."""
        return self.family_series if self.level == "family" else self.series

    @property
    def level_styles(self):
        """What renders condition on at the run's level, in the styles table's shape (at the family level
        ``style_id`` holds the family id, matching the forecast's ``unique_id``)."""
        return self.families.rename(columns={"family_id": "style_id"}) if self.level == "family" else self.styles

    @property
    def level_drift(self):
        return self.family_drift if self.level == "family" else self.drift

    @property
    def events(self) -> list[dict]:
        """Why styles split and families merged or were kept apart: the ``event`` lines of metrics.jsonl."""
        return [line for line in self.metrics if "event" in line]

    @property
    def next_family_id(self) -> int:
        return int(self.results.get("next_family_id", 0))

    @property
    def encoder(self) -> str | None:
        return self.inputs.get("encoder")

    @property
    def period(self) -> str | None:
        return self.settings.get("period")

    @property
    def next_style_id(self) -> int:
        return int(self.results.get("next_style_id", 0))


class ForecastRun(Run):
    """``forecasts/<run>/``: forecast, backtests, labels, calibration and failures tables."""

    stage, folder_name, command = "forecast", "forecasts", "forecast"
    forecasts = _table("forecast")
    backtests = _table("backtests")
    labels = _table("labels")
    failures = _table("failures")

    @cached_property
    def calibration(self):
        """The trend calls' reliability on rolling-origin backtests (kind, bin_lo, bin_hi, calls, predicted,
        observed); empty for a run made before the forecast stage kept it."""
        import pandas as pd

        if not self.has_table("calibration"):
            return pd.DataFrame(columns=["kind", "bin_lo", "bin_hi", "calls", "predicted", "observed"])
        return self.table("calibration")

    @property
    def styles_run(self) -> str | None:
        return self.inputs.get("styles_run")

    @property
    def horizon(self) -> int | None:
        value = self.results.get("horizon", self.settings.get("horizon"))
        return int(value) if value else None

    @property
    def period(self) -> str | None:
        return self.results.get("period", self.settings.get("period"))

    @property
    def season_length(self) -> int | None:
        value = self.results.get("season_length")
        return int(value) if value else None


class GanRun(Run):
    """``gan/<run>/``: ``checkpoint.pt`` (G, D, EMA, optimisers), ``samples/step-*.png`` and metrics."""

    stage, folder_name, command = "train", "gan", "train"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.pt"

    @property
    def encoder(self) -> str | None:
        return self.inputs.get("encoder")

    @property
    def step(self) -> int:
        return int(self.results.get("step", 0))

    @property
    def samples(self) -> list[Path]:
        return sorted((self.folder / "samples").glob("step-*.png"))

    @classmethod
    def resumable(cls, store: Store | str | Path | None) -> "GanRun":
        """The most recent GAN run with a checkpoint, finished or not: what ``train --resume`` continues."""
        store = as_store(store)
        parent = store.stage_dir(cls.folder_name)
        runs = [p for p in parent.iterdir() if (p / "checkpoint.pt").is_file()] if parent.is_dir() else []
        if not runs:
            raise StageNotRunError(f"the store {store.root} has no GAN run to resume: run `trendgan train` without --resume")
        return cls(max(runs, key=lambda p: ((p / "checkpoint.pt").stat().st_mtime_ns, p.name)))


class RenderRun(Run):
    """``renders/<run>/``: ``style-<id>/NN.png``, a grid per style and ``index.json``."""

    stage, folder_name, command = "render", "renders", "render"

    @cached_property
    def entries(self) -> list[dict]:
        """The index entries ({style_id, name, trend, ..., files, grid}) with every path made absolute."""
        entries = self.read_json("index.json", default=[])
        entries = entries if isinstance(entries, list) else []
        for entry in entries:
            entry["files"] = [str(self.file(f)) for f in entry.get("files", [])]
            if entry.get("grid"):
                entry["grid"] = str(self.file(entry["grid"]))
        return entries

    @property
    def forecast_run(self) -> str | None:
        return self.inputs.get("forecast_run")


class DesignsRun(Run):
    """``designs/<run>/``: restyled garments or personal designs (PNGs) and ``index.json``."""

    stage, folder_name, command = "design", "designs", "design"

    @cached_property
    def index(self) -> dict:
        """index.json ({run, kind, inputs, targets, files: [{file, score, ...}]}) with every file path absolute."""
        index = self.read_json("index.json", default={})
        index = index if isinstance(index, dict) else {}
        index["run"] = self.name
        for entry in index.get("files") or []:
            if isinstance(entry, dict) and entry.get("file"):
                entry["file"] = str(self.file(entry["file"]))
        return index


class PipelineRun(Run):
    """``pipelines/<run>/``: ``pipeline.json`` (the resolved settings of each stage) and one metrics line per stage."""

    stage, folder_name, command = "pipeline", "pipelines", "run PIPELINE.toml"


RUN_KINDS: dict[str, type[Run]] = {kind.stage: kind for kind in (StylesRun, ForecastRun, GanRun, RenderRun, DesignsRun, PipelineRun)}


# --------------------------------------------------------------------------- writing a run


class RunWriter:
    """The run being written: files go in atomically; ``finish`` writes config.json and marks the run done."""

    def __init__(self, store: Store, kind: type[Run], folder: Path, settings: dict, inputs: dict, resumed: bool):
        self.store, self.kind, self.folder = store, kind, folder
        self.settings, self.inputs, self.results = dict(settings), dict(inputs), {}
        self.started_at = utcnow()
        # A resumed run keeps the day it was created; the catalog records when this part of it started.
        self.created_at = (kind(folder).created_at if resumed and (folder / CONFIG).exists() else None) or self.started_at
        self.resumed = resumed
        self.keep = False           # set once the run holds work worth resuming: then a failure leaves the folder
        self.finished = False
        self.summary: dict = {}

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def run_id(self) -> str:
        """The run's key in the catalog's ``runs`` table: ``<stage folder>/<name>``."""
        return f"{self.kind.folder_name}/{self.name}"

    def path(self, relative: str | Path) -> Path:
        """Where a file of this run goes (its folder is made); write it atomically (``trendgan.store.atomic_path``)."""
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_table(self, name: str, frame) -> Path:
        return write_parquet_atomic(frame, self.path(f"{name}.parquet"))

    def write_json(self, name: str, payload: Any) -> Path:
        return write_json_atomic(self.path(name), payload)

    def write_image(self, name: str | Path, image) -> Path:
        """A PNG from a uint8 array (H, W, 3) or a PIL image."""
        import io

        import numpy as np
        from PIL import Image

        picture = Image.fromarray(np.asarray(image, dtype=np.uint8)) if not hasattr(image, "save") else image
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return write_bytes_atomic(self.path(name), buffer.getvalue())

    @contextlib.contextmanager
    def atomic(self, name: str | Path) -> Iterator[Path]:
        """A temporary path that replaces ``name`` in one rename when the block succeeds (checkpoints)."""
        with atomic_path(self.path(name)) as tmp:
            yield tmp

    def log(self, record: dict) -> None:
        """Append one line to metrics.jsonl (with the time, unless the record has its own)."""
        append_jsonl(self.folder / METRICS, record if "at" in record else {"at": utcnow(), **record})

    def finish(self, settings: dict | None = None, inputs: dict | None = None, results: dict | None = None,
               summary: dict | None = None) -> None:
        """Write config.json (last: it marks the run finished). ``summary`` is the catalog's one-line record."""
        self.settings.update(settings or {})
        self.inputs.update(inputs or {})
        self.results.update(results or {})
        self.summary = dict(summary or {})
        write_json_atomic(self.folder / CONFIG, {
            "format": RUN_FORMAT, "stage": self.kind.stage, "run": self.name, "created_at": self.created_at,
            "finished_at": utcnow(), "settings": self.settings, "inputs": self.inputs, "results": self.results,
        })
        (self.folder / INCOMPLETE).unlink(missing_ok=True)
        self.finished = True

    def opened(self) -> Run:
        """The finished run as its reader sees it."""
        return self.kind(self.folder)


@contextlib.contextmanager
def start_run(store: Store, kind: type[Run], *, settings: dict | None = None, inputs: dict | None = None,
              command: str | None = None, lock: bool = True, keep_on_failure: bool = False,
              resume: Run | Path | None = None, name: str | None = None) -> Iterator[RunWriter]:
    """Write a run of ``kind``: see the module docstring.

    ``name`` names the folder (default: the time, ``20261129-101500``); ``command`` names the run in the lock file
    (default the kind's command); ``lock=False`` for a run that only
    orders other stages (a pipeline), whose stages take the lock themselves. A failed run's folder is removed unless
    it is worth resuming: ``keep_on_failure``, or ``run.keep = True`` once the stage has saved something it can resume
    from (a GAN checkpoint); it then stays, marked ``.incomplete``. ``resume`` reopens such a folder.
    """
    holder = store.writer(command or kind.command) if lock else contextlib.nullcontext()
    with holder:
        if lock:
            from trendgan.preflight import preflight

            preflight(store, vectors=kind.stage in VECTOR_READERS)
        if resume is not None:
            folder = Path(getattr(resume, "folder", resume))
        else:
            folder = store.new_run(kind.folder_name, name)
        (folder / INCOMPLETE).touch()
        run = RunWriter(store, kind, folder, settings or {}, inputs or {}, resumed=resume is not None)
        _record(run, "running")
        try:
            yield run
            if not run.finished:
                run.finish()
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            if not (keep_on_failure or run.keep or run.resumed):
                shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(Exception):  # never hide the real error behind a bookkeeping one
                _record(run, status)
            raise
        _record(run, "done")


def add_metrics(store: Store, run: Run, record: dict, command: str) -> None:
    """Append one line to a finished run's metrics.jsonl under the writer lock (``evaluate-gan`` scores a GAN run)."""
    with store.writer(command):
        append_jsonl(run.folder / METRICS, record if "at" in record else {"at": utcnow(), **record})


def _record(run: RunWriter, status: str) -> None:
    """The run's row in the catalog (a convenience log: a finished run folder does not depend on it)."""
    if not run.store.exists():
        return
    with contextlib.suppress(TrendganError):
        run.store.record_run(run.run_id, run.kind.stage, run.started_at, status, run.folder,
                             run.summary if status == "done" else {})


# --------------------------------------------------------------------------- helpers


def as_store(store: Store | str | Path | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def plain_run_name(name: str) -> str:
    """A run name as a user types it: one folder name, never a path that could leave the store."""
    text = str(name)
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\0" in text:
        raise StoreError(f"{name!r} is not a run name (a run is named like 20261129-101500)")
    return text


