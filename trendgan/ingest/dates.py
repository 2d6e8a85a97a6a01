"""When was a picture posted? Parse the many ways scrapers, cameras and folder names write a date.

Every function returns a naive UTC ``datetime`` (the store is UTC throughout) or ``None`` when it finds nothing.
Values that carry a time zone are converted to UTC; values without one are taken as UTC already, because
scrapers and folder names almost never say and a few hours do not move an image to another week.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from pathlib import PurePath

# The earliest date a fashion image can plausibly carry; camera resets and bad scrapes give 0000 or 1601.
EARLIEST_PLAUSIBLE = dt.datetime(1900, 1, 1)
# Clocks and time zones drift; a post "from tomorrow" is a zone mix-up, a post from next month is not.
FUTURE_SLACK = dt.timedelta(days=2)

_TEXT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y:%m:%d %H:%M:%S",  # EXIF
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%Y%m%d",  # yt-dlp / gallery-dl upload_date
    "%Y%m%dT%H%M%S",
    "%a %b %d %H:%M:%S %z %Y",  # Twitter created_at
    "%Y-%m-%d_%H-%M-%S_UTC",  # instaloader file stems
    "%Y-%m",
)


def to_naive_utc(value: dt.datetime) -> dt.datetime:
    """Drop the zone after converting to UTC; naive values are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def parse_timestamp(value: object) -> dt.datetime | None:
    """A date from a manifest cell or sidecar value: epoch seconds (or milliseconds), ISO 8601, EXIF, RFC 2822...

    Returns None for empty or unparseable values (they are not an error: the next date source is tried).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return to_naive_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text or text.lower() in {"nan", "nat", "none", "null"}:
        return None
    if re.fullmatch(r"-?\d{9,13}(\.\d+)?", text):  # epoch in a string; 8 digits is YYYYMMDD, handled below
        return _from_epoch(float(text))
    return _parse_text(text)


def _from_epoch(seconds: float) -> dt.datetime | None:
    if seconds != seconds:  # NaN from a pandas column
        return None
    if abs(seconds) > 1e11:  # JavaScript-style milliseconds
        seconds /= 1000.0
    try:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_text(text: str) -> dt.datetime | None:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return to_naive_utc(dt.datetime.fromisoformat(iso))
    except ValueError:
        pass
    for fmt in _TEXT_FORMATS:
        try:
            return to_naive_utc(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return to_naive_utc(parsed) if parsed else None


def parse_exif_datetime(value: str | None, offset: str | None = None) -> dt.datetime | None:
    """EXIF DateTimeOriginal (``2023:05:17 14:03:22``) with its optional OffsetTimeOriginal (``+02:00``)."""
    if not value:
        return None
    text = str(value).strip().rstrip("\x00")
    if not text or text.startswith("0000"):  # cameras write zeros when their clock was never set
        return None
    try:
        stamp = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return parse_timestamp(text)
    if offset:
        match = re.fullmatch(r"([+-])(\d\d):?(\d\d)", str(offset).strip().rstrip("\x00"))
        if match:
            sign = 1 if match.group(1) == "+" else -1
            stamp -= sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return stamp


# ---------------------------------------------------------------------------------------------- dates in paths

_YEAR = r"(?P<y>(?:19|20)\d\d)"
_MONTH = r"(?P<m>0[1-9]|1[0-2])"
_DAY = r"(?P<d>0[1-9]|[12]\d|3[01])"
_TIME = r"(?:[T _-](?P<H>[01]\d|2[0-3])[-:.h]?(?P<M>[0-5]\d)[-:.m]?(?P<S>[0-5]\d))?"

# Most specific first. Each pattern is searched in the file name, then in folder names from the deepest up.
PATH_DATE_PATTERNS = (
    # 2023-05-17, 2023_05_17, 2023.05.17, optionally with a time (instaloader: 2023-05-17_10-00-00_UTC)
    re.compile(rf"(?<!\d){_YEAR}[-_.]{_MONTH}[-_.]{_DAY}{_TIME}(?!\d)"),
    # 20230517, IMG_20230517_142233, PXL_20230517_142233123
    re.compile(rf"(?<!\d){_YEAR}{_MONTH}{_DAY}(?:[T_-](?P<H>[01]\d|2[0-3])(?P<M>[0-5]\d)(?P<S>[0-5]\d))?(?!\d)"),
    # 2023-05 (a monthly folder or file prefix)
    re.compile(rf"(?<!\d){_YEAR}[-_.]{_MONTH}(?![-_.]?\d)"),  # not the start of a longer (invalid) date
)
# Folders nested by date: 2023/05/17/ or 2023/05/
_NESTED_FOLDERS = re.compile(rf"(?:^|/){_YEAR}/{_MONTH}(?:/{_DAY})?(?=/|$)")


def date_from_path(path: str | PurePath, root: str | PurePath | None = None) -> dt.datetime | None:
    """The date a path spells out: the file name first, then ``YYYY/MM[/DD]`` folders, then other folder names.

    ``root`` (the folder given to ``ingest``) is cut off first, so a date in the user's own folder layout above the
    images (``/backups/2019-copy/...``) does not date every image below it.
    """
    path = PurePath(path)
    if root is not None:
        try:
            path = path.relative_to(root)
        except ValueError:
            pass
    found = _search(path.stem)
    if found:
        return found
    folders = path.parent.as_posix()
    nested = _NESTED_FOLDERS.search(folders)
    if nested:
        found = _build(nested)
        if found:
            return found
    for folder in reversed(path.parent.parts):
        found = _search(folder)
        if found:
            return found
    return None


def _search(text: str) -> dt.datetime | None:
    for pattern in PATH_DATE_PATTERNS:
        for match in pattern.finditer(text):
            found = _build(match)
            if found:
                return found
    return None


def _build(match: re.Match) -> dt.datetime | None:
    parts = match.groupdict()
    try:
        return dt.datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts.get("d") or 1),
            int(parts.get("H") or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
        )
    except ValueError:  # 2023-02-31 and the like: not a date after all
        return None


def implausible_reason(when: dt.datetime, now: dt.datetime | None = None) -> str | None:
    """Why a date cannot be a posting date (before 1900, or in the future), or None when it is plausible."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if when < EARLIEST_PLAUSIBLE:
        return f"{when:%Y-%m-%d} is before {EARLIEST_PLAUSIBLE:%Y}"
    if when > now + FUTURE_SLACK:
        return f"{when:%Y-%m-%d} is in the future"
    return None
