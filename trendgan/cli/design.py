"""`trendgan restyle` and `trendgan design`: designs for people. Thin wrappers over trendgan.design."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from trendgan.cli._util import DeviceOption, QuietOption, SeedOption, StoreOption, setup
from trendgan.console import escape, is_quiet, out


def register(app: typer.Typer) -> None:
    app.command("restyle")(restyle_command)
    app.command("design")(design_command)


def restyle_command(
    garment: Annotated[Path, typer.Argument(help="Photo of the garment to restyle.", show_default=False)],
    to: Annotated[str, typer.Option("--to", help="Target: a style id or name, an image path, or a text prompt (CLIP only).", show_default=False)],
    strength: Annotated[Optional[List[float]], typer.Option("--strength", help="0 keeps the garment, 1 takes the target's look; repeat for several.")] = None,
    n: Annotated[int, typer.Option("--n", help="Variants per strength.")] = 4,
    mode: Annotated[str, typer.Option("--mode", help="gan (invert the trained generator) or transfer (neural style transfer, no GAN needed).")] = "gan",
    steps: Annotated[Optional[int], typer.Option("--steps", help="Optimisation steps (default 200 for gan, 80 for transfer).", show_default=False)] = None,
    gan_run: Annotated[Optional[str], typer.Option("--gan-run", help="GAN run to use (default: the latest).", show_default=False)] = None,
    store: StoreOption = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
) -> None:
    """Keep a garment's silhouette and give it the look of a style, an image or a prompt."""
    setup(quiet)
    from trendgan.design import restyle
    from trendgan.store import Store

    result = restyle(Store(store), garment, to, strength=strength or [0.7], n=n, mode=mode, seed=seed, steps=steps,
                     gan_run=gan_run, device=device)
    if is_quiet():
        typer.echo(str(result.folder))
        return
    out.print(f"[bold]restyled[/] {escape(garment.name)} toward {escape(result.target['label'])} "
                  f"({result.target['kind']}, {result.mode} mode) -> {escape(result.folder)}", soft_wrap=True)
    if result.reconstruction_ssim is not None:
        out.print(f"  garment redrawn by the generator: SSIM {result.reconstruction_ssim:.3f}")
    for s in result.strengths:
        rows = [f for f in result.files if f["strength"] == s]
        best = max(rows, key=lambda f: f["cos_target"])
        out.print(f"  strength {s:.2f}: {len(rows)} renders, best cosine to target {best['cos_target']:.3f}, "
                      f"SSIM to garment {best['ssim_garment']:.3f}")


def design_command(
    like: Annotated[Optional[List[Path]], typer.Option("--like", help="An image the person likes; repeat for several.", show_default=False)] = None,
    prompt: Annotated[Optional[str], typer.Option("--prompt", help="Words for the look (needs a CLIP encoder).", show_default=False)] = None,
    trend_weight: Annotated[float, typer.Option("--trend-weight", help="0..1: pull toward the styles forecast to emerge or rise.")] = 0.0,
    n: Annotated[int, typer.Option("--n", help="Designs to keep (four times as many are rendered and ranked).")] = 8,
    gan_run: Annotated[Optional[str], typer.Option("--gan-run", help="GAN run to use (default: the latest).", show_default=False)] = None,
    forecast_run: Annotated[Optional[str], typer.Option("--forecast-run", help="Forecast run for the trend (default: the latest).", show_default=False)] = None,
    store: StoreOption = None,
    seed: SeedOption = 0,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
) -> None:
    """Render designs from the images a person likes, optionally pulled toward what is forecast to trend."""
    setup(quiet)
    from trendgan.design import design_for
    from trendgan.store import Store

    result = design_for(Store(store), liked=like or [], prompt=prompt, trend_weight=trend_weight, n=n, seed=seed,
                        gan_run=gan_run, forecast_run=forecast_run, device=device)
    if is_quiet():
        typer.echo(str(result.folder))
        return
    out.print(f"[bold]{len(result.files)} designs[/] (best of {result.candidates}) -> {escape(result.folder)}",
                  soft_wrap=True)
    if result.trend_styles:
        out.print("  pulled toward: " + ", ".join(escape(s["name"]) for s in result.trend_styles))
    for entry in result.files[:3]:
        out.print(f"  {entry['file']}: score {entry['score']:.3f} (taste {entry['cos_taste']:.3f})")
