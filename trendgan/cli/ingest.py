"""`trendgan ingest` and `trendgan status`: thin wrappers over trendgan.ingest.ingest and trendgan.status.store_status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from trendgan.cli._util import EngineOption, QuietOption, StoreOption, TrendganTyper, setup
from trendgan.console import escape, is_quiet, out, progress, say
from trendgan.errors import StoreError


def register(app: TrendganTyper) -> None:
    app.command("ingest")(ingest_command)
    app.command("status")(status_command)


def ingest_command(
    paths: Annotated[Optional[List[Path]], typer.Argument(help="Folders (or files) of dated fashion images.", show_default=False)] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Source name for every image (default: the first folder below each PATH).")] = None,
    manifest: Annotated[Optional[Path], typer.Option("--manifest", help="CSV or JSON Lines with path, date and optional source, caption, likes.")] = None,
    leading: Annotated[bool, typer.Option("--leading", help="Mark every source in this ingest as leading (influencers, runway, magazines).")] = False,
    leading_source: Annotated[Optional[List[str]], typer.Option("--leading-source", help="Mark this source as leading (repeatable).")] = None,
    date_from_mtime: Annotated[bool, typer.Option("--date-from-mtime", help="Date images with no other date by their file modification time.")] = False,
    near_duplicate_distance: Annotated[int, typer.Option("--near-duplicate-distance", help="Perceptual-hash bits (of 64) within which an image counts as a repost; -1 turns it off.")] = 6,
    colour_tolerance: Annotated[int, typer.Option("--colour-tolerance", help="How far (0-255) a near duplicate's 8x8 colour thumbnail may differ; keeps same-shape garments in other colours apart.")] = 32,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Processes reading images (default: up to 4).")] = None,
    allow_outside: Annotated[bool, typer.Option("--allow-outside", help="Let the manifest name files outside the folders given.")] = False,
    engine: EngineOption = "local",
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Catalog folders of scraped images: dates, sources, captions, likes; duplicates and bad files reported."""
    setup(quiet)
    from trendgan.ingest import ingest

    with progress(None, "Ingesting", unit="files") as bar:
        state = {"done": 0}

        def advance(done: int, total: int) -> None:
            bar.update(total=total)
            bar.advance(done - state["done"])
            state["done"] = done

        result = ingest(
            paths or [],
            store=store,
            source=source,
            manifest=manifest,
            leading=leading,
            leading_sources=leading_source or [],
            date_from_mtime=date_from_mtime,
            near_duplicate_distance=near_duplicate_distance,
            colour_tolerance=colour_tolerance,
            workers=workers,
            progress=advance,
            allow_outside=allow_outside,
            engine=engine,
        )
    _print_ingest_summary(result)


def _print_ingest_summary(result) -> None:
    if is_quiet():
        return
    from rich.table import Table

    table = Table(title=f"Ingested into {escape(result.store)}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("files scanned", result.scanned),
        ("unchanged (skipped)", result.unchanged),
        ("new images", result.new),
        ("changed files", result.changed),
        ("exact duplicates", result.exact_duplicates),
        ("near duplicates (flagged)", result.near_duplicates),
        ("undated (kept)", result.undated),
        ("rejected", result.rejected_total),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    for reason, count in sorted(result.rejected.items()):
        table.add_row(f"  {escape(reason)}", f"{count:,}")
    if result.date_origins:
        origins = ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(result.date_origins.items(), key=lambda kv: -kv[1]))
        table.add_row("dates from", origins)
    if result.sources:
        sources = ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(result.sources.items(), key=lambda kv: -kv[1]))
        table.add_row("new per source", sources)
    if result.leading_sources:
        table.add_row("leading sources", escape(", ".join(result.leading_sources)))
    table.add_row("time", f"{result.seconds:.1f} s ({result.files_per_second:,.0f} files/s)")
    out.print(table)
    for path, reason, detail in result.reject_examples[:5]:
        say(f"[yellow]rejected[/] {escape(path)}: {escape(reason)} ({escape(detail)})")
    if result.unreadable_date_examples:
        path, text = result.unreadable_date_examples[0]
        say(f"[yellow]{result.unreadable_dates:,} manifest or sidecar dates were in no known format[/] "
            f"(e.g. {escape(text)!r} for {escape(path)}); the next date source was used. Use ISO dates (2023-05-17).")
    if result.undated_examples:
        say(f"[yellow]{result.undated:,} images have no date[/] (e.g. {escape(result.undated_examples[0])}); "
            "add a manifest, or use --date-from-mtime")


def status_command(
    store: StoreOption = None,
    period: Annotated[str, typer.Option("--period", help="Count images per D/day, W/week, M/month, Q/quarter or Y/year.")] = "month",
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as one JSON object on stdout.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Show what the store holds and which stages have run (with no store here, the stores it can see)."""
    setup(quiet)
    from trendgan.status import store_status
    from trendgan.store import Store

    found = Store(store)
    if not found.exists():
        raise StoreError(_no_store_message(found.root, store is not None))
    status = store_status(found, period=period)  # either spelling: trendgan.periods
    if as_json:
        typer.echo(json.dumps(status.to_dict(), default=str))
        return
    if quiet:
        typer.echo(str(status.store))
        return
    _print_status(status)


def visible_stores(folder: Path | None = None) -> list[Path]:
    """Stores in ``folder`` (default: here) and the folders just below it, e.g. ./trendgan-demo after `trendgan demo`."""
    folder = Path(folder or Path.cwd())
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))] \
        if folder.is_dir() else []
    return [p for p in candidates if (p / "catalog.duckdb").is_file()]


def _no_store_message(root: Path, asked: bool) -> str:
    import os

    where = "at" if asked else "at the default place"
    message = f"no trendgan store {where} {root}; run `trendgan ingest PATH` to create one"
    others = [p for p in visible_stores() if p.resolve() != root]
    if others:  # e.g. ./trendgan-demo after `trendgan demo`: the store the user most likely meant
        names = ", ".join(_shown(p) for p in others)
        message += f"; stores here: {names} (e.g. `trendgan status --store {_shown(others[0])}`)"
    elif not os.environ.get("TRENDGAN_STORE"):
        message += ", or `trendgan demo` to try one"
    return message


def _shown(path: Path) -> str:
    try:
        return "./" + str(path.resolve().relative_to(Path.cwd().resolve())) if path.resolve() != Path.cwd().resolve() else "."
    except ValueError:
        return str(path)


def _print_status(status) -> None:
    from rich.table import Table

    for problem in status.problems:
        say(f"[bold yellow]warning:[/] {escape(problem)}")
    dates = f"{status.first_date:%Y-%m-%d} .. {status.last_date:%Y-%m-%d}" if status.first_date else "no dated images"
    out.print(f"[bold]{escape(status.store)}[/]: {status.images:,} images ({dates}), {status.undated:,} undated, "
              f"{status.rejected_total:,} rejected, {status.exact_duplicates:,} exact and {status.near_duplicates:,} near duplicates")
    if status.rejected:
        out.print("rejected: " + ", ".join(f"{escape(r)} {n:,}" for r, n in status.rejected.items()))
    if status.date_origins:
        out.print("dates from: " + ", ".join(f"{escape(o)} {n:,}" for o, n in status.date_origins.items()))
    sources = Table(title="Sources", title_justify="left")
    for column, justify in (("source", "left"), ("images", "right"), ("leading", "center"), ("first", "left"), ("last", "left")):
        sources.add_column(column, justify=justify)
    for row in status.sources:
        sources.add_row(escape(row["source"]), f"{row['images']:,}", "yes" if row["leading"] else "",
                        _day(row["first"]), _day(row["last"]))
    out.print(sources)
    if status.images_per_period:
        periods = Table(title=f"Images per {status.period}", title_justify="left")
        periods.add_column(status.period)
        periods.add_column("images", justify="right")
        shown = status.images_per_period
        if len(shown) > 24:  # the most recent two years of months is what an analyst scans first
            out.print(f"({len(shown) - 24} earlier {status.period}s not shown; use --json for all)")
            shown = shown[-24:]
        for period, count in shown:
            periods.add_row(str(period), f"{count:,}")
        out.print(periods)
    stages = Table(title="Stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("runs", justify="right")
    stages.add_column("latest")
    if status.last_ingest:
        stages.add_row("ingest", "", f"{escape(status.last_ingest['run_id'])} ({escape(status.last_ingest['status'])})")
    for name, folder in status.embeddings.items():
        stages.add_row(f"embeddings {escape(name)}", f"{folder['parts']:,} parts", f"{folder['vectors']:,} vectors")
    if not status.embeddings:
        stages.add_row("embeddings", "0", "not run: `trendgan embed`")
    for stage, info in status.stages.items():
        stages.add_row(stage, f"{info['runs']:,}", escape(info["latest"]) if info["latest"] else "-")
    out.print(stages)


def _day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "-"
