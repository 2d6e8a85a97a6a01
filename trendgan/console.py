"""Messages and progress bars: rich on a terminal, quiet and clean when piped or with --quiet."""

from __future__ import annotations

import contextlib
from typing import Iterator

from rich.console import Console

_state = {"quiet": False}
console = Console(stderr=True, highlight=False)


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = bool(quiet)


def is_quiet() -> bool:
    return _state["quiet"]


def say(message: str) -> None:
    """An informational line on stderr (suppressed by --quiet). Rich markup allowed; escape untrusted text."""
    if not _state["quiet"]:
        console.print(message)


class _Ticker:
    def __init__(self, progress=None, task=None):
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, **fields) -> None:
        """Update the description or extra fields, e.g. ``update(description="loss 0.3")``."""
        if self._progress is not None:
            self._progress.update(self._task, **fields)


def _RateColumn(unit: str):
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f} {unit}/s" if speed else f"- {unit}/s")

    return RateColumn()


@contextlib.contextmanager
def progress(total: int | None, description: str, unit: str = "images") -> Iterator[_Ticker]:
    """A progress bar with counts and rate; nothing at all when quiet or when stderr is not a terminal."""
    if _state["quiet"] or not console.is_terminal:
        yield _Ticker()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield _Ticker(bar, task)


def escape(text: object) -> str:
    """Escape untrusted text (file names, captions) for rich markup."""
    from rich.markup import escape as _escape

    return _escape(str(text))
