"""Tables more than one command prints, built once so every command shows the same numbers under the same names."""

from __future__ import annotations


def print_calls(calls, horizon: int | None, period: str | None, limit: int | None = None) -> None:
    """The buyer's calls (trendgan.report.calls.buyer_calls) as the report's summary shows them: back / hold / cut,
    the expected change from now, how likely the call is, and the change vs a year ago."""
    from rich.table import Table

    from trendgan.console import escape, show
    from trendgan.report.calls import CHANCE_HEADER, calls_headline, fmt_chance, fmt_change

    if calls is None or calls.empty:
        return
    kind = str(calls["chance_kind"].iloc[0])
    table = Table(title=f"{calls_headline(horizon, period)}: back, hold or cut", title_justify="left", box=None,
                  pad_edge=False)
    for column, justify in (("call", "left"), ("style", "right"), ("name", "left"), ("trend", "left"),
                            ("expected change", "right"), (CHANCE_HEADER[kind], "right"), ("vs a year ago", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    shown = calls if limit is None else calls.head(limit)
    for row in shown.itertuples(index=False):
        colour = "green" if row.expected_change >= 0 else "red"
        table.add_row(row.action, str(row.style_id), escape(row.name), row.trend,
                      f"[{colour}]{fmt_change(row.expected_change)}[/]", fmt_chance(row.chance), fmt_change(row.vs_year_ago))
    show(table)
    if limit is not None and len(calls) > limit:
        show(f"({len(calls) - limit} more styles in the report)")
