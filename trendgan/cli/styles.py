"""`trendgan styles`: find the styles among the embedded images and follow their shares over time."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trendgan.cli._util import EngineOption, QuietOption, SeedOption, StoreOption, setup


def register(app: typer.Typer) -> None:
    app.command("styles", help="Cluster the embedded images into styles (stable ids across runs), name them, "
                               "and write each style's share per period.")(styles_command)


def styles_command(
    store: StoreOption = None,
    k: Annotated[str, typer.Option("--k", help="Number of styles, or 'auto' (cosine silhouette over a range).")] = "auto",
    method: Annotated[str, typer.Option("--method", help="kmeans, or hdbscan (finds its own number; reports noise).")] = "kmeans",
    period: Annotated[str, typer.Option("--period", help="W/week (from Monday), M/month, Q/quarter or Y/year.")] = "W",
    min_share: Annotated[float, typer.Option("--min-share", help="Fold styles holding less than this share of images into their nearest style.")] = 0.0,
    weighted: Annotated[bool, typer.Option("--weight-by-engagement", help="Shares weighted by log(1 + likes).")] = False,
    assign_only: Annotated[bool, typer.Option("--assign-only", help="Put images into the previous run's styles without clustering again.")] = False,
    encoder: Annotated[Optional[str], typer.Option("--encoder", help="Which vectors (default: the latest embed run's encoder).")] = None,
    style_map: Annotated[str, typer.Option("--map", help="How to draw the 2-D style map: umap, or pca (instant, cruder).")] = "umap",
    level: Annotated[str, typer.Option("--level", help="Which level forecasting and rendering use: style, or family (styles merged where their shares move together).")] = "style",
    top: Annotated[int, typer.Option("--top", help="How many styles to list in the summary.")] = 10,
    seed: SeedOption = 0,
    engine: EngineOption = "local",
    quiet: QuietOption = False,
) -> None:
    setup(quiet)
    from trendgan.console import escape, out
    from trendgan.styles import find_styles

    result = find_styles(store, k=k, method=method, period=period, min_share=min_share,
                         weight_by_engagement=weighted, assign_only=assign_only, seed=seed, encoder=encoder, map_method=style_map,
                         level=level, engine=engine)
    if quiet:
        typer.echo(str(result.folder))
        return
    from rich.table import Table

    silhouette = f"{result.silhouette:.3f}" if result.silhouette is not None else "-"
    if result.method == "assign-only":
        ids = "images put into the previous run's styles, ids and names unchanged"
    else:
        ids = f"{result.matched} kept their id from the previous run, {result.new_styles} new"
    out.print(
        f"[bold green]{result.n_styles} styles[/] from {result.n_images:,} images ({escape(result.method)}, "
        f"silhouette {silhouette}, noise {result.noise_share:.1%}); {ids}; "
        f"{result.undated:,} undated images left out of the series"
    )
    out.print(f"{result.n_families} families above them; {result.splits} styles split where look-alikes moved "
                  f"differently; forecasting and rendering use the {escape(result.level)} level")
    table = Table("family", "style", "name", "images", "share",
                  title=f"largest families and their styles (names from {escape(result.naming)})")
    styles = result.styles.set_index("style_id")
    for family in result.families.sort_values("size", ascending=False).head(top).itertuples():
        table.add_row(f"[bold]{family.family_id}[/]", "", f"[bold]{escape(family.name)}[/]", f"{family.size:,}",
                      f"{family.share:.1%}")
        for style_id in family.styles:
            row = styles.loc[style_id]
            table.add_row("", str(style_id), escape(row["name"]), f"{row['size']:,}", f"{row['share']:.1%}")
    out.print(table)
    out.print(f"written to {escape(result.folder)}", soft_wrap=True)
