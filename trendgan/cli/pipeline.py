"""`trendgan run PIPELINE.toml` (the stages in order, unchanged ones skipped) and `trendgan demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from trendgan.cli._util import QuietOption, SeedOption, StoreOption, setup

STAGE_NAMES = "simulate, ingest, embed, styles, forecast, train, render, report"


def register(app: typer.Typer) -> None:
    app.command("run", help="Run a pipeline file's stages in order; a stage whose settings and inputs are unchanged is skipped.")(run)
    app.command("demo", help="Simulate garments with known trends, run every stage on the CPU, write the report and "
                             "show how well the forecast recovered the truth.")(demo)


def run(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline TOML, e.g. pipelines/weekly.toml.", show_default=False)],
    from_stage: Annotated[Optional[str], typer.Option("--from", help=f"First stage to run (it always reruns): {STAGE_NAMES}.",
                                                      show_default=False)] = None,
    until_stage: Annotated[Optional[str], typer.Option("--until", help="Last stage to run.", show_default=False)] = None,
    overrides: Annotated[Optional[List[str]], typer.Option("--set", help="Override a setting: --set styles.k=12 (repeatable).",
                                                           show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Rerun every selected stage even if nothing changed.")] = False,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    setup(quiet)
    from trendgan.pipeline import run_pipeline

    result = run_pipeline(pipeline, store=store, from_stage=from_stage, until_stage=until_stage, overrides=overrides, force=force)
    _print_outcomes(result)


def demo(
    store: Annotated[Optional[Path], typer.Option("--store", help="Store folder for the demo (default ./trendgan-demo).",
                                                  show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder (or .html file) for the report (default <store>/reports/).",
                                                show_default=False)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A smaller corpus and a shorter GAN run (about a third of the time).")] = False,
    overrides: Annotated[Optional[List[str]], typer.Option("--set", help="Override a demo setting: --set train.steps=3000 "
                                                           "(see pipelines/demo.toml).", show_default=False)] = None,
    seed: SeedOption = 0,
    quiet: QuietOption = False,
) -> None:
    setup(quiet)
    from trendgan.demo import run_demo

    result = run_demo(store=store, out=out, quick=quick, seed=seed, overrides=overrides)
    _print_outcomes(result.pipeline)
    _print_recovery(result)
    typer.echo(str(result.report))


def _print_outcomes(result) -> None:
    from trendgan.console import escape, say

    parts = []
    for outcome in result.stages:
        if outcome.status == "ran":
            parts.append(f"[green]{outcome.stage}[/] {outcome.seconds:.0f}s")
        elif outcome.status == "skipped":
            parts.append(f"[dim]{outcome.stage} unchanged[/]")
    say("stages: " + ", ".join(parts))
    say(f"settings saved in {escape(result.folder / 'pipeline.json')}")


def _print_recovery(result) -> None:
    from rich.table import Table

    from trendgan.console import escape, is_quiet, out

    if is_quiet():
        return
    table = Table(title="How well the forecast recovered the simulated truth", title_justify="left")
    for column in ("simulated style", "true trend", "forecast", "", "found as", "share MAE", "forecast MAE"):
        table.add_column(column, justify="right" if "MAE" in column else "left", no_wrap=column != "simulated style")
    for row in result.recovery.itertuples(index=False):
        found = "not found" if row.style_id is None else f"#{row.style_id} ({row.coverage:.0%})"
        table.add_row(escape(row.label), row.true_trend, escape(row.forecast_trend or "–"),
                      "[green]✓[/]" if row.match else "[red]✗[/]", escape(found), _pct(row.share_mae), _pct(row.forecast_mae))
    out.print(table)
    out.print("[dim]found as: the style holding most of the simulated style's images (that share in brackets); "
                  "MAE in share points: observed share vs true share, forecast vs the true held-out future[/]")
    recovery = result.recovery
    # The true trend is the forecast's own rule on the true shares; over a horizon shorter than the holdout the
    # same rule can say otherwise, and then that count is shown too.
    shorter = (recovery["rule_trend"].notna() & (recovery["rule_trend"] != recovery["true_trend"])).any()
    aside = (f" ({int(recovery['rule_match'].sum())} of {len(recovery)} against the true shares over the forecast's "
             "horizon only)") if shorter else ""
    out.print(f"trend labels recovered: [bold]{int(recovery['match'].sum())} of {len(recovery)}[/] simulated styles"
                  f"{aside}; demo took {result.seconds / 60:.1f} min")
    out.print(f"report: [bold]{escape(result.report)}[/]")


def _pct(value) -> str:
    return "–" if value is None or value != value else f"{value * 100:.1f}"
