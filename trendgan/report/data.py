"""Everything the report shows, read from a store: each part is None when its stage has not run yet.

Stages are read through their own loaders (``trendgan.styles.load_styles``, ``trendgan.forecast.load_forecast``,
``trendgan.embed.latest_encoder_key``); renders and designs from the index files their contracts name
(docs/stages.md).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from trendgan.errors import StageNotRunError, TrendganError
from trendgan.store import Store, read_json


@dataclasses.dataclass
class ReportData:
    """The numbers and frames behind one report. Frames follow docs/stages.md; None means "not run yet"."""

    store: Path
    overview: dict[str, Any] | None = None
    rejects_by_reason: dict[str, int] = dataclasses.field(default_factory=dict)
    styles_run: str | None = None
    styles: pd.DataFrame | None = None
    series: pd.DataFrame | None = None
    style_map: pd.DataFrame | None = None
    forecast_run: str | None = None
    horizon: int | None = None            # periods ahead the forecast looks (its config)
    period: str | None = None             # W, M, Q or Y (the styles run's)
    forecasts: pd.DataFrame | None = None
    backtests: pd.DataFrame | None = None
    labels: pd.DataFrame | None = None
    renders_run: str | None = None
    renders: list[dict] = dataclasses.field(default_factory=list)
    designs: list[dict] = dataclasses.field(default_factory=list)  # latest designs runs' index.json, newest first

    @property
    def names(self) -> dict:
        """style_id -> name, from the styles table (names come from captions and file names: untrusted text)."""
        if self.styles is None or "name" not in self.styles.columns:
            return {}
        return {row.style_id: row.name for row in self.styles[["style_id", "name"]].itertuples(index=False) if row.name}

    @property
    def calls(self) -> pd.DataFrame:
        """The buyer's calls (trendgan.report.calls.buyer_calls): one row per style, the numbers every page shows."""
        from trendgan.report.calls import buyer_calls

        return buyer_calls(self.labels, self.series, self.backtests, self.names, self.horizon, self.period)


def gather(store: Store, forecast_run: str | None = None) -> ReportData:
    """Read what each stage has produced so far; a stage that has not run leaves its part empty.

    ``forecast_run``: which forecast (default the latest); the styles run is the one it was made from.
    """
    data = ReportData(store=store.root)
    if store.exists():
        data.overview, data.rejects_by_reason = catalog_overview(store)
    forecast = _latest_forecast(store, forecast_run)
    styles_run_name = _config_value(forecast[0], ("styles_run", "styles")) if forecast else None
    styles = _load_styles(store, styles_run_name)
    if styles is not None:
        data.styles_run, data.styles, data.series, data.style_map, styles_config = styles
        if data.overview is not None:
            data.overview["encoder"] = styles_config.get("encoder") or styles_config.get("encoder_key") or data.overview.get("encoder")
            data.overview["period"] = styles_config.get("period")
            data.overview["periods"] = int(data.series["ds"].nunique()) if data.series is not None else data.overview.get("periods")
        data.period = styles_config.get("period")
    if forecast is not None:
        folder, data.forecasts, data.backtests, data.labels, forecast_config = forecast
        data.forecast_run = folder.name
        data.horizon = _int_or_none(forecast_config.get("horizon"))
        data.period = data.period or forecast_config.get("period")
    data.renders_run, data.renders = latest_renders(store)
    data.designs = latest_designs(store)
    return data


def catalog_overview(store: Store) -> tuple[dict[str, Any], dict[str, int]]:
    """Counts a reader checks first: images, periods, sources, rejects, undated and duplicate images."""
    with store.catalog(read_only=True) as db:
        images, undated, near_duplicates, sources, first, last = db.execute(
            "SELECT count(*), count(*) FILTER (WHERE posted_at IS NULL), count(*) FILTER (WHERE duplicate_of IS NOT NULL),"
            " count(DISTINCT source), min(posted_at), max(posted_at) FROM images"
        ).fetchone()
        weeks = db.execute("SELECT count(DISTINCT date_trunc('week', posted_at)) FROM images WHERE posted_at IS NOT NULL").fetchone()[0]
        exact_duplicates = db.execute("SELECT count(*) FROM files WHERE status = 'exact_duplicate'").fetchone()[0]
        rejects = dict(db.execute("SELECT reason, count(*) FROM rejects GROUP BY reason ORDER BY 2 DESC").fetchall())
    overview = {
        "images": int(images), "undated": int(undated), "near_duplicates": int(near_duplicates),
        "exact_duplicates": int(exact_duplicates), "sources": int(sources), "rejects": int(sum(rejects.values())),
        "periods": int(weeks), "period": "W", "first_posted": first, "last_posted": last, "encoder": latest_encoder(store),
    }
    return overview, {str(k): int(v) for k, v in rejects.items()}


def latest_encoder(store: Store) -> str | None:
    from trendgan.embed import latest_encoder_key

    try:
        return latest_encoder_key(store)
    except TrendganError:
        return None


def _load_styles(store: Store, run: str | None):
    try:
        folder = store.run_dir("styles", run)
    except StageNotRunError:
        if run is None:
            return None
        return _load_styles(store, None)  # the forecast's styles run was deleted: show the latest instead
    from trendgan.styles import load_styles

    loaded = load_styles(store, folder.name)
    return folder.name, loaded.styles, loaded.series, _maybe(lambda: loaded.map), dict(loaded.config or {})


def _latest_forecast(store: Store, run: str | None = None):
    try:
        folder = store.run_dir("forecasts", run)
    except StageNotRunError:
        if run is not None:
            raise
        return None
    from trendgan.forecast import load_forecast

    loaded = load_forecast(store, folder.name)
    return folder, loaded.forecasts, loaded.backtests, loaded.labels, dict(loaded.config or {})


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def latest_renders(store: Store) -> tuple[str | None, list[dict]]:
    """The latest render run's index, with every file made absolute so the page builder can read it."""
    folder = store.latest_run("renders")
    if folder is None or not (folder / "index.json").exists():
        return None, []
    entries = read_json(folder / "index.json")
    if isinstance(entries, dict):  # tolerate {"styles": [...]} as well as a bare list
        entries = entries.get("styles", [])
    for entry in entries:
        entry["files"] = [str(_resolve(folder, f)) for f in entry.get("files", [])]
        if entry.get("grid"):
            entry["grid"] = str(_resolve(folder, entry["grid"]))
    return folder.name, entries


def latest_designs(store: Store, limit: int = 3) -> list[dict]:
    """The newest ``limit`` designs runs (restyles and personal designs): their index with absolute file paths."""
    runs = []
    for folder in reversed(store.runs("designs")[-limit:]):
        index = read_json(folder / "index.json")
        if not isinstance(index, dict):
            continue
        index["run"] = folder.name
        for entry in index.get("files") or []:
            if isinstance(entry, dict) and entry.get("file"):
                entry["file"] = str(_resolve(folder, entry["file"]))
        inputs = index.get("inputs")
        if isinstance(inputs, dict) and inputs.get("garment_file"):  # a restyle keeps its input garment beside the outputs
            inputs["garment_file"] = str(_resolve(folder, inputs["garment_file"]))
        runs.append(index)
    return runs


def _resolve(folder: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else folder / path


def _config_value(folder: Path, keys: tuple[str, ...]) -> str | None:
    config = read_json(folder / "config.json")
    for key in keys:
        value = config.get(key)
        if isinstance(value, str) and value:
            return Path(value).name
    return None


def _maybe(getter):
    try:
        return getter()
    except (OSError, TrendganError, AttributeError):
        return None
