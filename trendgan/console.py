"""Messages and progress: rich on a terminal; plain, unwrapped lines when piped; nothing but errors with --quiet.

Three rules a script reading trendgan's output relies on:

- results go to stdout (``out``), chatter and progress to stderr (``console``);
- when a stream is not a terminal nothing is wrapped or cut to 80 columns: a path or a table row stays on one line;
- when stderr is not a terminal, long work prints one plain progress line every ``PROGRESS_EVERY`` seconds instead of
  a bar (a log file of a 30-minute training run shows it moving).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterator

from rich.console import Console, ConsoleDimensions

_state = {"quiet": False}
PROGRESS_EVERY = 5.0   # seconds between plain progress lines when stderr is not a terminal
PIPE_WIDTH = 10_000    # "no wrapping": wider than any line trendgan prints


class _PipeFriendlyConsole(Console):
    """A rich Console that is as wide as it needs to be when its stream is not a terminal.

    Rich falls back to 80 columns for pipes and files, which wraps paths mid-name and squeezes tables until their
    headers read "simulat…". A terminal keeps its real width.
    """

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal and self._width is None:
            return ConsoleDimensions(PIPE_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size) -> None:  # rich sets sizes through this; keep its behaviour
        Console.size.fset(self, new_size)


console = _PipeFriendlyConsole(stderr=True, highlight=False)   # messages, progress, warnings
out = _PipeFriendlyConsole(highlight=False)                    # results: summaries and tables a command prints


def set_quiet(quiet: bool) -> None:
    _state["quiet"] = bool(quiet)


def is_quiet() -> bool:
    return _state["quiet"]


def say(message: str) -> None:
    """An informational line on stderr (suppressed by --quiet). Rich markup allowed; escape untrusted text."""
    if not _state["quiet"]:
        console.print(message, soft_wrap=not console.is_terminal)


def show(renderable) -> None:
    """A command's result (a table, a summary line) on stdout; suppressed by --quiet."""
    if not _state["quiet"]:
        out.print(renderable, soft_wrap=not out.is_terminal and isinstance(renderable, str))


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


class _LineTicker(_Ticker):
    """Progress for logs: one plain line at most every ``every`` seconds, and a last line when the work ends."""

    def __init__(self, total: int | None, description: str, unit: str, every: float = PROGRESS_EVERY,
                 clock: Callable[[], float] = time.monotonic, write: Callable[[str], None] | None = None):
        super().__init__()
        self.total, self.description, self.unit, self.every = total, description, unit, every
        self.done = 0
        self._clock = clock
        self._write = write or (lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
        self._started = self._last = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._clock() - self._last >= self.every:
            self.emit()

    def update(self, **fields) -> None:
        if fields.get("total") is not None:
            self.total = fields["total"]
        if fields.get("description"):
            self.description = str(fields["description"])
        if fields.get("completed") is not None:
            self.done = int(fields["completed"])

    def line(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        percent = f" ({self.done / self.total:.0%})" if self.total else ""
        rate = self.done / elapsed
        left = ""
        if self.total and rate > 0 and self.done < self.total:
            left = f", about {_duration((self.total - self.done) / rate)} left"
        return f"{self.description}: {count} {self.unit}{percent}, {rate:,.1f} {self.unit}/s, {_duration(elapsed)} elapsed{left}"

    def emit(self) -> None:
        self._last = self._clock()
        self._write(self.line())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


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
    """A progress bar with counts and rate on a terminal; plain lines every few seconds when stderr is piped or
    sent to a file; nothing at all with --quiet."""
    if _state["quiet"]:
        yield _Ticker()
        return
    if not console.is_terminal:
        ticker = _LineTicker(total, description, unit)
        yield ticker
        if ticker.done:
            ticker.emit()
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


@contextlib.contextmanager
def working(description: str, every: float = PROGRESS_EVERY) -> Iterator[None]:
    """For work that cannot count its steps: a spinner on a terminal, a "still working" line every few seconds
    when piped, nothing with --quiet."""
    if _state["quiet"]:
        yield
        return
    if console.is_terminal:
        with console.status(description):
            yield
        return
    started, stop = time.monotonic(), threading.Event()

    def heartbeat():
        while not stop.wait(every):
            console.print(f"{description}: still working, {_duration(time.monotonic() - started)} elapsed",
                          markup=False, highlight=False, soft_wrap=True)

    thread = threading.Thread(target=heartbeat, name="trendgan-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def escape(text: object) -> str:
    """Escape untrusted text (file names, captions) for rich markup."""
    from rich.markup import escape as _escape

    return _escape(str(text))
