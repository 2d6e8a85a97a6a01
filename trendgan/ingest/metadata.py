"""What scrapers write beside the images: manifests (CSV / JSON Lines) and per-image sidecar files.

Sidecars understood (the formats of common scrapers):
- gallery-dl: ``photo.jpg.json`` with ``date``, ``description``/``content``, ``likes``/``favorite_count``, ``tags``;
- instaloader: ``2023-05-17_10-00-00_UTC.json`` or ``.json.xz`` (``node.taken_at_timestamp``,
  ``node.edge_media_to_caption``, ``node.edge_media_preview_like.count``) and a ``.txt`` caption; a post with several
  images (``..._UTC_1.jpg``, ``..._UTC_2.jpg``) shares one sidecar;
- yt-dlp style: ``photo.info.json`` with ``timestamp`` / ``upload_date``;
- any JSON object using the keys below at its top level or under ``node``/``post``/``data``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import lzma
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from trendgan.errors import IngestError
from trendgan.ingest.dates import parse_timestamp

DATE_KEYS = (
    "date", "taken_at_timestamp", "taken_at", "timestamp", "created_at", "upload_date", "date_posted",
    "posted_at", "published", "published_at", "datetime", "create_time",
)
CAPTION_KEYS = ("caption", "description", "content", "text", "title", "edge_media_to_caption")
LIKES_KEYS = ("likes", "like_count", "likes_count", "favorite_count", "edge_media_preview_like", "edge_liked_by", "digg_count")
HASHTAG_KEYS = ("hashtags", "tags", "caption_hashtags")
NESTING_KEYS = ("node", "post", "data", "item")
METADATA_SUFFIXES = (".json", ".json.xz", ".jsonl", ".txt", ".csv")
_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
MAX_SIDECAR_BYTES = 20_000_000  # a sidecar bigger than this is not metadata; leave it alone
# Captions are cut to this many characters: Instagram allows 2,200 and TikTok 4,000, so longer text is spam or a
# scraper's mistake, and one such field must not weigh on the catalog (or, in a CSV, stop the whole manifest).
MAX_CAPTION_CHARS = 10_000


@dataclass
class PostInfo:
    """What a manifest row or sidecar says about one image. Every field may be missing."""

    posted_at: dt.datetime | None = None
    raw_date: str | None = None  # kept for the reject message when the date is absurd
    unreadable_date: str | None = None  # a date value was there but in no format we know
    caption: str | None = None
    hashtags: list[str] = field(default_factory=list)
    likes: int | None = None
    source: str | None = None
    origin: str = "none"  # manifest | sidecar

    def merged_over(self, other: "PostInfo | None") -> "PostInfo":
        """This info, with gaps filled from ``other`` (a lower-priority source)."""
        if other is None:
            return self
        date_from_self = self.posted_at is not None
        return PostInfo(
            posted_at=self.posted_at if date_from_self else other.posted_at,
            raw_date=self.raw_date if date_from_self else other.raw_date,
            caption=self.caption if self.caption is not None else other.caption,
            hashtags=self.hashtags or other.hashtags,
            likes=self.likes if self.likes is not None else other.likes,
            source=self.source or other.source,
            origin=self.origin if date_from_self else other.origin,
            unreadable_date=self.unreadable_date or other.unreadable_date,
        )


def is_metadata_file(name: str) -> bool:
    """Sidecars and manifests travel with images; they are read, never rejected as non-images."""
    lower = name.lower()
    return lower.endswith(METADATA_SUFFIXES)


# ---------------------------------------------------------------------------------------------- sidecars


def sidecar_candidates(image_name: str) -> list[str]:
    """File names, in order of preference, that may describe ``image_name`` in the same folder."""
    stem = image_name.rsplit(".", 1)[0] if "." in image_name else image_name
    stems = [stem]
    post = re.fullmatch(r"(.+)_\d{1,2}", stem)  # instaloader: one sidecar for all images of a post
    if post:
        stems.append(post.group(1))
    names = [f"{image_name}.json"]
    for s in stems:
        names += [f"{s}.json", f"{s}.info.json", f"{s}.json.xz"]
    names += [f"{s}.txt" for s in stems]
    return names


def read_sidecars(paths: list[Path]) -> PostInfo | None:
    """Read the JSON sidecar and the caption ``.txt`` found for one image (first JSON wins)."""
    info: PostInfo | None = None
    caption_txt: str | None = None
    for path in paths:
        if path.name.lower().endswith(".txt"):
            if caption_txt is None:
                caption_txt = _read_caption_txt(path)
            continue
        if info is None:
            info = read_sidecar_json(path)
    if caption_txt is not None:
        info = info or PostInfo(origin="sidecar")
        if info.caption is None:
            info.caption = caption_txt
            info.hashtags = info.hashtags or hashtags_in(caption_txt)
    return info


def read_sidecar_json(path: Path) -> PostInfo | None:
    """One sidecar JSON (or ``.json.xz``); None when it cannot be read or is not an object."""
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        raw = path.read_bytes()
        if path.name.lower().endswith(".xz"):
            raw = lzma.decompress(raw)
        payload = json.loads(raw)
    except (OSError, ValueError, lzma.LZMAError):
        return None
    if not isinstance(payload, dict):
        return None
    return post_info_from_mapping(payload, origin="sidecar")


def _read_caption_txt(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace").strip()[:MAX_CAPTION_CHARS]
    except OSError:
        return None
    return text or None


def post_info_from_mapping(payload: dict, origin: str) -> PostInfo:
    """Pull date, caption, hashtags and likes out of a scraper's JSON object, looking into ``node``-style nesting."""
    layers = [payload]
    for key in NESTING_KEYS:
        inner = payload.get(key)
        if isinstance(inner, dict):
            layers.append(inner)
    info = PostInfo(origin=origin)
    for layer in layers:
        if info.posted_at is None:
            for key in DATE_KEYS:
                if layer.get(key) not in (None, ""):
                    info.posted_at = parse_timestamp(layer[key])
                    info.raw_date = str(layer[key])
                    if info.posted_at is not None:
                        break
                    info.unreadable_date = info.unreadable_date or info.raw_date
        if info.caption is None:
            info.caption = _first_caption(layer)
        if info.likes is None:
            info.likes = _first_count(layer)
        if not info.hashtags:
            info.hashtags = _first_hashtags(layer)
    if not info.hashtags and info.caption:
        info.hashtags = hashtags_in(info.caption)
    if info.posted_at is not None:
        info.unreadable_date = None  # another key had a date we could read
    return info


def _first_caption(layer: dict) -> str | None:
    for key in CAPTION_KEYS:
        value = layer.get(key)
        if isinstance(value, dict):  # instaloader: {"edges": [{"node": {"text": "..."}}]}
            edges = value.get("edges") or []
            texts = [e.get("node", {}).get("text") for e in edges if isinstance(e, dict)]
            value = "\n".join(t for t in texts if isinstance(t, str)) or None
        if isinstance(value, str) and value.strip():
            return clean_text(value.strip()[:MAX_CAPTION_CHARS])
    return None


def _first_count(layer: dict) -> int | None:
    for key in LIKES_KEYS:
        value = layer.get(key)
        if isinstance(value, dict):  # instaloader: {"count": 123}
            value = value.get("count")
        count = _as_count(value)
        if count is not None:
            return count
    return None


def _first_hashtags(layer: dict) -> list[str]:
    for key in HASHTAG_KEYS:
        value = layer.get(key)
        if isinstance(value, str):
            value = re.split(r"[\s,;]+", value)
        if isinstance(value, list):
            tags = [_clean_tag(v) for v in value if isinstance(v, str)]
            tags = [t for t in tags if t]
            if tags:
                return tags
    return []


def hashtags_in(caption: str) -> list[str]:
    """``#Boho #linen`` -> ``["boho", "linen"]``, first appearance order, no repeats."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(caption):
        seen.setdefault(tag.lower(), None)
    return list(seen)


def _clean_tag(tag: str) -> str:
    return clean_text(tag.strip().lstrip("#").lower())


def clean_text(text: str) -> str:
    """Scraped captions hold half emoji (lone surrogates) where they were cut; the catalog needs valid UTF-8."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\x00", "")


def _as_count(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        count = int(float(str(value).replace(",", "").strip()))
    except (ValueError, OverflowError):  # "n/a", "inf"
        return None
    return count if 0 <= count < 2**63 else None


# ---------------------------------------------------------------------------------------------- manifests

MANIFEST_PATH_COLUMNS = ("path", "file", "filename", "image", "image_path")
MANIFEST_DATE_COLUMNS = ("date", "posted_at", "timestamp", "created_at", "taken_at")


class Manifest(dict):
    """{absolute image path: PostInfo} read from a manifest, with what the reading found wrong.

    ``problems``: (path as printable text, reason, detail) for rows that cannot name a file (a NUL byte, text that
    is not UTF-8): they go to the rejects table. ``conflicts``: (path, date kept, date dropped) for a path listed
    more than once with different dates: the last row wins, and ingest says so. ``long_captions``: rows whose caption
    was cut to MAX_CAPTION_CHARS.
    """

    def __init__(self, path: Path | None = None):
        super().__init__()
        self.path = path
        self.problems: list[tuple[str, str, str]] = []
        self.conflicts: list[tuple[str, str, str]] = []
        self.long_captions = 0


def read_manifest(manifest: str | Path) -> Manifest:
    """A manifest (CSV or JSON Lines) -> {absolute image path: info}. Relative paths are taken from the manifest's folder.

    Raises IngestError when the file cannot be read or has no path column; rows with an unreadable date simply
    carry no date (the sidecar, EXIF or path is tried next); a row whose path cannot name a file is reported in
    ``Manifest.problems``, not fatal.
    """
    manifest = Path(manifest).expanduser()
    if not manifest.is_file():
        raise IngestError(f"manifest {manifest} does not exist or is not a file; check the --manifest path")
    try:
        rows = _manifest_rows(manifest)
    except (OSError, csv.Error) as exc:
        raise IngestError(f"cannot read the manifest {manifest}: {exc}; it must be a CSV or JSON Lines file") from None
    base = manifest.resolve().parent
    entries = Manifest(manifest)
    for number, row in enumerate(rows, start=1):
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        raw_path = _first_present(row, MANIFEST_PATH_COLUMNS)
        if raw_path is None:
            if number == 1:
                raise IngestError(
                    f"the manifest {manifest} has no path column (expected one of: {', '.join(MANIFEST_PATH_COLUMNS)})"
                )
            continue
        text = str(raw_path).strip()
        why = _bad_path_reason(text)
        if why:
            entries.problems.append((_printable(text), "bad_name", f"manifest row {number}: the path {why}"))
            continue
        image_path = Path(text).expanduser()
        if not image_path.is_absolute():
            image_path = base / image_path
        caption = _first_present(row, CAPTION_KEYS)
        if isinstance(caption, str) and len(caption.strip()) > MAX_CAPTION_CHARS:
            entries.long_captions += 1
        info = post_info_from_mapping(row, origin="manifest")
        raw_date = _first_present(row, MANIFEST_DATE_COLUMNS)
        if raw_date is not None:
            info.posted_at, info.raw_date = parse_timestamp(raw_date), clean_text(str(raw_date))
            info.unreadable_date = None if info.posted_at else info.raw_date
        source = row.get("source")
        info.source = clean_text(str(source).strip()) if source not in (None, "") else None
        key = str(Path(_normalise(image_path)))
        earlier = entries.get(key)
        if earlier is not None and earlier.posted_at != info.posted_at and earlier.raw_date and info.raw_date:
            entries.conflicts.append((key, info.raw_date, earlier.raw_date))
        entries[key] = info
    return entries


def _bad_path_reason(text: str) -> str | None:
    """Why a manifest's path text cannot name a file (the catalog and the OS need UTF-8 without NUL), or None."""
    if "\x00" in text:
        return "holds a NUL byte"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text (a broken character)"
    return None


def _printable(text: str) -> str:
    """The path as text the catalog can store: broken characters and NUL bytes as escapes."""
    return text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "surrogatepass") \
        .decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _manifest_rows(manifest: Path) -> list[dict]:
    # Bytes that are not UTF-8 stay as escapes (surrogateescape): one bad row is reported, the rest are read.
    text = manifest.read_bytes().decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    if manifest.suffix.lower() in {".jsonl", ".ndjson", ".json"} or text.lstrip().startswith("{"):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise IngestError(f"line {number} of the manifest {manifest} is not valid JSON; fix or remove it") from None
            if isinstance(row, dict):
                rows.append(row)
        return rows
    # csv's default field limit (128 KiB) would stop the whole manifest at one long caption; the text is in memory
    # already, so no field can be longer than it.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return list(csv.DictReader(text.splitlines()))
    finally:
        csv.field_size_limit(limit)


def _first_present(row: dict, keys: tuple[str, ...]):
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def _normalise(path: Path) -> str:
    """Absolute path without following the last symlink, so it matches what the folder scan records."""
    return os.path.normpath(os.path.abspath(path))
