import pytest
import pandas as pd
import plotly.graph_objects as go

from trendgan.report import plots



def test_overview_chart_has_history_and_forecast_per_style_and_no_merged_bands(synthetic):
    series = synthetic.series()
    fig = plots.plot_trends(series, synthetic.forecasts(series), synthetic.STYLES)
    assert isinstance(fig, go.Figure)
    groups = {t.legendgroup for t in fig.data}
    assert groups == {f"style-{s}" for s in synthetic.STYLES}  # one legend group per style, so the legend toggles a style
    per_style = [t for t in fig.data if t.legendgroup == "style-0"]
    assert [t.name for t in per_style] == ["0 · wide-leg denim", "0 · wide-leg denim forecast"]
    assert all(t.fill is None for t in fig.data)  # every style's bands at once merge into one block: not drawn here
    # Only the 'best' model is drawn, and the forecast line starts at the last observation.
    forecast = per_style[-1]
    assert len(forecast.x) == 1 + 4
    assert forecast.y[0] == series.loc[series.unique_id == 0, "y"].iloc[-1]
    with_bands = plots.plot_trends(series, synthetic.forecasts(series), synthetic.STYLES, bands=True)
    assert [t.name for t in with_bands.data if t.legendgroup == "style-0"][:2] == ["0 · wide-leg denim 95 %",
                                                                                   "0 · wide-leg denim 80 %"]


def test_style_panels_give_each_style_its_own_panel_colour_bands_and_title(synthetic):
    series = synthetic.series()
    colours = {0: "#2d8947", 1: "#bd1f2f", 2: "#171d5a", 3: "#dc6fa7"}
    titles = {0: "wide-leg denim · emerging +80%"}
    fig = plots.plot_style_panels(series, synthetic.forecasts(series), order=[3, 0, 1, 2], names=synthetic.STYLES,
                                  titles=titles, colours=colours, columns=2)
    annotations = [a.text for a in fig.layout.annotations]
    assert annotations[1] == "wide-leg denim · emerging +80%" and annotations[0].startswith("3 · puffer jacket")
    for style_id, colour in colours.items():
        traces = [t for t in fig.data if t.legendgroup == f"style-{style_id}"]
        assert len(traces) == 4  # its 95 % and 80 % bands, history and forecast: in its panel only
        bands = [t for t in traces if t.fill == "toself"]
        assert len(bands) == 2
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert all(t.fillcolor.startswith(f"rgba({r},{g},{b},") for t in bands)
        assert {t.xaxis for t in traces} == {traces[0].xaxis}  # one panel per style
    assert len({t.xaxis for t in fig.data}) == 4


def test_charts_draw_each_style_in_the_colour_given(synthetic):
    series = synthetic.series()
    colours = {0: "#2d8947", 1: "#bd1f2f", 2: "#171d5a", 3: "#dc6fa7"}
    fig = plots.plot_trends(series, synthetic.forecasts(series), synthetic.STYLES, colours=colours)
    for trace in fig.data:
        style_id = int(trace.legendgroup.split("-")[1])
        assert trace.line.color == colours[style_id]


def test_style_names_are_escaped_in_figures(synthetic):
    series = synthetic.series()
    fig = plots.plot_trends(series, synthetic.forecasts(series), synthetic.STYLES)
    names = " ".join(t.name for t in fig.data)
    assert synthetic.BAIT not in names
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names


def test_trend_chart_without_forecast_draws_history_only(synthetic):
    fig = plots.plot_trends(synthetic.series(), None, synthetic.STYLES)
    assert len(fig.data) == len(synthetic.STYLES)
    assert all(t.fill is None for t in fig.data)
    assert plots.plot_style_panels(pd.DataFrame(columns=["unique_id", "ds", "y"]), None).layout.annotations[0].text == "No styles yet"


def test_top_movers_ranks_by_absolute_change(synthetic):
    assert plots.top_movers(synthetic.labels(), n=2) == [0, 3]
    series = synthetic.series()
    fig = plots.plot_top_movers(series, synthetic.forecasts(series), synthetic.labels(), synthetic.STYLES, n=3)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("0 · wide-leg denim") and "+80%" in titles[0]
    assert "declining -50%" in titles[1]


def test_style_map_has_one_trace_per_style_and_a_slider_step_per_period():
    rows = [dict(image_id=str(i), x=float(i), y=float(i % 3), style_id=i % 3, ds=pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=i % 4))
            for i in range(40)]
    fig = plots.plot_style_map(pd.DataFrame(rows), {0: "a", 1: "b", 2: "c"})
    assert [t.name for t in fig.data] == ["0 · a", "1 · b", "2 · c"]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["all", "2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert steps[0].args[0]["selectedpoints"] == [None, None, None]
    # Step 2024-01-01 selects, in each style's trace, exactly the images of that week (i % 4 == 0).
    for trace, selected in zip(fig.data, steps[1].args[0]["selectedpoints"]):
        assert sorted(trace.x[j] for j in selected) == [float(i) for i in range(40) if i % 4 == 0 and i % 3 == int(trace.name[0])]
    assert sum(len(sel) for step in steps[1:] for sel in step.args[0]["selectedpoints"]) == 40  # each image once


def test_style_map_samples_large_maps_reproducibly():
    rows = pd.DataFrame(dict(image_id=range(500), x=range(500), y=range(500), style_id=[i % 5 for i in range(500)],
                             ds=pd.Timestamp("2024-01-01")))
    a = plots.plot_style_map(rows, max_points=100, seed=1)
    b = plots.plot_style_map(rows, max_points=100, seed=1)
    assert sum(len(t.x) for t in a.data) == 100
    assert [list(t.x) for t in a.data] == [list(t.x) for t in b.data]


def test_backtest_quality_marks_seasonal_naive_as_baseline(synthetic):
    summary = plots.backtest_summary(synthetic.backtests())
    assert summary["model"].tolist() == ["best", "ets", "snaive"]
    assert abs(summary.loc[summary.model == "snaive", "mase"].iloc[0] - 1.025) < 1e-9
    fig = plots.plot_backtest_quality(synthetic.backtests())
    assert fig.layout.shapes[0].y0 == summary["mase"].iloc[-1]  # the dotted line sits at seasonal naive's MASE


def test_rejects_and_period_volume(synthetic):
    fig = plots.plot_rejects({"corrupt": 3, "not_an_image": 5})
    assert list(fig.data[0].x) == ["not_an_image", "corrupt"]
    volume = plots.period_volume(synthetic.series())
    assert volume["low_volume"].tolist()[:2] == [True, False]
    fig = plots.plot_period_volume(synthetic.series())
    assert list(fig.data[0].y)[:2] == [3, 40]


def test_empty_inputs_give_a_message_not_an_error():
    assert plots.plot_backtest_quality(None).layout.annotations[0].text == "No backtests yet"
    assert plots.plot_style_map(pd.DataFrame()).layout.annotations[0].text == "No style map yet"
    assert plots.plot_rejects({}).layout.annotations[0].text == "No rejected files"


def test_long_noisy_histories_get_a_moving_average_over_a_faint_raw_line(synthetic):
    series = synthetic.series(40)
    fig = plots.plot_trends(series, None, synthetic.STYLES)
    per_style = [t for t in fig.data if t.legendgroup == "style-0"]
    raw, smooth = per_style
    assert smooth.name == "0 · wide-leg denim (4-period mean)"
    assert smooth.showlegend and not raw.showlegend  # the legend shows the bold line it toggles
    history = series[series.unique_id == 0].sort_values("ds")["y"]
    assert smooth.y[-1] == pytest.approx(history.tail(4).mean())
    assert raw.line.color.startswith("rgba(")  # the raw line fades behind the average
