"""Run the stages in order from one TOML file, redoing only what changed, and the one-command demo.

A pipeline file has one table per stage (``[simulate]`` optional, ``[ingest]``, ``[embed]``, ``[styles]``,
``[forecast]``, ``[train]``, ``[render]``, ``[report]``); each table's keys are the keyword arguments of that stage's
library function (docs/stages.md), so a pipeline says exactly what the matching commands would. ``[store] path``
names the store and ``[pipeline]`` holds ``seed`` and ``device`` shared by every stage that takes them. In string
settings ``{store}`` stands for the store folder; other relative paths are relative to where the command runs.

A stage is skipped when a fingerprint of its settings and of what it reads (the files under the ingest folders, the
catalog's size and last ingest time, the embeddings' parts, the names of the upstream runs) equals the one recorded
after its last successful run, and what it wrote then is still there. So a weekly run after adding one folder
ingests that folder, and every stage downstream of a changed catalog runs again, while an unchanged store does
nothing. Fingerprints live in ``<store>/pipeline-state.json``; each run's resolved settings in
``<store>/pipelines/<run>/``. The demo (``trendgan demo``) is a pipeline too: see ``trendgan.demo``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from trendgan.config import apply_overrides, load_toml
from trendgan.console import escape, say
from trendgan.errors import ConfigError, TrendganError
from trendgan.runs import RUN_KINDS, ForecastRun, GanRun, PipelineRun, RenderRun, StylesRun, start_run
from trendgan.store import Store, utcnow, write_json_atomic

STATE_FILE = "pipeline-state.json"
STAGE_ORDER = ("simulate", "ingest", "embed", "styles", "forecast", "train", "render", "report")
SHARED_KEYS = ("seed", "device")


# --------------------------------------------------------------------------- what each stage reads and writes


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """How the runner calls one stage: its library function, what it reads (fingerprinted) and what it writes."""

    name: str
    function: Callable[[], Callable]                        # imports lazily: torch & co. load only when needed
    reads: Callable[[Store, dict], Any]                     # a JSON-able picture of the inputs, fingerprinted
    writes: Callable[[Store, dict], Path | None]            # what the stage produced, checked before a skip
    extra_keys: Callable[[], set] = lambda: set()           # settings a **kwargs function accepts


def _lazy(*candidates: tuple[str, str]) -> Callable[[], Callable]:
    """The first importable (module, function) pair: stages may move a function while the project grows."""

    def load() -> Callable:
        missing = []
        for module_name, attribute in candidates:
            try:
                function = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError):
                missing.append(f"{module_name}.{attribute}")
                continue
            if callable(function) and not inspect.ismodule(function):
                return function
            missing.append(f"{module_name}.{attribute}")
        raise ConfigError(f"this trendgan has no {' or '.join(missing)}; update trendgan or drop that stage from the pipeline")

    return load


def latest_run_name(store: Store, folder: str) -> str | None:
    """The name of the latest finished run in a stage's folder (``styles``, ``forecasts``, ``gan``, ``renders``)."""
    kind = next(k for k in RUN_KINDS.values() if k.folder_name == folder)
    run = kind.latest(store)
    return run.name if run else None


def catalog_state(store: Store) -> dict | None:
    """Size and last change of the catalog (ingest's ``catalog_state``): what embed, styles and train read."""
    from trendgan.ingest.catalog import catalog_state as state

    return state(store)


def files_state(paths: list) -> str:
    """One digest of every file under ``paths`` (relative name, size, modification time), in a stable order."""
    digest = hashlib.sha256()
    for root in sorted(str(p) for p in paths):
        root_path = Path(root)
        if root_path.is_file():
            stat = root_path.stat()
            digest.update(f"{root}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            continue
        for folder, subfolders, files in os.walk(root_path):
            subfolders.sort()
            for name in sorted(files):
                try:
                    stat = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                relative = os.path.relpath(os.path.join(folder, name), root_path)
                digest.update(f"{root}\0{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def embeddings_state(store: Store) -> list:
    from trendgan.embed.vectors import parts_state

    return parts_state(store)


def _latest_folder(store: Store, kind) -> Path | None:
    run = kind.latest(store)
    return run.folder if run else None


def _ingest_paths(settings: dict) -> list:
    paths = settings.get("paths") or settings.get("path") or []
    return [paths] if isinstance(paths, (str, Path)) else list(paths)


def _report_out(store: Store, settings: dict) -> Path:
    out = settings.get("out")
    return Path(out) if out else store.root / "reports" / "trend-report.html"


def _style_settings_fields() -> set:
    from trendgan.styles import StyleSettings

    return {f.name for f in dataclasses.fields(StyleSettings)}


STAGES: dict[str, StageSpec] = {
    "simulate": StageSpec(
        "simulate", _lazy(("trendgan.simulate", "simulate"), ("trendgan.simulate.corpus", "simulate")),
        reads=lambda store, s: None,
        writes=lambda store, s: Path(s["out"]) / "truth.json",
    ),
    "ingest": StageSpec(
        "ingest", _lazy(("trendgan.ingest", "ingest")),
        reads=lambda store, s: {"files": files_state(_ingest_paths(s) + ([s["manifest"]] if s.get("manifest") else []))},
        writes=lambda store, s: store.catalog_path,
    ),
    "embed": StageSpec(
        "embed", _lazy(("trendgan.embed", "embed")),
        reads=lambda store, s: {"catalog": catalog_state(store)},
        writes=lambda store, s: store.root / "embeddings",
    ),
    "styles": StageSpec(
        "styles", _lazy(("trendgan.styles", "find_styles")),
        reads=lambda store, s: {"catalog": catalog_state(store), "embeddings": embeddings_state(store)},
        writes=lambda store, s: _latest_folder(store, StylesRun),
        extra_keys=_style_settings_fields,
    ),
    "forecast": StageSpec(
        "forecast", _lazy(("trendgan.forecast", "forecast")),
        reads=lambda store, s: {"styles": latest_run_name(store, "styles")},
        writes=lambda store, s: _latest_folder(store, ForecastRun),
    ),
    "train": StageSpec(
        "train", _lazy(("trendgan.gan", "train_gan")),
        reads=lambda store, s: {"catalog": catalog_state(store), "embeddings": embeddings_state(store)},
        writes=lambda store, s: _latest_folder(store, GanRun),
    ),
    "render": StageSpec(
        "render", _lazy(("trendgan.gan", "render")),
        reads=lambda store, s: {"forecast": latest_run_name(store, "forecasts"), "gan": latest_run_name(store, "gan")},
        writes=lambda store, s: _latest_folder(store, RenderRun),
    ),
    "report": StageSpec(
        "report", _lazy(("trendgan.report", "write_report")),
        reads=lambda store, s: {"catalog": catalog_state(store),
                                **{f: latest_run_name(store, f) for f in ("styles", "forecasts", "gan", "renders")}},
        writes=_report_out,
    ),
}


# --------------------------------------------------------------------------- results


@dataclasses.dataclass
class StageOutcome:
    stage: str
    status: str                  # ran | skipped | not selected
    seconds: float = 0.0
    output: str | None = None
    reason: str = ""
    result: Any = None           # what the stage's function returned (not saved)


@dataclasses.dataclass
class PipelineResult:
    store: Store
    folder: Path                 # <store>/pipelines/<run>/ with config.json (the resolved settings) and metrics.jsonl
    stages: list[StageOutcome]
    settings: dict

    @property
    def ran(self) -> list[str]:
        return [s.stage for s in self.stages if s.status == "ran"]

    @property
    def skipped(self) -> list[str]:
        return [s.stage for s in self.stages if s.status == "skipped"]

    def outcome(self, stage: str) -> StageOutcome | None:
        return next((s for s in self.stages if s.stage == stage), None)


# --------------------------------------------------------------------------- loading and resolving settings


def load_pipeline(path_or_dict: str | os.PathLike | Mapping, overrides: list[str] | None = None) -> dict:
    """The pipeline as a dict of tables, with ``section.key=value`` overrides applied."""
    table = dict(path_or_dict) if isinstance(path_or_dict, Mapping) else load_toml(path_or_dict)
    return apply_overrides(table, overrides)


def pipeline_stages(pipeline: dict, stages: Mapping[str, StageSpec] = STAGES) -> list[str]:
    """The stages a pipeline names, in running order; ConfigError for a table that is no stage."""
    known_tables = set(stages) | {"store", "pipeline"}
    unknown = sorted(set(pipeline) - known_tables)
    if unknown:
        raise ConfigError(f"unknown pipeline table(s) [{'], ['.join(unknown)}]; known: {', '.join(sorted(known_tables))}")
    shared = dict(pipeline.get("pipeline") or {})
    bad_shared = sorted(set(shared) - set(SHARED_KEYS))
    if bad_shared:
        raise ConfigError(f"[pipeline] takes only {', '.join(SHARED_KEYS)}; remove {', '.join(bad_shared)}")
    names = [n for n in STAGE_ORDER if n in pipeline and n in stages]
    if not names:
        raise ConfigError(f"the pipeline names no stage; add tables such as [{'], ['.join(STAGE_ORDER)}]")
    return names


def resolve_settings(pipeline: dict, names: list[str], store: Store, stages: Mapping[str, StageSpec] = STAGES) -> dict[str, dict]:
    """Each named stage's full keyword arguments: the file's values, shared seed/device, then the function's
    defaults. Raises ConfigError for unknown or missing settings, before any stage runs."""
    shared = dict(pipeline.get("pipeline") or {})
    resolved = {}
    for name in names:
        table = pipeline[name]
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] should be a table of settings, got {table!r}")
        resolved[name] = _stage_settings(stages[name], table, shared, store)
    return resolved


def _stage_settings(spec: StageSpec, table: dict, shared: dict, store: Store) -> dict:
    function = spec.function()
    parameters = inspect.signature(function).parameters
    takes_more = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = {n for n, p in parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD and n != "store"}
    allowed = named | (spec.extra_keys() if takes_more else set())
    unknown = sorted(set(table) - allowed)
    if unknown and not (takes_more and not spec.extra_keys()):
        raise ConfigError(f"[{spec.name}] unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    settings = {k: v for k, v in shared.items() if k in allowed}
    settings.update(table)
    for name, parameter in parameters.items():
        if name in settings or name == "store" or parameter.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL):
            continue
        if parameter.default is inspect.Parameter.empty:
            raise ConfigError(f"[{spec.name}] needs the setting {name!r}")
        settings[name] = parameter.default
    return {k: _with_store(v, store) for k, v in settings.items()}


def _with_store(value: Any, store: Store) -> Any:
    """``{store}`` in a string setting means the store folder (so a pipeline can keep its corpus inside it)."""
    if isinstance(value, str) and "{store}" in value:
        return value.replace("{store}", str(store.root))
    if isinstance(value, list):
        return [_with_store(v, store) for v in value]
    if isinstance(value, dict):
        return {k: _with_store(v, store) for k, v in value.items()}
    return value


def _store_for(pipeline: dict, store: Store | str | os.PathLike | None) -> Store:
    if isinstance(store, Store):
        return store
    if store is not None:
        return Store(store)
    table = pipeline.get("store") or {}
    unknown = sorted(set(table) - {"path"})
    if unknown:
        raise ConfigError(f"[store] takes only path; remove {', '.join(unknown)}")
    return Store(table.get("path"))


def _select(names: list[str], from_stage: str | None, until_stage: str | None) -> list[str]:
    for label, stage in (("--from", from_stage), ("--until", until_stage)):
        if stage is not None and stage not in names:
            raise ConfigError(f"{label} {stage}: this pipeline's stages are {', '.join(names)}")
    start = names.index(from_stage) if from_stage else 0
    stop = names.index(until_stage) + 1 if until_stage else len(names)
    if start >= stop:
        raise ConfigError(f"--from {from_stage} comes after --until {until_stage}; nothing to run")
    return names[start:stop]


# --------------------------------------------------------------------------- running


def run_pipeline(path_or_dict: str | os.PathLike | Mapping, store: Store | str | os.PathLike | None = None,
                 from_stage: str | None = None, until_stage: str | None = None, overrides: list[str] | None = None,
                 force: bool = False, stages: Mapping[str, StageSpec] | None = None) -> PipelineResult:
    """Run a pipeline's stages in order, skipping each whose settings and inputs are unchanged since it last ran.

    ``from_stage`` / ``until_stage`` run a slice of the pipeline; the ``from_stage`` itself always runs (asking for
    it is asking to redo it) and ``force`` reruns every selected stage. ``overrides`` are ``section.key=value``.
    """
    stages = STAGES if stages is None else stages
    pipeline = load_pipeline(path_or_dict, overrides)
    store = _store_for(pipeline, store)
    names = pipeline_stages(pipeline, stages)
    selected = _select(names, from_stage, until_stage)
    settings = resolve_settings(pipeline, selected, store, stages)  # stages left out need not even be installed
    source = str(path_or_dict) if not isinstance(path_or_dict, Mapping) else None
    asked = {"source": source, "overrides": overrides or [], "from": from_stage, "until": until_stage, "force": force,
             "store": str(store.root)}
    # The stages take the writer lock themselves; a failed pipeline keeps its folder to show how far it got.
    with start_run(store, PipelineRun, settings={**asked, "stages": settings}, lock=False, keep_on_failure=True) as run:
        run.write_json("pipeline.json", {**asked, "stages": settings})
        outcomes = []
        for name in names:
            if name not in selected:
                outcomes.append(StageOutcome(name, "not selected"))
                continue
            outcome = _run_stage(stages[name], store, settings[name], force=force or name == from_stage)
            run.log({k: v for k, v in dataclasses.asdict(outcome).items() if k != "result"})
            outcomes.append(outcome)
        run.finish(results={"outcomes": [{k: v for k, v in dataclasses.asdict(o).items() if k != "result"}
                                         for o in outcomes]},
                   summary={"ran": [o.stage for o in outcomes if o.status == "ran"]})
    return PipelineResult(store=store, folder=run.folder, stages=outcomes, settings=settings)


def _run_stage(spec: StageSpec, store: Store, settings: dict, force: bool) -> StageOutcome:
    fingerprint = stage_fingerprint(spec, store, settings)
    previous = read_state(store).get(spec.name, {})
    output = spec.writes(store, settings)
    if not force and previous.get("fingerprint") == fingerprint and output is not None and Path(output).exists():
        say(f"[dim]{spec.name}: skipped (settings and inputs unchanged since {previous.get('finished_at', '?')})[/]")
        return StageOutcome(spec.name, "skipped", output=str(output), reason="unchanged")
    say(f"[bold]{spec.name}[/] …")
    started = time.perf_counter()
    result = _call(spec, store, settings)
    seconds = round(time.perf_counter() - started, 2)
    output = spec.writes(store, settings)
    record_state(store, spec.name, {"fingerprint": fingerprint, "output": str(output) if output else None,
                                    "finished_at": utcnow().isoformat(timespec="seconds"), "seconds": seconds})
    say(f"{spec.name}: done in {seconds:.1f} s" + (f" → {escape(output)}" if output else ""))
    return StageOutcome(spec.name, "ran", seconds=seconds, output=str(output) if output else None, result=result)


def _call(spec: StageSpec, store: Store, settings: dict):
    function = spec.function()
    kwargs = dict(settings)
    if "store" in inspect.signature(function).parameters:
        kwargs["store"] = store
    try:
        return function(**kwargs)
    except TrendganError as exc:
        # Say which stage failed; earlier stages' work is kept and recorded, so a rerun resumes here.
        try:
            named = type(exc)(f"pipeline stage {spec.name}: {exc}")
        except TypeError:  # a subclass with its own constructor: keep its message as it is
            raise exc from None
        raise named from exc


def stage_fingerprint(spec: StageSpec, store: Store, settings: dict) -> str:
    payload = json.dumps({"settings": settings, "reads": spec.reads(store, settings)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def read_state(store: Store) -> dict:
    path = store.root / STATE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("stages", {})
    except (OSError, ValueError, AttributeError):
        return {}  # no state (or a damaged one) only means every stage runs once more


def record_state(store: Store, stage: str, entry: dict) -> None:
    state = read_state(store)
    state[stage] = entry
    write_json_atomic(store.root / STATE_FILE, {"format": "trendgan-pipeline-state/1", "stages": state})
