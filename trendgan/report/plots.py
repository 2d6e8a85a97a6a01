"""Pure plotting functions: contract frames in, plotly Figures out (like BERTopic's plotting module).

Nothing here reads the store or writes files, so every chart can be drawn in a notebook from frames a user built
by hand. Style names come from captions and file names: callers pass them through ``safe_label`` (html.escape)
before they reach a figure, because plotly renders legend and hover text as (a subset of) HTML.
"""

from __future__ import annotations

import html
from typing import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Set2
BEST_MODEL = "best"
SMOOTH_FROM = 26    # periods of history from which the trend chart adds a moving average
SMOOTH_WINDOW = 4
_SEASONAL_NAIVE = ("seasonal_naive", "seasonalnaive", "snaive", "seasonal-naive")


def safe_label(text: object) -> str:
    """Escape scraped text for plotly's HTML-ish labels; plotly turns the entities back into visible characters."""
    return html.escape(str(text), quote=True)


def style_label(style_id, names: Mapping | None) -> str:
    """'12 · wide-leg denim' (escaped), or 'style 12' when the style has no name."""
    name = (names or {}).get(style_id)
    if name is None and not isinstance(style_id, str):
        name = (names or {}).get(str(style_id))
    return safe_label(f"{style_id} · {name}" if name else f"style {style_id}")


def style_colour(style_id, order: list, colours: Mapping | None = None) -> str:
    """The style's own colour (``colours``: style_id -> "#rrggbb", its measured garment colour; see
    trendgan.report.colours), else a palette colour by position."""
    if colours and style_id in colours:
        return colours[style_id]
    try:
        position = order.index(style_id)
    except ValueError:
        position = abs(hash(str(style_id)))
    return PALETTE[position % len(PALETTE)]


def best_forecasts(forecasts: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of the chosen model per style ('best'); the first model when a frame has no 'best' rows."""
    if forecasts is None or forecasts.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "model", "mean", "lo-80", "hi-80", "lo-95", "hi-95"])
    if "model" not in forecasts.columns:
        return forecasts
    if (forecasts["model"] == BEST_MODEL).any():
        return forecasts[forecasts["model"] == BEST_MODEL]
    return forecasts[forecasts["model"] == forecasts["model"].iloc[0]]


def _rgba(hex_colour: str, alpha: float) -> str:
    hex_colour = hex_colour.lstrip("#")
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _band(ds, lo, hi, colour: str, alpha: float, name: str, group: str, show_legend: bool = False) -> go.Scatter:
    """A filled interval: upper edge forwards, lower edge backwards, one closed shape."""
    x = list(ds) + list(ds)[::-1]
    y = list(hi) + list(lo)[::-1]
    return go.Scatter(
        x=x, y=y, mode="lines", fill="toself", fillcolor=_rgba(colour, alpha), line=dict(width=0), hoverinfo="skip",
        name=name, legendgroup=group, showlegend=show_legend,
    )


def _style_traces(style_id, history: pd.DataFrame, future: pd.DataFrame, label: str, colour: str, show_legend=True,
                  bands: bool = True):
    """Observed share, forecast mean and (``bands``) its 80/95 % bands of one style, all in one legend group."""
    group = f"style-{style_id}"
    traces = []
    if bands and not future.empty and {"lo-95", "hi-95"} <= set(future.columns):
        traces.append(_band(future["ds"], future["lo-95"], future["hi-95"], colour, 0.12, f"{label} 95 %", group))
    if bands and not future.empty and {"lo-80", "hi-80"} <= set(future.columns):
        traces.append(_band(future["ds"], future["lo-80"], future["hi-80"], colour, 0.25, f"{label} 80 %", group))
    smooth = len(history) >= SMOOTH_FROM
    traces.append(go.Scatter(
        x=history["ds"], y=history["y"], mode="lines",
        line=dict(color=_rgba(colour, 0.3) if smooth else colour, width=1 if smooth else 1.5),
        name=label, legendgroup=group, showlegend=show_legend and not smooth,
        hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>" + label + "</extra>",
    ))
    if smooth:
        # Weekly shares of a few dozen images jump around; a short moving average shows the trend a reader looks
        # for, drawn over the faint raw line.
        traces.append(go.Scatter(
            x=history["ds"], y=history["y"].rolling(SMOOTH_WINDOW, min_periods=1).mean(), mode="lines",
            line=dict(color=colour, width=2), name=f"{label} ({SMOOTH_WINDOW}-period mean)", legendgroup=group,
            showlegend=show_legend, hovertemplate="%{x|%Y-%m-%d}: %{y:.1%} (moving mean)<extra>" + label + "</extra>",
        ))
    if not future.empty:
        # The forecast starts from the last observation so the two lines join.
        bridge_x = list(history["ds"].tail(1)) + list(future["ds"])
        bridge_y = list(history["y"].tail(1)) + list(future["mean"])
        traces.append(go.Scatter(
            x=bridge_x, y=bridge_y, mode="lines", line=dict(color=colour, dash="dash"),
            name=f"{label} forecast", legendgroup=group, showlegend=False,
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%} (forecast)<extra>" + label + "</extra>",
        ))
    return traces


def plot_trends(series: pd.DataFrame, forecasts: pd.DataFrame | None = None, names: Mapping | None = None,
                title: str = "Every style's share of the feed, with its forecast (dashed)",
                colours: Mapping | None = None, bands: bool = False) -> go.Figure:
    """Every style's share per period and its forecast, each in its own colour; click a legend entry to hide a style.

    Intervals are left out by default: drawn for every style at once they merge into one block. Each style's
    intervals are in ``plot_style_panels``; ``bands=True`` draws them here too.
    """
    forecasts = best_forecasts(forecasts)
    fig = go.Figure()
    order = sorted(series["unique_id"].unique().tolist())
    for style_id in order:
        history = series[series["unique_id"] == style_id].sort_values("ds")
        future = forecasts[forecasts["unique_id"] == style_id].sort_values("ds")
        colour = style_colour(style_id, order, colours)
        for trace in _style_traces(style_id, history, future, style_label(style_id, names), colour, bands=bands):
            fig.add_trace(trace)
    fig.update_layout(
        title=title, yaxis=dict(title="share of the period's images", tickformat=".0%", rangemode="tozero"),
        xaxis=dict(title="period"), legend=dict(title="style (click to toggle)", groupclick="togglegroup"),
        hovermode="closest", height=480, margin=dict(l=60, r=20, t=60, b=50), plot_bgcolor="#ffffff",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eeeeee")
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee")
    return fig


def plot_style_panels(series: pd.DataFrame, forecasts: pd.DataFrame | None, order: list | None = None,
                      names: Mapping | None = None, titles: Mapping | None = None, colours: Mapping | None = None,
                      columns: int = 4, panel_height: int = 230) -> go.Figure:
    """Small multiples: one panel per style (in ``order``), its history, forecast and 80 / 95 % intervals in its own
    colour and on its own scale, titled ``titles[style_id]`` (default: its name)."""
    forecasts = best_forecasts(forecasts)
    order = list(order) if order is not None else sorted(series["unique_id"].unique().tolist())
    if not order:
        return _empty_figure("No styles yet")
    columns = max(1, min(columns, len(order)))
    rows = -(-len(order) // columns)
    panel_titles = [(titles or {}).get(s) or style_label(s, names) for s in order]
    height = panel_height * rows + 60
    # about 90 px between rows: the row above's dates and the next panel's two-line title
    spacing = min(90 / height, 0.9 / max(rows - 1, 1)) if rows > 1 else 0.1
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=panel_titles, vertical_spacing=spacing,
                        horizontal_spacing=0.05)
    everyone = sorted(series["unique_id"].unique().tolist())
    for i, style_id in enumerate(order):
        history = series[series["unique_id"] == style_id].sort_values("ds")
        future = forecasts[forecasts["unique_id"] == style_id].sort_values("ds")
        colour = style_colour(style_id, everyone, colours)
        for trace in _style_traces(style_id, history, future, style_label(style_id, names), colour, show_legend=False):
            fig.add_trace(trace, row=i // columns + 1, col=i % columns + 1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", showgrid=True, gridcolor="#eeeeee")
    fig.update_xaxes(showgrid=False, tickformat="%b %y", nticks=4)
    fig.update_annotations(font_size=12)
    fig.update_layout(showlegend=False, height=height, margin=dict(l=50, r=20, t=60, b=30), plot_bgcolor="#ffffff")
    return fig


def top_movers(labels: pd.DataFrame, n: int = 6) -> list:
    """Style ids with the largest expected change in share, either direction."""
    if labels is None or labels.empty or "change" not in labels.columns:
        return []
    move = "change_recent" if "change_recent" in labels.columns else "change"  # the move from where it is now
    ranked = labels.assign(_size=labels[move].abs()).sort_values("_size", ascending=False)
    return ranked["unique_id"].head(n).tolist()


def plot_top_movers(series: pd.DataFrame, forecasts: pd.DataFrame | None, labels: pd.DataFrame,
                    names: Mapping | None = None, n: int = 6, columns: int = 3, colours: Mapping | None = None) -> go.Figure:
    """Small multiples: one panel per style with the largest expected change, each on its own scale."""
    movers = top_movers(labels, n)
    forecasts = best_forecasts(forecasts)
    if not movers:
        return _empty_figure("No forecast labels yet")
    rows = -(-len(movers) // columns)
    trend_of = labels.set_index("unique_id")["trend"].to_dict() if "trend" in labels.columns else {}
    change_of = labels.set_index("unique_id")["change_recent" if "change_recent" in labels.columns else "change"].to_dict()
    titles = [f"{style_label(s, names)}<br>{safe_label(trend_of.get(s, ''))} {change_of[s]:+.0%}" for s in movers]
    fig = make_subplots(rows=rows, cols=min(columns, len(movers)), subplot_titles=titles, vertical_spacing=0.16)
    order = sorted(series["unique_id"].unique().tolist())
    for i, style_id in enumerate(movers):
        history = series[series["unique_id"] == style_id].sort_values("ds")
        future = forecasts[forecasts["unique_id"] == style_id].sort_values("ds")
        colour = style_colour(style_id, order, colours)
        for trace in _style_traces(style_id, history, future, style_label(style_id, names), colour, show_legend=False):
            fig.add_trace(trace, row=i // columns + 1, col=i % columns + 1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Top movers", showlegend=False, height=300 * rows + 40, margin=dict(l=50, r=20, t=90, b=40))
    return fig


def plot_style_map(style_map: pd.DataFrame, names: Mapping | None = None, max_points: int = 4000,
                   seed: int = 0, colours: Mapping | None = None) -> go.Figure:
    """The 2-D map of images coloured by style; a slider highlights one period's images (the rest fade).

    Highlighting uses plotly's ``selectedpoints`` rather than animation frames, so each image is stored once and
    the page stays small however many periods there are.
    """
    if style_map is None or style_map.empty:
        return _empty_figure("No style map yet")
    points = style_map
    if len(points) > max_points:  # keep the page light; a seeded sample keeps the picture stable
        points = points.sample(n=max_points, random_state=seed)
    points = points.sort_values(["style_id", "ds"] if "ds" in points.columns else ["style_id"], kind="stable")
    order = sorted(points["style_id"].unique().tolist())
    fig = go.Figure()
    for style_id, members in points.groupby("style_id", sort=True):
        label = "noise" if style_id == -1 else style_label(style_id, names)
        fig.add_trace(go.Scatter(
            x=members["x"].to_numpy(), y=members["y"].to_numpy(), mode="markers", name=label,
            marker=dict(size=5, color="#bbbbbb" if style_id == -1 else style_colour(style_id, order, colours), opacity=0.8),
            unselected=dict(marker=dict(opacity=0.06)), hovertemplate=label + "<extra></extra>",
        ))
    if "ds" in points.columns and points["ds"].notna().any():
        fig.update_layout(sliders=[_period_slider(points)])
    fig.update_layout(
        title="Style map (each dot an image; slide to pick out one period)", height=600, legend=dict(title="style"),
        xaxis=dict(showticklabels=False, title="", range=_padded_range(points["x"])),
        yaxis=dict(showticklabels=False, title="", range=_padded_range(points["y"])),
        margin=dict(l=20, r=20, t=60, b=20),
    )
    return fig


def _period_slider(points: pd.DataFrame) -> dict:
    """Slider steps that select, in every style's trace, the positions of one period's images."""
    periods = sorted(points["ds"].dropna().unique().tolist())
    positions = {}
    for style_id, members in points.groupby("style_id", sort=True):
        by_period = pd.Series(np.arange(len(members)), index=members["ds"].to_numpy())
        positions[style_id] = {p: by_period[by_period.index == p].tolist() for p in periods}
    steps = [dict(label="all", method="restyle", args=[{"selectedpoints": [None] * len(positions)}])]
    for period in periods:
        selected = [positions[s][period] for s in positions]
        steps.append(dict(label=_period_name(period), method="restyle", args=[{"selectedpoints": selected}]))
    return dict(active=0, steps=steps, currentvalue=dict(prefix="period: "), pad=dict(t=40))


def is_seasonal_naive(model: str) -> bool:
    return str(model).lower().replace(" ", "_") in _SEASONAL_NAIVE


def backtest_summary(backtests: pd.DataFrame) -> pd.DataFrame:
    """Mean and median MASE (and interval coverage where known) per model, best first."""
    metrics = [c for c in ("mase", "smape", "coverage_80", "coverage_95") if c in backtests.columns]
    summary = backtests.groupby("model")[metrics].mean()
    summary["median_mase"] = backtests.groupby("model")["mase"].median()
    summary["series"] = backtests.groupby("model")["unique_id"].nunique()
    return summary.sort_values("mase").reset_index()


def plot_backtest_quality(backtests: pd.DataFrame | None) -> go.Figure:
    """Backtest MASE per model (lower is better), seasonal naive drawn as the bar to beat."""
    if backtests is None or backtests.empty:
        return _empty_figure("No backtests yet")
    summary = backtest_summary(backtests)
    colours = ["#7f7f7f" if is_seasonal_naive(m) else ("#2ca02c" if m == BEST_MODEL else "#1f77b4") for m in summary["model"]]
    fig = go.Figure(go.Bar(
        x=[safe_label(m) for m in summary["model"]], y=summary["mase"], marker_color=colours,
        customdata=summary["median_mase"], hovertemplate="%{x}: mean MASE %{y:.3f}, median %{customdata:.3f}<extra></extra>",
    ))
    baseline = summary[summary["model"].map(is_seasonal_naive)]
    if not baseline.empty:
        fig.add_hline(y=float(baseline["mase"].iloc[0]), line_dash="dot", line_color="#7f7f7f",
                      annotation_text="seasonal naive", annotation_position="top right")
    fig.update_layout(title="Forecast quality: backtest MASE per model (lower is better)",
                      yaxis=dict(title="mean MASE over styles and windows", rangemode="tozero"), height=380,
                      margin=dict(l=60, r=20, t=60, b=60))
    return fig


def plot_rejects(rejects_by_reason: Mapping[str, int] | pd.Series) -> go.Figure:
    """Files that ingest or embed refused, by reason."""
    counts = pd.Series(rejects_by_reason, dtype="int64").sort_values(ascending=False)
    if counts.empty:
        return _empty_figure("No rejected files")
    fig = go.Figure(go.Bar(x=[safe_label(r) for r in counts.index], y=counts.values, marker_color="#d62728",
                           hovertemplate="%{x}: %{y} files<extra></extra>"))
    fig.update_layout(title="Rejected files by reason", yaxis=dict(title="files"), height=320,
                      margin=dict(l=60, r=20, t=60, b=60))
    return fig


def period_volume(series: pd.DataFrame) -> pd.DataFrame:
    """Images per period (and whether the styles stage flagged it as low volume) from the series frame."""
    columns = ["ds", "total"] + (["low_volume"] if "low_volume" in series.columns else [])
    if "total" not in series.columns:
        volume = series.groupby("ds", as_index=False)["count"].sum().rename(columns={"count": "total"})
        return volume.assign(low_volume=False)
    volume = series[columns].drop_duplicates("ds").sort_values("ds")
    if "low_volume" not in volume.columns:
        volume = volume.assign(low_volume=False)
    return volume.reset_index(drop=True)


def plot_period_volume(series: pd.DataFrame | None) -> go.Figure:
    """Images per period; periods with few images (noisy shares) in orange."""
    if series is None or series.empty:
        return _empty_figure("No style series yet")
    volume = period_volume(series)
    colours = np.where(volume["low_volume"].astype(bool), "#ff7f0e", "#1f77b4")
    fig = go.Figure(go.Bar(x=volume["ds"], y=volume["total"], marker_color=colours.tolist(),
                           hovertemplate="%{x|%Y-%m-%d}: %{y} images<extra></extra>"))
    fig.update_layout(title="Images per period (orange: too few for a reliable share)", yaxis=dict(title="images"),
                      height=320, margin=dict(l=60, r=20, t=60, b=50))
    return fig


def _empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=safe_label(message), showarrow=False, font=dict(size=16), x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_layout(xaxis=dict(visible=False), yaxis=dict(visible=False), height=200)
    return fig


def _padded_range(values: pd.Series) -> list[float]:
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.05 or 1.0
    return [low - pad, high + pad]


def _period_name(period) -> str:
    return pd.Timestamp(period).strftime("%Y-%m-%d")
