"""`trendgan train`, `trendgan render`, `trendgan evaluate-gan`: the conditional GAN."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trendgan.cli._util import DeviceOption, QuietOption, SeedOption, StoreOption, setup
from trendgan.console import console, escape, out, say


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        config: Annotated[str, typer.Option("--config", help="GAN config (see `trendgan gan-configs`): proj-32 (CPU default), proj-64, proj-128 (GPU), gan-32-lite (the earlier default), or a JSON path.")] = "proj-32",
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
        if result is None:  # a torchrun process other than 0: process 0 reports the run
            return
        losses = f"loss D {result.loss_d:.3f} · G {result.loss_g:.3f} · " if result.loss_d is not None else ""
        say(f"GAN {escape(result.config)} at step {result.step:,} (from {result.start_step:,}) · {losses}"
            f"{result.images_per_s:,.0f} images/s · {result.seconds:.0f}s")
        typer.echo(str(result.folder))

    @app.command("render")
    def render_command(
        forecast: Annotated[Optional[str], typer.Option("--forecast", help="Forecast run (default: the latest).", show_default=False)] = None,
        top: Annotated[int, typer.Option("--top", help="How many of the chosen styles to render (largest change first).")] = 5,
        per_style: Annotated[int, typer.Option("--per-style", help="Images per style.")] = 8,
        trend: Annotated[Optional[list[str]], typer.Option("--trend", help="Render styles with this trend label (repeat it; default: emerging and rising), or 'all'. The report shows the latest render run, so ask for every label it should show: --trend all --top 20.", show_default=False)] = None,
        gan: Annotated[Optional[str], typer.Option("--gan", help="GAN run (default: the latest finished).", show_default=False)] = None,
        store: StoreOption = None,
        device: DeviceOption = "auto",
        seed: SeedOption = 0,
        quiet: QuietOption = False,
    ) -> None:
        """Render the styles forecast to grow (or those of the --trend labels asked for), from where each style's
        centroid is heading."""
        setup(quiet)
        from trendgan.gan import render
        from trendgan.gan.renders import GROWING

        result = render(store, forecast_run=forecast, top=top, per_style=per_style, seed=seed, gan_run=gan,
                        device=device, trends=tuple(trend or GROWING))
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

    @app.command("gan-configs")
    def configs_command(quiet: QuietOption = False) -> None:
        """List the built-in GAN configs with their image size, networks and default length."""
        setup(quiet)
        from rich.table import Table

        from trendgan.gan.config import describe_configs

        table = Table("config", "image size", "generator", "discriminator", "batch", "steps", box=None)
        rows = describe_configs()
        for row in rows:
            table.add_row(row["name"], f"{row['image_size']} px", row["generator"], row["discriminator"],
                          str(row["batch"]), f"{row['steps']:,}")
        if not quiet:
            out.print(table)
        else:
            typer.echo("\n".join(f"{r['name']} {r['image_size']}" for r in rows))

    @app.command("evaluate-gan")
    def evaluate_command(
        run: Annotated[Optional[str], typer.Option("--run", help="GAN run (default: the latest finished).", show_default=False)] = None,
        n: Annotated[int, typer.Option("-n", "--n", help="Images to render and compare with as many real ones.")] = 1000,
        judge: Annotated[str, typer.Option("--judge", help="Labels for the independent judge: 'styles' (the styles run's), a CSV of path,label, or 'none'.")] = "styles",
        store: StoreOption = None,
        device: DeviceOption = "auto",
        seed: SeedOption = 0,
        quiet: QuietOption = False,
    ) -> None:
        """FD, precision/recall and conditional consistency in the encoder's space, and the same (plus the Inception
        Score) in the space of an independent judge trained on the real images' labels."""
        setup(quiet)
        from trendgan.gan.metrics import evaluate_gan

        from trendgan.console import working

        with working(f"evaluating the GAN on {n:,} renders"):
            result = evaluate_gan(store, run=run, n=n, seed=seed, device=device,
                                  judge=None if judge.lower() == "none" else judge)
        from rich.table import Table

        table = Table("metric", "value", box=None, title=f"GAN run {escape(result.folder.name)} at step {result.step:,}")
        for name, value in result.values.items():
            table.add_row(name, f"{value:.4f}")
        if not quiet:
            console.print(table)
            if result.judge and result.judge.get("judge"):
                held = result.judge.get("held_out_accuracy")
                say(f"judge_* values: {escape(result.judge['judge'])} ({result.judge['fitted_on']:,} real images at "
                    f"{result.judge['image_size']} px" + (f", held-out accuracy {held:.3f})" if held is not None else ")"))
            elif result.judge:
                say(f"no judge: {escape(result.judge.get('skipped', ''))}")
        typer.echo(" ".join(f"{k}={v:.4f}" for k, v in result.values.items()))
