"""`trendgan simulate`: write a dated corpus with known ground truth (demo, tests, evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trendgan.cli._util import QuietOption, SeedOption, setup
from trendgan.console import escape, say, show


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        out: Annotated[Path, typer.Argument(help="Folder to write the corpus into (absent or empty).", show_default=False)],
        scenario: Annotated[Optional[Path], typer.Option("--scenario", help="Scenario TOML (default: the built-in garments demo, as in pipelines/scenarios/garments-demo.toml).", show_default=False)] = None,
        seed: SeedOption = 0,
        size: Annotated[Optional[int], typer.Option("--size", help="Image size in pixels (garments default 64; photo sets keep theirs).", show_default=False)] = None,
        periods: Annotated[Optional[int], typer.Option("--periods", help="Observed periods (overrides the scenario).", show_default=False)] = None,
        per_period: Annotated[Optional[int], typer.Option("--per-period", help="Images per period, all sources together.", show_default=False)] = None,
        start: Annotated[Optional[str], typer.Option("--start", help="First period, YYYY-MM-DD.", show_default=False)] = None,
        data: Annotated[Optional[Path], typer.Option("--data", help="Labelled set folder, replacing the scenario's [images] path.", show_default=False)] = None,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier simulated corpus in OUT.")] = False,
        quiet: QuietOption = False,
    ) -> None:
        """Simulate dated fashion images whose true style shares and trends are known; ready for `trendgan ingest`."""
        setup(quiet)
        from trendgan.simulate import simulate

        result = simulate(out, scenario, seed=seed, size=size, periods=periods, per_period=per_period, start=start,
                          data=data, overwrite=overwrite)
        say(f"simulated {result.images:,} images of {len(result.trends)} labels over {result.periods} periods "
            f"({result.period}, {result.start} .. {result.end}) in {result.seconds:.1f}s")
        say("sources: " + ", ".join(f"{escape(name)} {count:,}" for name, count in result.sources.items()))
        if not quiet:
            from rich.table import Table

            table = Table("label", "true trend", box=None)
            for label, trend in result.trends.items():
                table.add_row(escape(label), trend)
            show(table)
        say(f"next: {escape(result.ingest_command())}")
        typer.echo(str(result.out))
