"""The trend report: pure plotting functions on contract frames, and one function writing the HTML page.

    from trendgan.report import write_report, plot_trends
    path = write_report(store)                     # <store>/reports/trend-report.html (+ .json, .csv)
    plot_trends(series, forecasts, names).show()   # any chart on its own, from frames
"""

from trendgan.report.data import ReportData, gather
from trendgan.report.html import forecast_table, render_page, report_numbers, thumbnail_data_uri, write_report
from trendgan.report.plots import (
    backtest_summary,
    plot_backtest_quality,
    plot_period_volume,
    plot_rejects,
    plot_style_map,
    plot_top_movers,
    plot_trends,
    safe_label,
    top_movers,
)

__all__ = [
    "ReportData", "gather", "write_report", "render_page", "report_numbers", "forecast_table", "thumbnail_data_uri",
    "plot_trends", "plot_top_movers", "plot_style_map", "plot_backtest_quality", "plot_rejects",
    "plot_period_volume", "backtest_summary", "top_movers", "safe_label",
]
