"""Everything the report shows, read from a store: each part is None when its stage has not run yet.

Runs are read through ``trendgan.runs`` (StylesRun, ForecastRun, RenderRun, DesignsRun), the catalog's counts through
``trendgan.status.store_status`` and the encoder through ``trendgan.embed.latest_encoder_key``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from trendgan.errors import StageNotRunError, TrendganError
from trendgan.runs import DesignsRun, ForecastRun, RenderRun, StylesRun
from trendgan.store import Store


@dataclasses.dataclass
class ReportData:
    """The numbers and frames behind one report. Frames follow docs/stages.md; None means "not run yet"."""

    store: Path
    overview: dict[str, Any] | None = None
    rejects_by_reason: dict[str, int] = dataclasses.field(default_factory=dict)
    styles_run: str | None = None
    level: str = "style"                  # the level the forecast and renders use: style or family
    styles: pd.DataFrame | None = None    # at that level (families renamed to style_id at the family level)
    series: pd.DataFrame | None = None    # at that level
    style_map: pd.DataFrame | None = None
    fine_styles: pd.DataFrame | None = None   # the styles table (style level), with each style's family
    fine_series: pd.DataFrame | None = None   # the style-level series
    families: pd.DataFrame | None = None
    family_series: pd.DataFrame | None = None
    style_events: list[dict] = dataclasses.field(default_factory=list)  # why styles split and families merged
    forecast_run: str | None = None
    horizon: int | None = None            # periods ahead the forecast looks
    period: str | None = None             # W, M, Q or Y (the styles run's)
    forecasts: pd.DataFrame | None = None
    backtests: pd.DataFrame | None = None
    labels: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None   # the calls' reliability on backtests (ForecastRun.calibration)
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
    forecast = ForecastRun.open(store, forecast_run) if forecast_run else ForecastRun.latest(store)
    styles = _styles_run(store, forecast.styles_run if forecast else None)
    if styles is not None:
        # a styles run missing a table still gives what it has: the report shows "not run yet" for the rest
        data.styles_run, data.level = styles.name, styles.level
        data.styles, data.series = _maybe(lambda: styles.level_styles), _maybe(lambda: styles.level_series)
        data.fine_styles, data.fine_series = _maybe(lambda: styles.styles), _maybe(lambda: styles.series)
        data.families, data.family_series = _maybe(lambda: styles.families), _maybe(lambda: styles.family_series)
        data.style_events = _maybe(lambda: styles.events) or []
        data.style_map = _map_at_level(_maybe(lambda: styles.map), data.fine_styles, data.level)
        if data.overview is not None:
            data.overview["encoder"] = styles.encoder or data.overview.get("encoder")
            data.overview["period"] = styles.period
            data.overview["periods"] = int(data.series["ds"].nunique()) if data.series is not None else None
        data.period = styles.period
    if forecast is not None:
        data.forecast_run = forecast.name
        data.horizon = forecast.horizon
        data.period = data.period or forecast.period
        data.forecasts, data.backtests, data.labels = forecast.forecasts, forecast.backtests, forecast.labels
        data.calibration = _maybe(lambda: forecast.calibration)
    data.renders_run, data.renders = latest_renders(store)
    data.designs = latest_designs(store)
    return data


def catalog_overview(store: Store) -> tuple[dict[str, Any], dict[str, int]]:
    """Counts a reader checks first (ingest's own status): images, periods, sources, rejects, undated, duplicates."""
    from trendgan.status import store_status

    status = store_status(store, period="week")
    overview = {
        "images": status.images, "undated": status.undated, "near_duplicates": status.near_duplicates,
        "exact_duplicates": status.exact_duplicates, "sources": len(status.sources), "rejects": status.rejected_total,
        "periods": len(status.images_per_period), "period": "W", "first_posted": status.first_date,
        "last_posted": status.last_date, "encoder": latest_encoder(store),
    }
    return overview, dict(status.rejected)


def latest_encoder(store: Store) -> str | None:
    from trendgan.embed import latest_encoder_key

    try:
        return latest_encoder_key(store)
    except TrendganError:
        return None


def _styles_run(store: Store, name: str | None) -> StylesRun | None:
    """The styles run a forecast was made from, or the latest when that one is gone (or there is no forecast)."""
    if name:
        try:
            return StylesRun.open(store, name)
        except StageNotRunError:
            pass
    return StylesRun.latest(store)


def latest_renders(store: Store) -> tuple[str | None, list[dict]]:
    """The latest render run's index, with every file made absolute so the page builder can read it."""
    run = RenderRun.latest(store)
    return (run.name, run.entries) if run is not None else (None, [])


def latest_designs(store: Store, limit: int = 3) -> list[dict]:
    """The newest ``limit`` designs runs (restyles and personal designs): their index with absolute file paths."""
    indexes = []
    for run in reversed(DesignsRun.all(store)[-limit:]):
        index = run.index
        inputs = index.get("inputs")
        if isinstance(inputs, dict) and inputs.get("garment_file"):  # a restyle keeps its input garment beside its outputs
            inputs["garment_file"] = str(run.file(inputs["garment_file"]))
        indexes.append(index)
    return indexes


def _map_at_level(points: pd.DataFrame | None, styles: pd.DataFrame | None, level: str) -> pd.DataFrame | None:
    """The 2-D map's points coloured by what the report names: styles, or their families at the family level."""
    if points is None or level != "family" or styles is None or "family" not in styles.columns:
        return points
    family_of = dict(zip(styles["style_id"], styles["family"]))
    return points.assign(style_id=points["style_id"].map(lambda s: family_of.get(s, -1)))


def _maybe(getter):
    try:
        return getter()
    except (OSError, TrendganError, AttributeError):
        return None
