"""Walk the folders a user gave and list every file worth looking at, with its size and modification time.

Only ``stat`` happens here (no reading), so an unchanged re-ingest can skip files by path, size and mtime before any
byte is hashed. Hidden files and folders, metadata files (sidecars, manifests) and the store itself are left out;
folders that cannot be read are reported, not fatal.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from trendgan.ingest.images import describe_file_type, has_image_extension
from trendgan.ingest.metadata import is_metadata_file, sidecar_candidates
from trendgan.store import DAMAGED_FOLDER, RUN_FOLDERS

_SKIPPED_FOLDERS = {"__MACOSX", "@eaDir", "$RECYCLE.BIN"}


@dataclass
class FoundFile:
    path: str  # absolute, normalised
    size: int
    mtime_ns: int
    root: str  # the PATH it was found under: dates in folders above it are not the image's
    source: str  # default source: the first folder below the PATH
    sidecars: list[str] = field(default_factory=list)
    looks_like_image: bool = True


@dataclass
class ScanResult:
    files: list[FoundFile] = field(default_factory=list)
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)  # (path, reason, detail) for the rejects table


def absolute(path: str | os.PathLike) -> str:
    """The form every path takes in the catalog: absolute and normalised, symlinks left as they are."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def scan(paths: list[str | os.PathLike], store_root: str | os.PathLike | None = None) -> ScanResult:
    """Every non-hidden, non-metadata file under ``paths`` (files given directly are taken as they are).

    When a PATH holds the store, what the store wrote (its catalog, embeddings, run folders of renders and samples)
    is not an input; an image folder kept inside the store (the demo's simulated corpus) still is.
    """
    result = ScanResult()
    skip_dirs: set[str] = set()
    if store_root is not None:
        store = absolute(store_root)
        skip_dirs = {store} | {os.path.join(store, name) for name in (*RUN_FOLDERS, "embeddings", "pipelines", DAMAGED_FOLDER)}
    seen: set[str] = set()
    for given in paths:
        root = absolute(given)
        if os.path.isdir(root):
            _walk(root, root, result, skip_dirs, seen, store if store_root is not None else None)
        else:
            parent = os.path.dirname(root)
            _add_file(root, os.path.basename(root), parent, os.path.basename(parent) or "unknown", _names_in(parent), result, seen)
    # path order is the order images enter the catalog: "the first path" of duplicates means the same thing every run
    result.files.sort(key=lambda f: f.path)
    return result


def _walk(root: str, folder: str, result: ScanResult, skip_dirs: set[str], seen: set[str], store: str | None) -> None:
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            result.unreadable.append((current, "unreadable", f"folder cannot be read: {exc.strerror or exc}"))
            continue
        names = {e.name for e in entries}
        # per folder, not per file: an unchanged re-ingest of 20,000 files is mostly this loop
        source = _source_for(root, current)
        has_metadata = any(is_metadata_file(name) for name in names)
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not _is_utf8(entry.name):
                result.unreadable.append((printable(entry.path), "bad_name", "the name is not valid UTF-8; rename it"))
                continue
            if is_dir:
                if entry.name not in _SKIPPED_FOLDERS and (entry.path == store or entry.path not in skip_dirs):
                    subfolders.append(entry.path)
                continue
            if current == store:  # catalog.duckdb and its write-ahead log
                continue
            _add_file(entry.path, entry.name, root, source, names if has_metadata else None, result, seen, entry)
        stack.extend(reversed(subfolders))  # depth-first, in name order


def _source_for(root: str, folder: str) -> str:
    """The first folder below the PATH (``scraped/instagram/2023/...`` -> ``instagram``), else the PATH's name."""
    relative = os.path.relpath(folder, root)
    if relative in (".", ""):
        return os.path.basename(root) or "unknown"
    return relative.split(os.sep, 1)[0]


def _add_file(path, name, root, source, names, result: ScanResult, seen: set[str], entry=None) -> None:
    if name.startswith(".") or is_metadata_file(name):
        return
    if entry is None:
        path = absolute(path)  # scandir paths are already absolute and normalised: they join an absolute root
    if path in seen:
        return
    try:
        info = entry.stat() if entry is not None else os.stat(path)
    except OSError as exc:
        result.unreadable.append((path, "unreadable", f"file cannot be read: {exc.strerror or exc}"))
        return
    seen.add(path)
    if not stat.S_ISREG(info.st_mode):  # a FIFO named x.jpg would block the reader forever
        result.unreadable.append((path, "not_a_regular_file",
                                  f"this is {describe_file_type(info.st_mode)}, not a regular file; only regular files are read"))
        return
    sidecars = []
    if names:
        folder = os.path.dirname(path)
        sidecars = [os.path.join(folder, candidate) for candidate in sidecar_candidates(name) if candidate in names]
    result.files.append(
        FoundFile(
            path=path,
            size=info.st_size,
            mtime_ns=info.st_mtime_ns,
            root=root,
            source=source,
            sidecars=sidecars,
            looks_like_image=has_image_extension(name),
        )
    )


def _is_utf8(name: str) -> bool:
    """Names that are not UTF-8 reach Python as lone surrogates, which the catalog cannot store."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    """A path whose undecodable bytes are shown as \\xNN escapes (for the rejects table and messages)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _names_in(folder: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def describe_missing(paths: list[str | os.PathLike]) -> list[str]:
    """The given paths that do not exist."""
    return [str(p) for p in paths if not Path(p).expanduser().exists()]
