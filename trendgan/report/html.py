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
from trendgan.report.calls import (
    ACTION_WORDS, ACTIONS, CHANCE_HEADER, calls_headline, fmt_chance, fmt_change, fmt_share, mean_tail, period_words,
    recent_window, season_of, share_histories,
)
from trendgan.report.data import ReportData, gather
from trendgan.errors import TrendganError
from trendgan.periods import period
from trendgan.store import Store, write_json_atomic, write_text_atomic

THUMB_PX = 96
LEADERBOARD_ROWS = 25  # every style of a typical run is on a board; beyond, the summary lists the rest
LEADERBOARDS = (
    (("emerging",), "Emerging styles", "small a year ago, growing fast"),
    (("rising",), "Rising styles", "established and gaining share"),
    (("declining",), "Declining styles", "losing share"),
    (("seasonal", "stable"), "Seasonal and stable styles", "holding their share, or following their season"),
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
.not-run{color:#888;font-style:italic}.up{color:#1a7f37}.down{color:#c62828}.board{margin-bottom:18px}
.headline{font-size:1.25em;margin:6px 0 12px}.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;
margin-right:6px;vertical-align:-2px;border:1px solid rgba(0,0,0,.25)}
table.calls{width:100%}table.calls td.num{font-size:1.15em;font-weight:600;white-space:nowrap;text-align:right}
table.calls th.num{text-align:right}table.calls td.evidence{color:#444;font-size:.93em}
tr.action th{background:#1f2a44;color:#fff;font-size:1.05em}tr.action.back th{background:#1a7f37}
tr.action.cut th{background:#c62828}table.families tr.family th{background:#eef0f5}
table.families td.num,table.families th.num{text-align:right}.call-word{font-weight:700;text-transform:uppercase;font-size:.85em}tr.action.hold th{background:#5f6b7a}
td.call{font-weight:700;text-transform:uppercase;font-size:.85em;letter-spacing:.05em}
.note{color:#555;font-size:.93em;max-width:1100px}dl.glossary dt{font-weight:700;margin-top:10px}
dl.glossary dd{margin:2px 0 0 0;max-width:1100px}
.design{display:flex;gap:18px;align-items:flex-start;flex-wrap:wrap;margin:10px 0;padding:8px 0;border-bottom:1px solid #eee}
.design figure{margin:0;text-align:center;font-size:.85em;color:#444}.design figure img{width:96px;height:96px;
object-fit:cover;border-radius:4px;border:1px solid #ccd;display:block;margin:0 auto 4px}
.design .outputs{display:flex;gap:6px;flex-wrap:wrap}.design .arrow{font-size:2em;color:#888;align-self:center}
table.board-table{width:100%;table-layout:fixed}table.board-table th:nth-child(1){width:25%}
table.board-table th:nth-child(2),table.board-table th:nth-child(3),table.board-table th:nth-child(4){width:10%}
"""


def write_report(store: Store | str | Path | None = None, out: str | Path | None = None, title: str = "Trend report") -> Path:
    """Write the trend report for ``store``: ``out`` (default ``<store>/reports/trend-report.html``), plus the
    same numbers as ``.json`` and the forecast with its calls as ``.csv`` beside it. Returns the HTML path.

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

    view = _View(data)
    sections = [
        ("summary", "Summary", summary_section(view)),
        ("overview", "Overview", overview_section(data)),
        ("trends", "Trends", trends_section(view)),
        ("leaderboards", "Leaderboards", leaderboards_section(view)),
        ("families", "Families", families_section(view)),
        ("map", "Style map", map_section(view)),
        ("designs", "Designs", designs_section(view)),
        ("quality", "Forecast quality", quality_section(data)),
        ("data", "Data quality", data_quality_section(data)),
        ("glossary", "Glossary", glossary_section(view)),
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


class _View:
    """What several sections share, computed once: the calls, the styles' colours and thumbnails."""

    def __init__(self, data: ReportData):
        from trendgan.report.colours import style_colours

        self.data = data
        self.calls = data.calls
        self.by_style = {row["style_id"]: row for row in self.calls.to_dict("records")}
        self.colours = style_colours(data.styles) if data.styles is not None else {}
        self._thumbs: dict = {}

    def name(self, style_id) -> str:
        return str(self.data.names.get(style_id) or f"style {style_id}")

    def swatch(self, style_id) -> str:
        colour = self.colours.get(style_id)
        return f'<span class="swatch" style="background:{colour}"></span>' if colour else ""

    def style_cell(self, style_id) -> str:
        return (f"{self.swatch(style_id)}<b>{html.escape(self.name(style_id))}</b> "
                f"<small>#{html.escape(str(style_id))}</small>")

    def panel_title(self, style_id) -> str:
        """A style's chart title: its name, then its call and the same expected change the summary shows."""
        label = plots.safe_label(f"{self.name(style_id)} #{style_id}")
        call = self.by_style.get(style_id)
        if call is None:
            return label
        return f"{label}<br>{html.escape(call['trend'])} · expected {fmt_change(call['expected_change'])}"


# --------------------------------------------------------------------------- sections


def summary_section(view: _View) -> str:
    data, calls = view.data, view.calls
    if calls.empty:
        return NOT_RUN.format(hint="no forecast yet; run <code>trendgan forecast</code> (the summary lists which styles to back, hold and cut)")
    counts = calls["action"].value_counts()
    window = _horizon_dates(data)
    head = (f'<p class="headline">{html.escape(calls_headline(data.horizon, data.period))}{window}, of '
            f"{len(calls)} styles: " + ", ".join(f"<b>{a} {int(counts.get(a, 0))}</b>" for a in ACTIONS) + ".</p>")
    kind = str(calls["chance_kind"].iloc[0])
    rows = []
    for action in ACTIONS:
        chosen = calls[calls["action"] == action]
        if chosen.empty:
            continue
        rows.append(f'<tr class="action {action}"><th colspan="5">{html.escape(ACTION_WORDS[action])}</th></tr>')
        for row in chosen.to_dict("records"):
            sign = "up" if row["expected_change"] >= 0 else "down"
            rows.append(
                f'<tr data-style-id="{html.escape(str(row["style_id"]), quote=True)}" data-action="{action}">'
                f'<td class="call">{action}</td><td>{view.style_cell(row["style_id"])} '
                f'<small>({html.escape(row["trend"])})</small></td>'
                f'<td class="num expected-change {sign}">{fmt_change(row["expected_change"])}</td>'
                f'<td class="num chance">{fmt_chance(row["chance"])}</td>'
                f'<td class="evidence">{html.escape(row["evidence"])}</td></tr>')
    header = ('<tr><th>call</th><th>style</th><th class="num">expected change</th>'
              f'<th class="num">{html.escape(CHANCE_HEADER[kind])}</th><th>evidence</th></tr>')
    return head + f'<table class="calls" id="calls">{header}{"".join(rows)}</table>' + _how_calls_are_made(data, kind)


def _how_calls_are_made(data: ReportData, kind: str) -> str:
    h = calls_headline(data.horizon, data.period).replace("For ", "", 1)
    now = period_words(data.period, recent_window(data.period, data.horizon))
    chance = ("<b>chance the call is right</b> is the forecast's probability for that label, calibrated on backtests"
              if kind == "probability" else
              "<b>confidence</b> is how much of the forecast's 80 % and 95 % intervals lies on the side of the call "
              "(not a calibrated probability)")
    return (f'<p class="note">How a call is made: <b>expected change</b> is the forecast share over {html.escape(h)} '
            f"against the style's share now (the last {html.escape(now)}). A style is <b>backed</b> when it is forecast "
            "to grow clearly (emerging: small a year ago and at least doubling; rising: gaining on a year ago and on "
            "now), <b>cut</b> when it is forecast to fall clearly below where it is now (or has fallen over the year "
            "and is not expected to recover), and <b>held</b> otherwise (stable, or seasonal: rising and falling with "
            f"the time of year). A move counts when it is above 10 % and beyond the week-to-week noise of the counts; "
            f"{chance}. Terms are explained in the <a href=\"#glossary\">glossary</a>.</p>")


def _period_description(code) -> str:
    from trendgan.errors import ConfigError
    from trendgan.periods import period

    try:
        return period(code or "W").description
    except ConfigError:
        return str(code)


def _horizon_dates(data: ReportData) -> str:
    forecasts = plots.best_forecasts(data.forecasts)
    if forecasts.empty:
        return ""
    first, last = pd.to_datetime(forecasts["ds"]).min(), pd.to_datetime(forecasts["ds"]).max()
    return f" ({_date(first)} to {_date(last)})"


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


def trends_section(view: _View) -> str:
    data = view.data
    if data.series is None or data.series.empty:
        return NOT_RUN.format(hint="no style series; run <code>trendgan styles</code>")
    parts = [_figure(plots.plot_trends(data.series, data.forecasts, data.names, colours=view.colours), "trend-chart")]
    parts.append('<p class="note">Each style is drawn in its own garment\'s colour. Below, one panel per style (backs '
                 "first, then holds, then cuts), each on its own scale with its forecast and 80 % / 95 % intervals "
                 "(the darker and lighter bands: where the share should land 8 and 19 times in 20).</p>")
    order = view.calls["style_id"].tolist() if not view.calls.empty else None
    titles = {s: view.panel_title(s) for s in (order or data.series["unique_id"].unique().tolist())}
    parts.append(_figure(plots.plot_style_panels(data.series, data.forecasts, order=order, names=data.names,
                                                 titles=titles, colours=view.colours), "style-panels"))
    return "".join(parts)


def leaderboards_section(view: _View) -> str:
    if view.calls.empty:
        return NOT_RUN.format(hint="no forecast labels; run <code>trendgan forecast</code>")
    return "".join(_leaderboard(view, trends, heading, hint) for trends, heading, hint in LEADERBOARDS)


def families_section(view: _View) -> str:
    """Families (styles whose shares move together, merged by look) with their styles: each family's share now and
    against a year ago, each style's call, and why styles were split or kept apart."""
    data = view.data
    if data.fine_styles is None:
        return NOT_RUN.format(hint="no styles; run <code>trendgan styles</code>")
    if data.families is None or data.families.empty:
        return ('<p class="note">This styles run has no families (it was made before trendgan grouped styles into '
                "families); run <code>trendgan styles</code> again to see them.</p>")
    window = recent_window(data.period, data.horizon)
    season = season_of(data.period)
    fine_names = {r.style_id: r.name for r in data.fine_styles.itertuples(index=False)}
    style_rows = data.fine_styles.set_index("style_id")
    fine_histories, family_histories = share_histories(data.fine_series), share_histories(data.family_series)
    rows = []
    for family in data.families.sort_values("size", ascending=False).to_dict("records"):
        fid = family["family_id"]
        members = [s for s in _as_list(family.get("styles")) if s in style_rows.index]
        if len(members) == 1 and data.level == "style":  # a family of one style: one row, the style's own
            rows.append(_family_of_one(view, fid, members[0], fine_histories, window, season))
            continue
        now, year_ago = _share_now_and_year_ago(family_histories, fid, window, season)
        name = view.name(fid) if data.level == "family" else str(family.get("name") or f"family {fid}")
        call = view.by_style.get(fid) if data.level == "family" else None
        rows.append(f'<tr class="family" data-family-id="{html.escape(str(fid), quote=True)}">'
                    f'<th colspan="2">{html.escape(name)} <small>family #{html.escape(str(fid))}, '
                    f'{len(members)} style{"s" if len(members) != 1 else ""}</small></th>'
                    f'<th class="num">{fmt_share(now)}</th><th class="num">{_change_cell(now, year_ago)}</th>'
                    f'<th>{_call_words(call)}</th></tr>')
        for style_id in sorted(members, key=lambda s: -float(style_rows.loc[s, "size"])):
            s_now, s_year_ago = _share_now_and_year_ago(fine_histories, style_id, window, season)
            call = view.by_style.get(style_id) if data.level == "style" else None
            cell = (view.style_cell(style_id) if data.level == "style" else
                    f"<b>{html.escape(str(fine_names.get(style_id) or f'style {style_id}'))}</b> "
                    f"<small>#{html.escape(str(style_id))}</small>")
            rows.append(f'<tr data-style-id="{html.escape(str(style_id), quote=True)}"><td></td><td>{cell}</td>'
                        f'<td class="num">{fmt_share(s_now)}</td><td class="num">{_change_cell(s_now, s_year_ago)}</td>'
                        f"<td>{_call_words(call)}</td></tr>")
    now_words = period_words(data.period, window)
    header = ('<tr><th colspan="2">family / style</th><th class="num">share now</th>'
              '<th class="num">now vs last year</th><th>call</th></tr>')
    note = (f'<p class="note">A family groups look-alike styles whose shares move together; styles whose shares move '
            f"differently stay in separate families, and a style whose two halves moved differently was split. "
            f"<b>Share now</b> is the share of posts over the last {html.escape(now_words)}; <b>now vs last year</b> "
            f"compares it with the same {html.escape(now_words)} a year earlier, both observed (the calls' <b>vs a year "
            f"ago</b> is the forecast's). Forecasts, calls and renders use the "
            f"<b>{html.escape(data.level)}</b> level (<code>trendgan styles --level family|style</code>).</p>")
    return note + f'<table class="families">{header}{"".join(rows)}</table>' + _style_events(data.style_events)


def _family_of_one(view: _View, family_id, style_id, histories: dict, window: int, season: int) -> str:
    now, year_ago = _share_now_and_year_ago(histories, style_id, window, season)
    return (f'<tr class="family single" data-family-id="{html.escape(str(family_id), quote=True)}" '
            f'data-style-id="{html.escape(str(style_id), quote=True)}"><th colspan="2">{view.style_cell(style_id)} '
            f"<small>family #{html.escape(str(family_id))}, this style alone</small></th>"
            f'<th class="num">{fmt_share(now)}</th><th class="num">{_change_cell(now, year_ago)}</th>'
            f"<th>{_call_words(view.by_style.get(style_id))}</th></tr>")


def _style_events(events: list[dict], closest_kept_apart: int = 4) -> str:
    """Why styles were split, and the nearest look-alikes kept in separate families (the styles run's own words,
    escaped). The merge steps are tried nearest first, so the first refusals are the ones a reader would question."""
    splits = [e for e in events if e.get("event") == "split" and e.get("why")]
    apart = [e for e in events if e.get("event") == "kept_apart" and e.get("why")][:closest_kept_apart]
    if not splits and not apart:
        return ""
    items = "".join(f"<li>{html.escape(_event_title(e))}: {html.escape(str(e['why']))}</li>" for e in splits + apart)
    return (f"<h3>Why styles were split or kept apart</h3><ul>{items}</ul><p class=\"note\">{len(splits)} split"
            f"{'s' if len(splits) != 1 else ''}; the {len(apart)} nearest look-alike groups kept apart are listed, "
            "every decision is in the styles run's metrics.jsonl.</p>")


def _event_title(event: dict) -> str:
    if event["event"] == "split":
        return f"style {event.get('style')} split off style {event.get('new_style')}"
    return f"styles {_ids(event.get('styles_a'))} kept apart from {_ids(event.get('styles_b'))}"


def _ids(values) -> str:
    return ", ".join(str(v) for v in _as_list(values)) or "?"


def _as_list(values) -> list:
    if values is None:
        return []
    return [v.item() if hasattr(v, "item") else v for v in (values.tolist() if hasattr(values, "tolist") else values)]


def _share_now_and_year_ago(histories: dict, uid, window: int, season: int) -> tuple[float, float]:
    """Mean share over the last ``window`` periods, and over the same periods a season earlier (NaN when too short);
    ``histories`` from ``share_histories``."""
    values = histories.get(uid, ())
    year_ago = mean_tail(values, window, season) if len(values) >= window + season else math.nan
    return mean_tail(values, window, 0), year_ago


def _change_cell(now: float, before: float) -> str:
    if not math.isnan(now) and now > 0 and before == 0:
        return "new"
    if math.isnan(now) or math.isnan(before) or before <= 0:
        return "–"
    change = now / before - 1
    return f'<span class="{"up" if change >= 0 else "down"}">{fmt_change(change)}</span>'


def _call_words(call: dict | None) -> str:
    if call is None:
        return ""
    return (f'<span class="call-word">{html.escape(call["action"])}</span> '
            f'<small>({html.escape(call["trend"])}, expected {fmt_change(call["expected_change"])})</small>')


def map_section(view: _View) -> str:
    data = view.data
    if data.style_map is None or data.style_map.empty:
        return NOT_RUN.format(hint="no style map; run <code>trendgan styles</code>")
    return _figure(plots.plot_style_map(data.style_map, data.names, colours=view.colours), "style-map")


def designs_section(view: _View) -> str:
    if not view.data.designs:
        return NOT_RUN.format(hint="no designs; try <code>trendgan restyle</code> or <code>trendgan design</code>")
    return "".join(_design_run(view, index) for index in view.data.designs)


def _design_run(view: _View, index: dict) -> str:
    kind = str(index.get("kind", "design"))
    heading = (f'<h3>{html.escape("Restyle" if kind == "restyle" else "Designs for a person")} '
               f'<small>run {html.escape(str(index.get("run", "")))}</small></h3>')
    files = [f for f in index.get("files") or [] if isinstance(f, dict) and f.get("file")]
    if not files:
        return f'<div class="board">{heading}<p class="not-run">no images in this run</p></div>'
    inputs = _design_inputs(index)
    target = _design_target(view, index)
    rows = []
    if kind == "restyle":
        strengths = sorted({float(f["strength"]) for f in files if f.get("strength") is not None}) or [None]
        for strength in strengths:
            chosen = [f for f in files if strength is None or f.get("strength") == strength]
            outputs = "".join(_figure_img(f["file"], _score_caption(f)) for f in chosen[:6])
            label = f"strength {strength:.2f}" if strength is not None else "outputs"
            rows.append(f'<div class="design" data-strength="{"" if strength is None else strength}">{inputs}'
                        f'<span class="arrow">→</span>{target}<span class="arrow">→</span>'
                        f'<figure><b>{html.escape(label)}</b><br><small>0 keeps the garment, 1 takes the target</small></figure>'
                        f'<div class="outputs">{outputs}</div></div>')
    else:
        weight = index.get("trend_weight")
        outputs = "".join(_figure_img(f["file"], f"#{f.get('rank', '')} · " + _score_caption(f)) for f in files[:8])
        label = f"trend weight {float(weight):.2f}" if weight is not None else ""
        rows.append(f'<div class="design">{inputs}<span class="arrow">→</span>{target}'
                    f'<span class="arrow">→</span><figure><b>{html.escape(label)}</b></figure>'
                    f'<div class="outputs">{outputs}</div></div>')
    return f'<div class="board">{heading}{"".join(rows)}</div>'


def _design_inputs(index: dict) -> str:
    inputs = index.get("inputs") or {}
    if index.get("kind") == "restyle":
        garment = inputs.get("garment_file") or inputs.get("garment")
        shown = _figure_img(garment, "input: " + Path(str(inputs.get("garment", garment or ""))).name)
        return shown or '<figure><span class="not-run">input not kept</span></figure>'
    liked = [p for p in inputs.get("liked") or [] if p]
    shown = "".join(_figure_img(p, "liked: " + Path(str(p)).name) for p in liked[:4])
    prompt = inputs.get("prompt")
    if prompt:
        shown += f"<figure>prompt:<br><i>{html.escape(str(prompt))}</i></figure>"
    return f'<div class="outputs">{shown}</div>' if shown else '<figure><span class="not-run">no inputs recorded</span></figure>'


def _design_target(view: _View, index: dict) -> str:
    parts = []
    for target in index.get("targets") or []:
        if not isinstance(target, dict):
            continue
        label = str(target.get("label") or target.get("kind") or "")
        picture = ""
        if target.get("path"):
            picture = _figure_img(target["path"], f"target: {label}")
        elif target.get("style_id") is not None:
            paths = _representatives(view.data, target["style_id"], limit=1)
            picture = _figure_img(paths[0], f"target style: {label}") if paths else ""
        parts.append(picture or f"<figure>target ({html.escape(str(target.get('kind', '')))}):<br>"
                                f"<b>{html.escape(label)}</b></figure>")
    return "".join(parts) or '<figure><span class="not-run">no target recorded</span></figure>'


def _score_caption(entry: dict) -> str:
    for key, word in (("cos_target", "like target"), ("score", "score")):
        if entry.get(key) is not None:
            return f"{word} {float(entry[key]):.2f}"
    return ""


def quality_section(data: ReportData) -> str:
    if data.backtests is None or data.backtests.empty:
        return NOT_RUN.format(hint="no backtests; run <code>trendgan forecast</code>")
    summary = plots.backtest_summary(data.backtests)
    rows = "".join(
        f"<tr><td>{html.escape(str(r.model))}</td><td>{r.mase:.3f}</td><td>{r.median_mase:.3f}</td><td>{r.series}</td></tr>"
        for r in summary.itertuples(index=False)
    )
    table = f"<table><tr><th>model</th><th>mean MASE</th><th>median MASE</th><th>styles</th></tr>{rows}</table>"
    note = ('<p class="note">Lower is better. Each model forecast the last weeks of history as if they had not happened '
            "yet (backtests); its average miss is divided by the naive guess's average miss inside the history "
            "(MASE). A MASE above 1 is common for forecasts many periods ahead of noisy weekly shares: compare the "
            "models with each other and with the <i>seasonal naive</i> bar (the naive guess forecasting the same "
            "backtests), the guess any forecast has to beat. See the <a href=\"#glossary\">glossary</a>.</p>")
    return (_figure(plots.plot_backtest_quality(data.backtests), "backtest-quality") + note + table
            + _reliability(data.calibration))


def _reliability(calibration: pd.DataFrame | None) -> str:
    """The calls' reliability diagram: do calls made at 80 % come true about 80 % of the time on backtests?"""
    from trendgan.forecast.plots import plot_reliability

    if calibration is None or calibration.empty:
        return ('<p class="note">No reliability check of the calls: this forecast run kept no backtest calls (the '
                "history is too short, or the run predates the check).</p>")
    trend = calibration[calibration["kind"] == "trend"]
    summary = ""
    if not trend.empty and trend["calls"].sum() > 0:
        said = float((trend["predicted"] * trend["calls"]).sum() / trend["calls"].sum())
        came = float((trend["observed"] * trend["calls"]).sum() / trend["calls"].sum())
        summary = (f" Over the {int(trend['calls'].sum()):,} label probabilities given on the backtests, the calls "
                   f"said {said:.0%} on average and {came:.0%} came true; with few styles or origins each point "
                   "stands on a handful of calls, so read the points near the line, not each wiggle.")
    note = ('<p class="note">Are the calls\' probabilities honest? Calls made at earlier points of each style\'s '
            "history, grouped by the probability they were given, against how often they came true once the "
            "following periods were in. Points on the dashed line are calibrated; above it the calls were too "
            "cautious, below it too sure. Bigger points stand for more calls." + summary + "</p>")
    return _figure(plot_reliability(calibration), "calls-reliability") + note


def glossary_section(view: _View) -> str:
    data = view.data
    now = period_words(data.period, recent_window(data.period, data.horizon))
    ahead = period_words(data.period, data.horizon) if data.horizon else "the forecast horizon"
    terms = [
        ("Share", "The part of a period's images that show this style: 14 % means 14 of every 100 posts."),
        ("Expected change", f"How much the style's share should move over the next {ahead}, against its share "
                            f"now (the last {now}). +50 % means a style at 10 % of posts should reach about 15 %. "
                            "The same number appears in the summary, the leaderboards, the charts' titles and "
                            "the command line."),
        ("vs a year ago", "The forecast share against the same weeks a year earlier. A fad that spiked this year "
                          "can be far above a year ago and still be falling from now."),
        ("Back, hold, cut", "Back: emerging or rising styles. Hold: stable or seasonal styles. Cut: declining styles."),
        ("Emerging, rising, stable, seasonal, declining",
         "Emerging: small a year ago and at least doubling. Rising: gaining share on a year ago and on now. "
         "Stable: no clear move. Seasonal: its share rises and falls with the time of year. Declining: forecast "
         "to lose share from now."),
        ("Chance the call is right / confidence",
         "With calibrated trend calls: the probability of the label, measured on backtests (of calls made at 80 %, "
         "about 8 in 10 were right). Otherwise confidence: how much of the forecast's range lies on the side of "
         "the call."),
        ("Backtest", "Forecasting a stretch of the past as if it had not happened yet, then checking against what "
                     "did happen. \"Beat the naive guess in 2 of 3 backtests\" counts the stretches where the "
                     "forecast was closer than the naive guess."),
        ("Naive guess (seasonal naive, snaive)",
         "Repeat what happened: last year's share for the same weeks, or the latest share when a style has no "
         "year of history or no season. It costs nothing, so a forecast is only worth using if it beats it."),
        ("MASE", "Mean absolute scaled error: the forecast's average miss divided by the naive guess's average miss "
                 "inside the history (the share a year before, or the period before when there is under a year of "
                 "history). 0.5 means the forecast misses by half as much; lower is better. The naive guess's own "
                 "bar shows what it scores on the same backtests."),
        ("The models", "ses (a smoothed level), theta (a level plus a gentle trend), damped (a trend that flattens "
                       "out), ets and arima (classic statistical models), and ensemble (a weighted mix of the "
                       "others, weighted by how well each did in backtests). \"+leading\" means the forecast was "
                       "corrected by the leading sources (e.g. influencers), which show trends weeks early."),
        ("80 % / 95 % interval", "The range the share should land in 8 (19) times in 20."),
    ]
    items = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in terms)
    return f'<dl class="glossary">{items}</dl>'


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


def _leaderboard(view: _View, trends: tuple, heading: str, hint: str) -> str:
    chosen = view.calls[view.calls["trend"].isin(trends)]
    calls = chosen.head(LEADERBOARD_ROWS)
    board_id = "board-" + "-".join(trends)
    title = f'<div class="board" id="{board_id}"><h3>{html.escape(heading)} <small>({html.escape(hint)})</small></h3>'
    if calls.empty:
        return title + f"<p>No {html.escape(' or '.join(trends))} styles in this forecast.</p></div>"
    renders = {entry.get("style_id"): entry for entry in view.data.renders}
    kind = str(calls["chance_kind"].iloc[0])
    rows = "".join(_leaderboard_row(view, row, renders) for row in calls.to_dict("records"))
    head = ("<tr><th>style</th><th>expected change</th><th>vs a year ago</th>"
            f"<th>{html.escape(CHANCE_HEADER[kind])}</th><th>real images</th><th>predicted look (GAN)</th></tr>")
    more = (f'<p class="note">{len(chosen) - len(calls)} more {html.escape(" or ".join(trends))} styles are in the '
            "summary.</p>") if len(chosen) > len(calls) else ""
    return f'{title}<table class="board-table">{head}{rows}</table>{more}</div>'


def _leaderboard_row(view: _View, row: dict, renders: dict) -> str:
    style_id = row["style_id"]
    name = view.name(style_id)
    # Calls say where a style heads from where it is now; a year-on-year change can point the other way (a fad
    # that spiked this year and is fading is far above last year), so both are shown, each under its own name.
    change, yoy = row["expected_change"], row["vs_year_ago"]
    real = "".join(_img(p, name) for p in _representatives(view.data, style_id))
    render = renders.get(_py(style_id))
    if render is not None:
        look = '<span class="renders">' + "".join(_img(p, f"render of {name}") for p in render["files"][:4]) + "</span>"
    else:
        # Render draws the styles to back by default; say how to draw this one too rather than "yet", which reads as
        # work still pending. The page shows the latest render run only, so the command asks for every style.
        command = f"trendgan render --trend all --top {len(view.calls)}"
        look = f'<span class="not-run">not rendered: <code>{html.escape(command)}</code> draws every style</span>'
    return (f'<tr data-style-id="{html.escape(str(style_id), quote=True)}"><td>{view.style_cell(style_id)}</td>'
            f'<td class="expected-change {"up" if change >= 0 else "down"}">{fmt_change(change)}</td>'
            f'<td class="{"up" if not yoy < 0 else "down"}">{fmt_change(yoy)}</td>'
            f'<td class="chance">{fmt_chance(row["chance"])}</td>'
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


def _figure_img(path, caption: str) -> str:
    """An image with its caption underneath (the Designs section's input, target and outputs)."""
    if not path:
        return ""
    uri = thumbnail_data_uri(path)
    if uri is None:
        return ""
    return (f'<figure><img src="{uri}" alt="{html.escape(caption, quote=True)}">'
            f"{html.escape(caption)}</figure>")


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


CALL_COLUMNS = ["action", "trend", "expected_change", "chance", "chance_kind", "vs_year_ago"]
# The labels' own column names for numbers the report shows under the calls' names (trendgan.report.calls).
RENAMED = {"change_recent": "expected_change", "change": "vs_year_ago"}


def forecast_table(data: ReportData) -> pd.DataFrame:
    """The chosen forecast per style and period with the style's name and call: the CSV a planner opens. Its
    columns carry the report's names (expected_change, chance, vs_year_ago), so the numbers match the page."""
    columns = ["style_id", "name", *CALL_COLUMNS, "ds", "model", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    forecasts = plots.best_forecasts(data.forecasts)
    if forecasts.empty:
        return pd.DataFrame(columns=columns)
    table = forecasts.rename(columns={"unique_id": "style_id"}).copy()
    calls = data.calls
    table["name"] = table["style_id"].map(dict(zip(calls["style_id"], calls["name"]))).fillna(table["style_id"].map(data.names))
    if not calls.empty:
        table = table.merge(calls[["style_id", *CALL_COLUMNS]], on="style_id", how="left")
    table["ds"] = pd.to_datetime(table["ds"]).dt.strftime("%Y-%m-%d")
    return table[[c for c in columns if c in table.columns]].sort_values(["style_id", "ds"]).reset_index(drop=True)


def report_numbers(data: ReportData) -> dict:
    """The report's numbers as plain JSON (no thumbnails): overview, the calls per style (with the labels' other
    columns), backtests, data quality."""
    calls = data.calls
    styles = []
    if not calls.empty:
        extra = data.labels.drop(columns=[c for c in (*RENAMED, "confidence") if c in data.labels.columns])
        extra = extra.rename(columns={"unique_id": "style_id"}).drop(columns=["trend"], errors="ignore")
        merged = calls.merge(extra, on="style_id", how="left")
        styles = [_jsonable(row) for row in merged.to_dict("records")]
    quality = plots.backtest_summary(data.backtests).to_dict("records") if data.backtests is not None and not data.backtests.empty else None
    volume = plots.period_volume(data.series) if data.series is not None and not data.series.empty else None
    return {
        "store": str(data.store),
        "runs": {"styles": data.styles_run, "forecast": data.forecast_run, "renders": data.renders_run},
        "horizon": data.horizon,
        "period": data.period,
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
