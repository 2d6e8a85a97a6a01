"""`trendgan train`, `trendgan render`, `trendgan evaluate-gan`: the conditional GAN."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trendgan.cli._util import DeviceOption, QuietOption, SeedOption, StoreOption, setup
from trendgan.console import console, escape, out, say


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        config: Annotated[str, typer.Option("--config", help="GAN config: gan-32-lite (CPU default), gan-32, gan-64, gan-128 (GPU), gan-tiny-16 (tests), or a JSON path.")] = "gan-32-lite",
        steps: Annotated[Optional[int], typer.Option("--steps", help="Train until this step (default: the config's).", show_default=False)] = None,
        minutes: Annotated[Optional[float], typer.Option("--minutes", help="Train for this many minutes of wall clock instead.", show_default=False)] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the latest GAN run (finished or interrupted) from its checkpoint.")] = False,
        store: StoreOption = None,
        device: DeviceOption = "auto",
        seed: SeedOption = 0,
        quiet: QuietOption = False,
    ) -> None:
        """Train the style-conditioned GAN on the store's images, each conditioned on its own embedding."""
        setup(quiet)
        if steps is not None and minutes is not None:
            raise typer.BadParameter("give --steps or --minutes, not both")
        from trendgan.gan.train import train_gan

        result = train_gan(store, config=config, steps=steps, minutes=minutes, resume=resume, device=device, seed=seed)
        losses = f"loss D {result.loss_d:.3f} · G {result.loss_g:.3f} · " if result.loss_d is not None else ""
        say(f"GAN {escape(result.config)} at step {result.step:,} (from {result.start_step:,}) · {losses}"
            f"{result.images_per_s:,.0f} images/s · {result.seconds:.0f}s")
        typer.echo(str(result.folder))

    @app.command("render")
    def render_command(
        forecast: Annotated[Optional[str], typer.Option("--forecast", help="Forecast run (default: the latest).", show_default=False)] = None,
        top: Annotated[int, typer.Option("--top", help="How many emerging or rising styles to render (largest change first).")] = 5,
        per_style: Annotated[int, typer.Option("--per-style", help="Images per style.")] = 8,
        gan: Annotated[Optional[str], typer.Option("--gan", help="GAN run (default: the latest finished).", show_default=False)] = None,
        store: StoreOption = None,
        device: DeviceOption = "auto",
        seed: SeedOption = 0,
        quiet: QuietOption = False,
    ) -> None:
        """Render the styles forecast to grow, from where each style's centroid is heading."""
        setup(quiet)
        from trendgan.gan import render

        result = render(store, forecast_run=forecast, top=top, per_style=per_style, seed=seed, gan_run=gan, device=device)
        if result.styles and not quiet:
            from rich.table import Table

            from trendgan.report.calls import fmt_change

            # render's index carries the labels' year-on-year change: shown under the name the report gives it
            table = Table("style", "name", "trend", "vs a year ago", "grid", box=None)
            for entry in result.styles:
                change = fmt_change(entry["change"])
                table.add_row(str(entry["style_id"]), escape(entry["name"]), entry["trend"], change, escape(entry["grid"]))
            out.print(table)
        say(f"rendered {result.images:,} images of {len(result.styles)} styles")
        if len(result.styles) < top:
            say(f"[yellow]adjusted: {len(result.styles)} of the {top} styles asked for[/]: only "
                f"{len(result.styles)} style(s) in the forecast carry a trend label that is rendered (emerging or rising); "
                "the report's leaderboards list every style")
        typer.echo(str(result.folder))

    @app.command("evaluate-gan")
    def evaluate_command(
        run: Annotated[Optional[str], typer.Option("--run", help="GAN run (default: the latest finished).", show_default=False)] = None,
        n: Annotated[int, typer.Option("-n", "--n", help="Images to render and compare with as many real ones.")] = 1000,
        store: StoreOption = None,
        device: DeviceOption = "auto",
        seed: SeedOption = 0,
        quiet: QuietOption = False,
    ) -> None:
        """Frechet distance, precision/recall and conditional consistency in the encoder's space."""
        setup(quiet)
        from trendgan.gan.metrics import evaluate_gan

        from trendgan.console import working

        with working(f"evaluating the GAN on {n:,} renders"):
            result = evaluate_gan(store, run=run, n=n, seed=seed, device=device)
        from rich.table import Table

        table = Table("metric", "value", box=None, title=f"GAN run {escape(result.folder.name)} at step {result.step:,}")
        for name, value in result.values.items():
            table.add_row(name, f"{value:.4f}")
        if not quiet:
            console.print(table)
        typer.echo(" ".join(f"{k}={v:.4f}" for k, v in result.values.items()))
