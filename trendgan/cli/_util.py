"""What every command shares: the store and quiet options, and turning library errors into one clean line.

Like spaCy's CLI: each command is a Typer function that parses options and calls one library function.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Optional

import typer

from trendgan.console import console, escape, set_quiet
from trendgan.errors import TrendganError

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", envvar="TRENDGAN_STORE", help="Store folder (default ./trendgan-store).", show_default=False),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter; errors still print.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: same inputs and seed, same results.")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps.")]
EngineOption = Annotated[str, typer.Option("--engine", help="local, or ray (a Ray cluster: RAY_ADDRESS, else a local Ray instance; pip install 'trendgan\\[ray]').")]


class TrendganTyper(typer.Typer):
    """A Typer app whose commands turn TrendganError into one line on stderr and exit code 1."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)

        def decorator(fn):
            @functools.wraps(fn)
            def wrapper(*a, **kw):
                try:
                    return fn(*a, **kw)
                except TrendganError as exc:
                    console.print(f"[bold red]error:[/] {escape(exc)}", soft_wrap=True)
                    raise typer.Exit(1) from None
                except KeyboardInterrupt:
                    console.print("[yellow]interrupted[/]: finished work is kept; run the same command again to resume")
                    raise typer.Exit(130) from None

            register(wrapper)
            return fn

        return decorator


def setup(quiet: bool = False) -> None:
    """Per-command setup shared by all commands."""
    set_quiet(quiet)
