"""Pure plotting functions for forecast results: each takes frames and returns a plotly Figure."""

from __future__ import annotations

KIND_NAMES = {"trend": "trend calls (5 labels)", "yoy": "year-on-year direction (up / flat / down)"}


def plot_reliability(calibration, title: str = "Are the calls' probabilities honest?"):
    """Reliability diagram of a forecast run's ``calibration`` table (``ForecastRun.calibration``): per probability
    bin, the mean predicted probability against how often such calls came true on rolling-origin backtests, one line
    per kind (trend, yoy), marker area by the number of calls. Points on the diagonal are calibrated: calls made
    with 80 % came true 80 % of the time. An empty table gives an empty figure with a note."""
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                                line={"dash": "dash", "color": "grey"}, hoverinfo="skip"))
    if calibration is None or len(calibration) == 0:
        figure.add_annotation(text="no backtest origins to check the calls on (the history is too short)",
                              x=0.5, y=0.5, showarrow=False)
    else:
        for kind, rows in calibration.groupby("kind", sort=False):
            rows = rows.sort_values("predicted")
            size = 6 + 24 * (rows["calls"] / max(float(calibration["calls"].max()), 1.0)) ** 0.5
            figure.add_trace(go.Scatter(
                x=rows["predicted"], y=rows["observed"], mode="lines+markers", name=KIND_NAMES.get(kind, str(kind)),
                marker={"size": size}, customdata=rows[["calls", "bin_lo", "bin_hi"]].to_numpy(),
                hovertemplate="predicted %{x:.0%}<br>came true %{y:.0%}<br>%{customdata[0]} calls "
                              "(bin %{customdata[1]:.0%}-%{customdata[2]:.0%})<extra></extra>",
            ))
    figure.update_layout(title=title, xaxis_title="predicted probability", yaxis_title="observed frequency",
                         xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"range": [0, 1], "tickformat": ".0%"},
                         template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return figure
