"""`trendgan check [--repair]`: verify the store and, when asked, repair it (trendgan.check)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from trendgan.cli._util import QuietOption, StoreOption, TrendganTyper, setup
from trendgan.console import escape, is_quiet


def register(app: TrendganTyper) -> None:
    app.command("check")(check_command)


def check_command(
    repair: Annotated[bool, typer.Option("--repair", help="Move damaged files to <store>/damaged/, remove half-written runs and temporary files, mark dead runs interrupted.")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="Read Parquet footers and checkpoint directories only, not every row.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object on stdout.")] = False,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Check the store: catalog, vector parts, run folders, runs stuck at running, temporary files. Exit 1 while
    damage remains."""
    setup(quiet)
    from trendgan.check import check_store, repair_store

    report = repair_store(store, quick=quick) if repair else check_store(store, quick=quick)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    elif not is_quiet() or report.damage:
        _print(report, repair)
    if report.damage:
        raise typer.Exit(1)


def _print(report, repaired: bool) -> None:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)  # one finding, one line: easy to grep
    counts = report.counts
    looked = (f"{counts.get('catalog_images', 0):,} images, {counts.get('vector_parts', 0):,} vector parts "
              f"({counts.get('vectors', 0):,} vectors), {counts.get('runs', 0):,} run folders")
    for finding in report.findings:
        if finding.repaired:
            out.print(f"[green]repaired[/] {escape(finding.message)}: {escape(finding.fix)}")
        elif finding.severity == "damage":
            out.print(f"[bold red]damaged[/] {escape(finding.message)}"
                      + (f" (`--repair` will {escape(finding.fix)})" if finding.fix and not repaired else ""))
        elif finding.severity == "litter":
            out.print(f"[yellow]left behind[/] {escape(finding.message)}"
                      + (f" (`--repair` will {escape(finding.fix)})" if finding.fix and not repaired else ""))
        else:
            out.print(f"[dim]note[/] {escape(finding.message)}")
    if report.damage:
        verdict = f"[bold red]{len(report.damage)} damaged[/]"
    elif report.litter:
        verdict = f"[yellow]usable; {len(report.litter)} things left behind by killed runs[/] (`trendgan check --repair`)"
    else:
        verdict = "[green]ok[/]"
    out.print(f"{escape(report.store)}: {verdict} · checked {looked}")
