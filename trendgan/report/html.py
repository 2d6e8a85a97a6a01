"""The one module that writes the report: a self-contained HTML page plus JSON and CSV of the same numbers.

The page must open offline and be safe with scraped text, so: plotly.js is inlined once, thumbnails are small
JPEG data URIs, nothing is fetched from the network, and every caption-derived string goes through html.escape.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path

import pandas as pd

from trendgan.report import plots
from trendgan.report.data import ReportData, gather
from trendgan.errors import TrendganError
from trendgan.periods import period
from trendgan.store import Store, write_json_atomic, write_text_atomic

THUMB_PX = 96
LEADERBOARD_ROWS = 5
LEADERBOARDS = (
    ("emerging", "Emerging styles", "small today, growing fast"),
    ("rising", "Rising styles", "established and gaining share"),
    ("declining", "Declining styles", "losing share"),
)
NOT_RUN = '<p class="not-run">Not run yet: {hint}</p>'



class ReportError(TrendganError):
    """The report cannot be written where it was asked to go."""


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2a44;color:#fff;padding:18px 32px}header h1{margin:0;font-size:1.6em}header p{margin:4px 0 0;opacity:.8}
nav{padding:8px 32px;background:#e8ebf2;font-size:.95em}nav a{margin-right:16px;color:#1f2a44}
main{padding:8px 32px 40px;max-width:1400px}section{background:#fff;border:1px solid #e3e3e3;border-radius:8px;
padding:12px 20px;margin:18px 0}h2{margin-top:4px}table{border-collapse:collapse;margin:8px 0}
td,th{border-bottom:1px solid #eee;padding:6px 10px;text-align:left;vertical-align:middle}th{background:#f3f4f7}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#f3f4f7;border-radius:6px;padding:8px 14px;min-width:110px}
.kpi b{display:block;font-size:1.4em}.thumbs img{width:48px;height:48px;object-fit:cover;margin:1px;border-radius:3px}
.renders img{width:64px;height:64px;object-fit:cover;margin:1px;border-radius:3px;border:1px solid #ccd}
.not-run{color:#888;font-style:italic}.up{color:#2ca02c}.down{color:#d62728}.board{margin-bottom:18px}
"""


def write_report(store: Store | str | Path | None = None, out: str | Path | None = None, title: str = "Trend report") -> Path:
    """Write the trend report for ``store``: ``out`` (default ``<store>/reports/trend-report.html``), plus the
    same numbers as ``.json`` and the forecast with its labels as ``.csv`` beside it. Returns the HTML path.

    Stages that have not run yet show "not run yet" instead of failing, so a report after ingest alone works.
    """
    store = store if isinstance(store, Store) else Store(store)
    out = Path(out) if out else store.root / "reports" / "trend-report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        out = out / "trend-report.html" if out.is_dir() or not out.suffix else out.with_suffix(".html")
    data = gather(store)
    page, numbers, table = render_page(data, title=title), report_numbers(data), forecast_table(data)
    try:
        write_text_atomic(out, page)
        write_json_atomic(out.with_suffix(".json"), numbers)
        write_text_atomic(out.with_suffix(".csv"), table.to_csv(index=False))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or exc}; choose another place with --out") from None
    return out


def render_page(data: ReportData, title: str = "Trend report") -> str:
    """The whole page as one string (plotly.js inlined once; figures share it)."""
    from plotly.offline import get_plotlyjs

    sections = [
        ("overview", "Overview", overview_section(data)),
        ("trends", "Trends", trends_section(data)),
        ("leaderboards", "Leaderboards", leaderboards_section(data)),
        ("map", "Style map", map_section(data)),
        ("designs", "Designs", designs_section(data)),
        ("quality", "Forecast quality", quality_section(data)),
        ("data", "Data quality", data_quality_section(data)),
    ]
    nav = "".join(f'<a href="#{key}">{label}</a>' for key, label, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{label}</h2>{content}</section>' for key, label, content in sections)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
        # The page may only use what it carries: no requests leave it even if a figure asked for one.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:\">"
        f"<style>{CSS}</style><script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>store {html.escape(str(data.store))} · generated {generated}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


# --------------------------------------------------------------------------- sections


def overview_section(data: ReportData) -> str:
    if data.overview is None:
        return NOT_RUN.format(hint="no catalog in this store; run <code>trendgan ingest PATH</code>")
    o = data.overview
    kpis = [
        ("images", o["images"]), ("periods", o.get("periods")), ("sources", o["sources"]),
        ("rejected files", o["rejects"]), ("undated images", o["undated"]),
        ("duplicates", o["near_duplicates"] + o["exact_duplicates"]),
    ]
    tiles = "".join(f'<div class="kpi"><b>{_fmt(v)}</b>{html.escape(k)}</div>' for k, v in kpis)
    span = ""
    if o.get("first_posted") is not None:
        span = f"<p>Images posted {_date(o['first_posted'])} to {_date(o['last_posted'])}"
        span += f", counted by <b>{html.escape(_period_description(o.get('period')))}</b>.</p>"
    encoder = html.escape(str(o.get("encoder") or "not embedded yet"))
    runs = ", ".join(f"{k} <code>{html.escape(v)}</code>" for k, v in
                     (("styles", data.styles_run), ("forecast", data.forecast_run), ("renders", data.renders_run)) if v)
    return f'<div class="kpis">{tiles}</div>{span}<p>Encoder: <code>{encoder}</code></p>' + (f"<p>Runs: {runs}</p>" if runs else "")


def trends_section(data: ReportData) -> str:
    if data.series is None or data.series.empty:
        return NOT_RUN.format(hint="no style series; run <code>trendgan styles</code>")
    parts = [_figure(plots.plot_trends(data.series, data.forecasts, data.names), "trend-chart")]
    if data.labels is None or data.labels.empty:
        parts.append(NOT_RUN.format(hint="no forecast; run <code>trendgan forecast</code>"))
    else:
        parts.append(_figure(plots.plot_top_movers(data.series, data.forecasts, data.labels, data.names), "top-movers"))
    return "".join(parts)


def leaderboards_section(data: ReportData) -> str:
    if data.labels is None or data.labels.empty:
        return NOT_RUN.format(hint="no forecast labels; run <code>trendgan forecast</code>")
    return "".join(_leaderboard(data, trend, heading, hint) for trend, heading, hint in LEADERBOARDS)


def map_section(data: ReportData) -> str:
    if data.style_map is None or data.style_map.empty:
        return NOT_RUN.format(hint="no style map; run <code>trendgan styles</code>")
    return _figure(plots.plot_style_map(data.style_map, data.names), "style-map")


def designs_section(data: ReportData) -> str:
    if not data.designs:
        return NOT_RUN.format(hint="no designs; try <code>trendgan restyle</code> or <code>trendgan design</code>")
    return "".join(_design_run(index) for index in data.designs)


def _design_run(index: dict) -> str:
    targets = ", ".join(str(t.get("label") or t.get("kind") or "") for t in index.get("targets") or [] if isinstance(t, dict))
    files = [f for f in index.get("files") or [] if isinstance(f, dict) and f.get("file")]
    images = "".join(_img(f["file"], f"{index.get('kind', 'design')} {f.get('rank', '')}".strip()) for f in files[:8])
    heading = f"{html.escape(str(index.get('kind', 'design')))} <small>run {html.escape(str(index.get('run', '')))}</small>"
    target = f"<p>toward: {html.escape(targets)}</p>" if targets else ""
    return f'<div class="board"><h3>{heading}</h3>{target}<div class="renders">{images or "no images"}</div></div>'


def quality_section(data: ReportData) -> str:
    if data.backtests is None or data.backtests.empty:
        return NOT_RUN.format(hint="no backtests; run <code>trendgan forecast</code>")
    summary = plots.backtest_summary(data.backtests)
    rows = "".join(
        f"<tr><td>{html.escape(str(r.model))}</td><td>{r.mase:.3f}</td><td>{r.median_mase:.3f}</td><td>{r.series}</td></tr>"
        for r in summary.itertuples(index=False)
    )
    table = f"<table><tr><th>model</th><th>mean MASE</th><th>median MASE</th><th>styles</th></tr>{rows}</table>"
    note = ("<p>MASE below 1 beats the in-sample seasonal naive forecast; compare each model with the "
            "<i>seasonal naive</i> bar.</p>")
    return _figure(plots.plot_backtest_quality(data.backtests), "backtest-quality") + note + table


def data_quality_section(data: ReportData) -> str:
    if data.overview is None:
        return NOT_RUN.format(hint="no catalog; run <code>trendgan ingest PATH</code>")
    o = data.overview
    parts = [f"<p>{o['near_duplicates']} near-duplicate images (reposts, resizes) and {o['exact_duplicates']} "
             f"byte-identical files were counted once; {o['undated']} images have no date and are left out of the series.</p>"]
    parts.append(_figure(plots.plot_rejects(data.rejects_by_reason), "rejects") if data.rejects_by_reason
                 else "<p>No rejected files.</p>")
    if data.series is not None and not data.series.empty:
        volume = plots.period_volume(data.series)
        parts.append(_figure(plots.plot_period_volume(data.series), "period-volume"))
        thin = volume[volume["low_volume"].astype(bool)]
        if not thin.empty:
            listed = ", ".join(f"{_date(d)} ({int(t)})" for d, t in zip(thin["ds"].head(12), thin["total"].head(12)))
            more = f" and {len(thin) - 12} more" if len(thin) > 12 else ""
            parts.append(f"<p>{len(thin)} of {len(volume)} periods have few images, so their shares are noisy: {listed}{more}.</p>")
    return "".join(parts)


def _leaderboard(data: ReportData, trend: str, heading: str, hint: str) -> str:
    labels = data.labels[data.labels["trend"] == trend]
    labels = labels.sort_values(_move_column(labels), ascending=(trend == "declining")).head(LEADERBOARD_ROWS)
    title = f'<div class="board"><h3>{html.escape(heading)} <small>({html.escape(hint)})</small></h3>'
    if labels.empty:
        return title + f"<p>No {html.escape(trend)} styles in this forecast.</p></div>"
    renders = {entry.get("style_id"): entry for entry in data.renders}
    rows = "".join(_leaderboard_row(data, row, renders) for row in labels.itertuples(index=False))
    head = ("<tr><th>style</th><th>expected change<br><small>from now</small></th><th>vs a year ago</th>"
            "<th>confidence</th><th>real images</th><th>predicted look (GAN)</th></tr>")
    return f"{title}<table>{head}{rows}</table></div>"


def _move_column(labels) -> str:
    return "change_recent" if "change_recent" in labels.columns else "change"


def _leaderboard_row(data: ReportData, row, renders: dict) -> str:
    style_id = row.unique_id
    name = data.names.get(style_id) or f"style {style_id}"
    # Labels say where a style heads from where it is now; a year-on-year change can point the other way (a fad
    # that spiked this year and is fading is far above last year), so both are shown.
    change = float(getattr(row, "change_recent", row.change))
    arrow = "up" if change >= 0 else "down"
    yoy = float(row.change)
    confidence = getattr(row, "confidence", float("nan"))
    real = "".join(_img(p, name) for p in _representatives(data, style_id))
    render = renders.get(_py(style_id))
    if render is not None:
        look = '<span class="renders">' + "".join(_img(p, f"render of {name}") for p in render["files"][:4]) + "</span>"
    else:
        look = '<span class="not-run">not rendered yet</span>'
    return (f"<tr><td><b>{html.escape(str(name))}</b> <small>#{html.escape(str(style_id))}</small></td>"
            f'<td class="{arrow}">{change:+.0%}</td><td class="{"up" if yoy >= 0 else "down"}">{yoy:+.0%}</td>'
            f'<td>{_fmt_share(confidence)}</td>'
            f'<td class="thumbs">{real or "<span class=not-run>no images</span>"}</td><td>{look}</td></tr>')


def _representatives(data: ReportData, style_id, limit: int = 4) -> list[str]:
    if data.styles is None or "representative_paths" not in data.styles.columns:
        return []
    match = data.styles[data.styles["style_id"] == style_id]
    if match.empty:
        return []
    paths = match["representative_paths"].iloc[0]
    return [str(p) for p in list(paths if paths is not None else [])[:limit]]


# --------------------------------------------------------------------------- pieces


def thumbnail_data_uri(path: str | Path, size: int = THUMB_PX) -> str | None:
    """A small JPEG of an image as a data: URI, or None when the file is gone or unreadable."""
    from PIL import UnidentifiedImageError

    from trendgan.ingest import open_rgb  # refuses FIFOs and decompression bombs swapped in since ingest

    try:
        with open_rgb(str(path)) as image:
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(path: str, alt: str) -> str:
    uri = thumbnail_data_uri(path)
    if uri is None:
        return ""
    return f'<img src="{uri}" alt="{html.escape(str(alt), quote=True)}" title="{html.escape(Path(path).name, quote=True)}">'


def _figure(fig, div_id: str) -> str:
    # auto_play off: plotly would otherwise run through the style map's periods on load and stop at a random one.
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, auto_play=False,
                       config={"displaylogo": False, "responsive": True})


def _period_description(code) -> str:
    try:
        return period(code or "W").description
    except TrendganError:
        return str(code)


def _fmt(value) -> str:
    return "–" if value is None else html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def _fmt_share(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else f"{value:.0%}"


def _date(value) -> str:
    return html.escape(pd.Timestamp(value).strftime("%Y-%m-%d")) if value is not None and not pd.isna(value) else "–"


def _py(value):
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- JSON and CSV


def forecast_table(data: ReportData) -> pd.DataFrame:
    """The chosen forecast per style and period, with the style's name and trend label: the CSV a planner opens."""
    columns = ["style_id", "name", "trend", "change", "change_recent", "confidence", "ds", "model", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    forecasts = plots.best_forecasts(data.forecasts)
    if forecasts.empty:
        return pd.DataFrame(columns=columns)
    table = forecasts.rename(columns={"unique_id": "style_id"}).copy()
    table["name"] = table["style_id"].map(data.names)
    if data.labels is not None and not data.labels.empty:
        label_cols = [c for c in ("trend", "change", "change_recent", "confidence") if c in data.labels.columns]
        labels = data.labels[["unique_id", *label_cols]].rename(columns={"unique_id": "style_id"})
        table = table.merge(labels, on="style_id", how="left")
    table["ds"] = pd.to_datetime(table["ds"]).dt.strftime("%Y-%m-%d")
    return table[[c for c in columns if c in table.columns]].sort_values(["style_id", "ds"]).reset_index(drop=True)


def report_numbers(data: ReportData) -> dict:
    """The report's numbers as plain JSON (no thumbnails): overview, per-style labels, backtests, data quality."""
    styles = []
    if data.labels is not None and not data.labels.empty:
        for row in data.labels.to_dict("records"):
            row["style_id"] = row.pop("unique_id")
            row["name"] = data.names.get(row["style_id"])
            styles.append(_jsonable(row))
    quality = plots.backtest_summary(data.backtests).to_dict("records") if data.backtests is not None and not data.backtests.empty else None
    volume = plots.period_volume(data.series) if data.series is not None and not data.series.empty else None
    return {
        "store": str(data.store),
        "runs": {"styles": data.styles_run, "forecast": data.forecast_run, "renders": data.renders_run},
        "overview": _jsonable(data.overview) if data.overview else None,
        "styles": styles,
        "forecast": forecast_table(data).to_dict("records") if data.forecasts is not None else None,
        "backtest_quality": [_jsonable(r) for r in quality] if quality is not None else None,
        "data_quality": {
            "rejects_by_reason": data.rejects_by_reason,
            "low_volume_periods": [_date(d) for d in volume.loc[volume["low_volume"].astype(bool), "ds"]] if volume is not None else None,
        },
    }


def _jsonable(record: dict) -> dict:
    out = {}
    for key, value in record.items():
        if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
            value = pd.Timestamp(value).isoformat()
        elif hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out
