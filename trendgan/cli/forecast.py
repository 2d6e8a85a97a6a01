"""`trendgan forecast`: forecast every style's share, backtest the models, label each style's trend."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trendgan.cli._util import EngineOption, QuietOption, StoreOption, setup
from trendgan.console import escape, say


def register(app: typer.Typer) -> None:
    @app.command("forecast")
    def forecast_command(
        horizon: Annotated[Optional[int], typer.Option("--horizon", help="Periods ahead (default: one season, e.g. 52 weeks).", show_default=False)] = None,
        models: Annotated[Optional[str], typer.Option("--models", help="Comma-separated: snaive,naive,drift,ses,theta,damped,ets,arima,arimax,ensemble (default snaive,ses,theta,damped,ensemble).", show_default=False)] = None,
        backtest_windows: Annotated[int, typer.Option("--backtest-windows", help="Rolling-origin windows per series used to score and weigh models.")] = 3,
        styles_run: Annotated[Optional[str], typer.Option("--styles-run", help="Styles run to forecast (default: the latest).", show_default=False)] = None,
        no_leading: Annotated[bool, typer.Option("--no-leading", help="Ignore the leading sources' signal even where it helps.")] = False,
        jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes; -1 uses all cores.")] = -1,
        engine: EngineOption = "local",
        store: StoreOption = None,
        quiet: QuietOption = False,
    ) -> None:
        """Forecast each style's share with intervals and label it emerging, rising, stable, seasonal or declining."""
        setup(quiet)
        from trendgan.forecast.stage import forecast

        chosen = [m for m in models.split(",")] if models else None
        result = forecast(store, styles_run=styles_run, horizon=horizon, models=chosen, backtest_windows=backtest_windows,
                          n_jobs=jobs, use_leading=not no_leading and "auto", engine=engine)
        summary = result.summary
        say(f"forecast {summary['series']} styles {summary['horizon']} periods ahead "
            f"({summary['backtest_windows']} backtest windows) in {summary['seconds']:.1f}s")
        if summary["backtest_windows"] < backtest_windows:
            say(f"[yellow]adjusted: {summary['backtest_windows']} of the {backtest_windows} backtest windows asked for fit "
                f"in {summary['periods']} periods of history[/] (each holds out {summary['horizon']} periods and the "
                "models need the history before it); a shorter --horizon or more history gives more")
        scores = ", ".join(f"{escape(k)} {v:.3f}" for k, v in summary["mase"].items() if v is not None)
        if scores:
            say(f"backtest MASE: {scores}")
        if summary["leading"].get("used"):
            say("leading sources' signal used (it lowered backtest error)")
        origins = summary.get("calls", {}).get("backtest_origins") or []
        if origins:
            say(f"trend calls calibrated on {len(origins)} rolling origins (calibration.parquet)")
        if summary["failures"]:
            say(f"[yellow]{summary['failures']} model fit(s) failed and fell back to seasonal naive[/] (see failures.parquet)")
        if not quiet:
            from trendgan.cli._tables import print_calls
            from trendgan.report.data import gather
            from trendgan.store import Store

            data = gather(Store(store), forecast_run=result.folder.name)
            print_calls(data.calls, data.horizon, data.period)
        typer.echo(str(result.folder))
