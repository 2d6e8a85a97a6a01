"""The buyer's calls: for each style, back, hold or cut, with one number, how likely the call is, and the evidence.

One table, used by the report's summary and leaderboards, its charts' titles, its JSON and CSV, and the CLI's
``forecast`` and ``report`` tables, so a number that appears twice is the same number under the same name:

- ``expected_change``: the forecast's mean share over the horizon against the style's level now (the labels'
  ``change_recent``: the move the trend label is about). Called **expected change** everywhere.
- ``vs_year_ago``: the same forecast against the same weeks a year earlier (the labels' ``change``). Called
  **vs a year ago** everywhere, and never shown without that name.
- ``chance``: how likely the call is. With the trend-call probabilities (``p_<trend>`` columns) it is the
  probability of the chosen label; without them it is the labels' ``confidence`` (how much of the forecast band lies
  on the side of the call), and ``chance_kind`` says "confidence" so no page calls it a probability.

Pure on frames (pandas only): no store, no plotting, so the CLI can import it cheaply.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TRENDS = ("emerging", "rising", "stable", "seasonal", "declining")
ACTION_OF = {"emerging": "back", "rising": "back", "stable": "hold", "seasonal": "hold", "declining": "cut"}
ACTIONS = ("back", "hold", "cut")
ACTION_WORDS = {
    "back": "Back: forecast to grow",
    "hold": "Hold: steady or following their season",
    "cut": "Cut: forecast to lose share",
}
PROBABILITY_COLUMNS = tuple(f"p_{t}" for t in TRENDS)
CHANCE_HEADER = {"probability": "chance the call is right", "confidence": "confidence"}
COLUMNS = ["style_id", "name", "action", "trend", "expected_change", "chance", "chance_kind", "vs_year_ago",
           "share_before", "share_now", "share_forecast", "level_now", "backtests_beaten", "backtests", "calls_right",
           "calls_scored", "evidence"]


# --------------------------------------------------------------------------- formatting: one way for every page


def fmt_change(value) -> str:
    """A relative change: '+14%', '-42%', '–' when unknown."""
    return "–" if _missing(value) else f"{float(value):+.0%}"


def fmt_chance(value) -> str:
    return "–" if _missing(value) else f"{float(value):.0%}"


def fmt_share(value) -> str:
    """A share of the feed: '14%', or '0.4%' below 1 % so small styles do not all read '0%'."""
    if _missing(value):
        return "–"
    value = float(value)
    return f"{value:.1%}" if abs(value) < 0.01 else f"{value:.0%}"


def period_words(period: str | None, n: int) -> str:
    """'13 weeks', '1 month' ('periods' when the period is not known)."""
    from trendgan.errors import ConfigError
    from trendgan.periods import period as period_of

    try:
        word = period_of(period).word if period else "period"
    except ConfigError:
        word = "period"
    return f"{n} {word if n == 1 else word + 's'}"


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


# --------------------------------------------------------------------------- the calls


def chance_of_call(labels: pd.DataFrame) -> tuple[pd.Series, str]:
    """How likely each style's call is, and what kind of number that is ("probability" or "confidence")."""
    if all(c in labels.columns for c in PROBABILITY_COLUMNS):
        chosen = [f"p_{t}" if f"p_{t}" in labels.columns else None for t in labels["trend"]]
        values = [float(row[c]) if c else float("nan") for c, (_, row) in zip(chosen, labels.iterrows())]
        return pd.Series(values, index=labels.index, dtype=float), "probability"
    if "confidence" in labels.columns:
        return labels["confidence"].astype(float), "confidence"
    return pd.Series(np.nan, index=labels.index, dtype=float), "confidence"


def season_of(period: str | None) -> int:
    """Periods in a season (52 weeks, 12 months...); a year of weeks when the period is not known."""
    from trendgan.errors import ConfigError
    from trendgan.periods import season_length

    try:
        return season_length(period or "W")
    except ConfigError:
        return 52


def recent_window(period: str | None, horizon: int | None = None) -> int:
    """Periods in "now", as the trend labels measure the recent level: about a quarter of a season (13 weeks,
    3 months), the horizon where there is no season."""
    from trendgan.forecast.labels import LabelRules, recent_window as labels_window

    return labels_window(season_of(period), int(horizon or 1), LabelRules())


def buyer_calls(labels: pd.DataFrame | None, series: pd.DataFrame | None = None, backtests: pd.DataFrame | None = None,
                names: dict | None = None, horizon: int | None = None, period: str | None = None) -> pd.DataFrame:
    """One row per style (``COLUMNS``), backs first (largest expected change first), then holds, then cuts."""
    if labels is None or labels.empty:
        return pd.DataFrame(columns=COLUMNS)
    labels = labels.reset_index(drop=True)
    chance, kind = chance_of_call(labels)
    window = recent_window(period, horizon)
    move = labels["change_recent"] if "change_recent" in labels.columns else labels["change"]
    histories = share_histories(series)
    backtests_of = {} if backtests is None or backtests.empty or "unique_id" not in backtests.columns else \
        {_py(uid): group for uid, group in backtests.groupby("unique_id", sort=False)}
    rows = []
    for i, label in labels.iterrows():
        style_id = _py(label["unique_id"])
        history = histories.get(style_id, np.array([]))
        span = min(window, len(history))  # a short history: "now" is all of it
        share_now = mean_tail(history, span, 0) if span else float("nan")
        share_before = mean_tail(history, window, window) if len(history) >= 2 * window else float("nan")
        level_now = float(label["recent"]) if "recent" in labels.columns and not _missing(label["recent"]) else share_now
        expected = float(move.iloc[i])
        forecast_share = level_now * (1 + expected) if not _missing(level_now) else float("nan")
        beaten, total = backtests_beaten(backtests_of.get(style_id), label.get("model"))
        row = {
            "style_id": style_id,
            "name": (names or {}).get(style_id) or f"style {style_id}",
            "action": ACTION_OF.get(str(label["trend"]), "hold"),
            "trend": str(label["trend"]),
            "expected_change": expected,
            "chance": float(chance.iloc[i]),
            "chance_kind": kind,
            "vs_year_ago": float(label["change"]) if "change" in labels.columns else float("nan"),
            "share_before": share_before,
            "share_now": share_now,
            "share_forecast": forecast_share,
            "level_now": level_now,
            "backtests_beaten": beaten,
            "backtests": total,
            "calls_right": _count(label.get("backtest_hits")),
            "calls_scored": _count(label.get("backtest_calls")),
        }
        row["evidence"] = evidence_sentence(row, span or window, horizon, period)
        rows.append(row)
    calls = pd.DataFrame(rows, columns=COLUMNS[:-1] + ["evidence"])
    order = {a: i for i, a in enumerate(ACTIONS)}
    key = calls["expected_change"].where(calls["action"] != "cut", -calls["expected_change"])
    calls = calls.assign(_a=calls["action"].map(order), _k=-key).sort_values(["_a", "_k", "style_id"], kind="stable")
    return calls.drop(columns=["_a", "_k"]).reset_index(drop=True)


def evidence_sentence(row: dict, window: int, horizon: int | None, period: str | None) -> str:
    """'Share up from 9% to 14% over the last 26 weeks; forecast 16% over the next 13 weeks; its forecast beat the
    naive guess in 3 of 3 backtests.' Every number in it is in the row."""
    parts = []
    before, now = row["share_before"], row["share_now"]
    if not _missing(before) and not _missing(now):
        if fmt_share(now) == fmt_share(before):
            parts.append(f"share steady at {fmt_share(now)} in the last {period_words(period, window)} and the "
                         f"{period_words(period, window)} before")
        else:
            verb = "up" if now > before else "down"
            parts.append(f"share {verb} from {fmt_share(before)} in the {period_words(period, window)} before to "
                         f"{fmt_share(now)} in the last {period_words(period, window)}")
    elif not _missing(now):
        parts.append(f"share {fmt_share(now)} over the last {period_words(period, window)}")
    if not _missing(row["share_forecast"]):
        ahead = f"the next {period_words(period, horizon)}" if horizon else "the forecast horizon"
        clause = f"forecast {fmt_share(row['share_forecast'])} over {ahead}"
        level, now = row["level_now"], row["share_now"]
        if not _missing(level) and not _missing(now) and abs(level - now) > 0.1 * max(level, now, 1e-9):
            clause += f" (against a seasonally adjusted level of {fmt_share(level)} now)"
        parts.append(clause)
    if row["trend"] == "declining" and row["expected_change"] >= 0 and not _missing(row["vs_year_ago"]):
        # cut on the year: the style has lost share since a year ago and no recovery is forecast
        parts.insert(0, f"cut for its fall over the year ({fmt_change(row['vs_year_ago'])} vs a year ago), with no "
                        "recovery to last year's level forecast")
    elif not _missing(row["vs_year_ago"]) and row["trend"] in ("seasonal", "declining") and abs(row["vs_year_ago"]) >= 0.1:
        parts.append(f"{fmt_change(row['vs_year_ago'])} vs a year ago")
    if row["trend"] == "stable" and row["expected_change"] <= -0.1:
        parts.append("held: a fall this size is within the period-to-period noise of its counts")
    elif row["trend"] == "stable" and row["expected_change"] >= 0.1:
        parts.append("held: a rise this size is within the noise of its counts or only makes up for a fall since a "
                     "year ago")
    if row.get("calls_scored"):
        parts.append(f"its calls made at earlier points of its history came true in {row['calls_right']} of "
                     f"{row['calls_scored']} backtests")
    if row["backtests"]:
        parts.append(f"its forecast beat the naive guess in {row['backtests_beaten']} of {row['backtests']} backtests")
    sentence = "; ".join(parts)
    return sentence[:1].upper() + sentence[1:] + "." if sentence else ""


def backtests_beaten(rows: pd.DataFrame | None, model) -> tuple[int, int]:
    """In how many backtest windows one style's chosen model had a lower error (MASE) than seasonal naive;
    ``rows`` are that style's backtest rows."""
    if rows is None or rows.empty or not {"model", "window", "mase"} <= set(rows.columns):
        return 0, 0
    chosen = str(model or "").split("+")[0]  # "ensemble+leading": the ensemble before the leading correction
    mine = rows[rows["model"] == chosen].set_index("window")["mase"]
    naive = rows[rows["model"] == "snaive"].set_index("window")["mase"]
    both = mine.to_frame("mine").join(naive.to_frame("naive"), how="inner").dropna()
    if both.empty or chosen == "snaive":
        return 0, 0
    return int((both["mine"] < both["naive"]).sum()), int(len(both))


def _count(value) -> int:
    """A backtest count from the labels table (0 where the forecast run predates it or the style was not scored)."""
    return 0 if _missing(value) else int(value)


def share_histories(series: pd.DataFrame | None) -> dict:
    """Each style's share per period, oldest first, by style id: the series grouped once, so a report on thousands
    of styles does not filter the whole table once per style."""
    if series is None or series.empty:
        return {}
    ordered = series.sort_values(["unique_id", "ds"], kind="stable")
    return {_py(uid): group["y"].to_numpy(dtype=float) for uid, group in ordered.groupby("unique_id", sort=False)}


def mean_tail(values: np.ndarray, window: int, skip: int) -> float:
    """Mean of the ``window`` values before the last ``skip`` ones, gaps left out (NaN when there are none)."""
    if len(values) < skip + 1:
        return float("nan")
    part = values[: len(values) - skip][-window:]
    part = part[~np.isnan(part)]
    return float(part.mean()) if len(part) else float("nan")


def _py(value):
    return value.item() if hasattr(value, "item") else value


def calls_headline(horizon: int | None, period: str | None) -> str:
    """'For the next 13 weeks' (or 'For the forecast horizon' when it is not known)."""
    return f"For the next {period_words(period, horizon)}" if horizon else "For the forecast horizon"
