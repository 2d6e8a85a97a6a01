"""`trendgan embed`: a thin wrapper over trendgan.embed.embed."""

from __future__ import annotations

from typing import Annotated

import typer

from trendgan.cli._util import (
    DeviceOption,
    QuietOption,
    StoreOption,
    TrendganTyper,
    setup,
)
from trendgan.console import escape, is_quiet, out


def register(app: TrendganTyper) -> None:
    app.command("embed")(embed_command)


def embed_command(
    encoder: Annotated[str, typer.Option("--encoder", help="auto, effnet-lite0 (offline), clip:<arch>/<pretrained> "
                                         "(e.g. clip:ViT-B-32/laion2b_s34b_b79k) or clip:<arch>@<checkpoint file>.")] = "auto",
    device: DeviceOption = "auto",
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Images per forward pass (default 256 on GPU, 32 on CPU).", min=1)] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes decoding images while the model runs (default: up to 4 on CPU, 16 on GPU; 0 = none; Ray sizes its own).", min=0)] = None,
    engine: Annotated[str, typer.Option("--engine", help="local, or ray (Ray Data, from pip install 'trendgan\\[ray]'; RAY_ADDRESS picks a cluster).")] = "local",
    limit: Annotated[int | None, typer.Option("--limit", help="Embed at most this many images now; the rest on the next run.", min=1)] = None,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Embed every catalog image that has no vector for the encoder yet; an interrupted run resumes where it stopped."""
    setup(quiet)
    from trendgan.embed import embed

    result = embed(store, encoder=encoder, device=device, batch_size=batch_size, workers=workers, engine=engine, limit=limit)
    if is_quiet():
        return
    line = (f"[bold green]embedded[/] {result.embedded:,} images with [bold]{escape(result.encoder_key)}[/] "
            f"({result.dim}-d) in {result.seconds:.1f} s")
    if result.embedded:
        line += f", {result.images_per_second:,.1f} images/s on {escape(result.device)}"
    out.print(line, soft_wrap=True)
    out.print(f"  already embedded {result.already_embedded:,} · rejected {result.rejected:,} · missing {result.missing:,} "
                  f"· vectors now {result.total_vectors:,} in {escape(result.folder)}")
