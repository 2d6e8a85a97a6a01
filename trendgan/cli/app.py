"""The `trendgan` command. Each command group lives in its own module with a ``register(app)`` function.

Imports here stay light (no torch, no pandas) so ``trendgan --help`` is instant.
"""

from __future__ import annotations

import importlib

import typer

from trendgan.cli._util import TrendganTyper

app = TrendganTyper(
    name="trendgan",
    help="Fashion trend forecasting: ingest dated images, find styles, forecast them, render what will trend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One module per command group, in pipeline order. A module that is missing (work in progress) is skipped.
COMMAND_MODULES = (
    "ingest",      # ingest, status
    "simulate",    # simulate
    "embed",       # embed
    "styles",      # styles
    "forecast",    # forecast
    "gan",         # train, render, evaluate-gan
    "design",      # restyle, design
    "report",      # report
    "pipeline",    # run, demo
    "check",       # check
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"trendgan.cli.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"trendgan.cli.{_name}":
            raise
        continue
    _module.register(app)


def _print_version(value: bool) -> None:
    # An eager option with a callback runs while the options are parsed, before Click asks for a command.
    if value:
        from trendgan import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=_print_version, metavar=""),
) -> None:
    """Fashion trend forecasting: ingest dated images, find styles, forecast them, render what will trend."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
