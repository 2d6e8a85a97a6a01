"""`trendgan report`: write the HTML trend report (plus JSON and CSV) for a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trendgan.cli._util import QuietOption, StoreOption, setup


def register(app: typer.Typer) -> None:
    app.command("report", help="Write the trend report: one HTML page that opens offline, plus .json and .csv beside it.")(report)


def report(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file to write (default <store>/reports/trend-report.html).",
                                                show_default=False)] = None,
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "Trend report",
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write the trend report: one HTML page that opens offline, plus .json and .csv beside it; print its calls."""
    setup(quiet)
    from trendgan.console import escape, is_quiet, say
    from trendgan.report import write_report

    path = write_report(store, out, title=title)
    if not is_quiet():
        from trendgan.cli._tables import print_calls
        from trendgan.report.data import gather
        from trendgan.store import Store

        data = gather(Store(store))
        print_calls(data.calls, data.horizon, data.period)
    say(f"[green]report[/] {escape(path)}  (numbers in {escape(path.with_suffix('.json').name)}, "
        f"forecast table in {escape(path.with_suffix('.csv').name)})")
    typer.echo(str(path))
