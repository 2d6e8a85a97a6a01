"""What every command shares: the store, quiet, seed, device and period options; clean help; library errors as one line.

Like spaCy's CLI: each command is a Typer function that parses options and calls one library function.
"""

from __future__ import annotations

import functools
import typing
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from trendgan.console import console, escape, set_quiet
from trendgan.errors import TrendganError

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", envvar="TRENDGAN_STORE", help="Store folder (default ./trendgan-store).", show_default=False),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or chatter; results and errors still print.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: same inputs and seed, same results.")]
DEVICE_DEFAULT = "auto"
DeviceOption = Annotated[str, typer.Option("--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps.")]
EngineOption = Annotated[str, typer.Option("--engine", help="local, or ray (a Ray cluster: RAY_ADDRESS, else a local Ray instance; pip install 'trendgan\\[ray]').")]

# ---------------------------------------------------------------------------------------------------- clean help


def _metavar(param) -> str | None:
    """What --help shows after an option or for an argument: nothing for a flag, PATH / TEXT / INTEGER / NUMBER
    for a value (click's words), the argument's own name in capitals."""
    if isinstance(param, TyperArgument):
        return param.name.upper()
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    annotation = param.type_descriptor.annotation if hasattr(param, "type_descriptor") else None
    while typing.get_origin(annotation) in (list, typing.Union) or str(typing.get_origin(annotation)) == "<class 'types.UnionType'>":
        annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), str)
    words = {int: "INTEGER", float: "NUMBER", bool: "", Path: "PATH", str: "TEXT"}
    return words.get(annotation, "TEXT")


class _NamedArgument(TyperArgument):
    """An argument shown by its name alone (``OUT``, ``PATHS...``): the help says what it is, not ``<path>``."""

    def display_type_rich(self, ctx):
        return None


def _clean_params(params) -> None:
    for param in params:
        if isinstance(param, TyperArgument) and type(param) is TyperArgument:
            param.__class__ = _NamedArgument  # same state, one method different
        if isinstance(param, (TyperOption, TyperArgument)) and param.metavar is None:
            param.metavar = _metavar(param)


def _clean_help_option(option):
    if option is not None and getattr(option, "metavar", None) is None:
        option.metavar = ""
    return option


class TrendganGroup(TyperGroup):
    """The top-level ``trendgan`` group, with the same clean help as its commands."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _clean_params(self.params)

    def get_help_option(self, ctx):
        return _clean_help_option(super().get_help_option(ctx))


class TrendganCommand(TyperCommand):
    """A Typer command whose help reads like a plain CLI's: ``--store PATH``, ``--quiet`` (no ``<bool>``),
    repeatable options without ``<list[...]>``, and arguments in the usage line as ``OUT`` / ``[PATHS]...``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _clean_params(self.params)

    def get_help_option(self, ctx):
        return _clean_help_option(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or param.name.upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces


class TrendganTyper(typer.Typer):
    """A Typer app whose commands have clean help and turn TrendganError into one line on stderr and exit code 1."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("cls", TrendganGroup)
        super().__init__(*args, **kwargs)

    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", TrendganCommand)
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
