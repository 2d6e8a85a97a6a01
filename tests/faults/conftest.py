"""Fault injection: kill, fill the disk, damage files, then check that finished work is intact, the user gets one
clear line, and a re-run (after `trendgan check --repair`) reaches the same store as a run nothing happened to.

Every test records what it did in ``tally`` (faults injected, runs recovered, rows compared, rows lost); the totals
are printed at the end of the session (and written to $TRENDGAN_FAULT_TALLY as JSON when it is set).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

TINY = "clip:trendgan-tiny/none"  # a randomly initialised small CLIP: real code path, milliseconds per image

TALLY: Counter = Counter()


@pytest.fixture
def tally() -> Counter:
    return TALLY


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    terminalreporter.write_line(
        "fault injection: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(TALLY.items())))
    target = os.environ.get("TRENDGAN_FAULT_TALLY")
    if target:
        Path(target).write_text(json.dumps(dict(TALLY), indent=2, sort_keys=True))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# --------------------------------------------------------------------------- a small dated corpus


def garment(seed: int, size: int = 40):
    """A distinct little picture: a dark shape on a light background (no two near-duplicates)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(170, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = (int(v) for v in rng.integers(0, size - 12, 2))
        x1, y1 = x0 + int(rng.integers(6, 12)), y0 + int(rng.integers(6, 12))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 150, 3)))
    return image


def write_corpus(folder: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` PNGs dated by their folder (one a week from 2023-01-02), under ``folder/shop/``."""
    import datetime as dt

    paths = []
    for i in range(start, start + count):
        day = dt.date(2023, 1, 2) + dt.timedelta(weeks=i // 2)
        path = folder / "shop" / f"{day:%Y-%m-%d}" / f"look-{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        garment(i).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def own_corpus(tmp_path) -> Path:
    """12 dated images this test may change."""
    folder = tmp_path / "corpus"
    write_corpus(folder, 12)
    return folder


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """Built once: 12 dated images, and a store holding them ingested and embedded with the tiny CLIP (parts of 4)."""
    from trendgan.embed import embed
    from trendgan.ingest import ingest
    from trendgan.store import Store

    root = tmp_path_factory.mktemp("faults-template")
    write_corpus(root / "corpus", 12)
    store = Store(root / "store")
    ingest([root / "corpus"], store=store, workers=1, near_duplicate_distance=-1)
    embed(store, encoder=TINY, device="cpu", workers=0, batch_size=4, part_size=4)
    return root


@pytest.fixture
def corpus(_template) -> Path:
    """The template's 12 images (shared by the session: read them, never change them; see own_corpus)."""
    return _template / "corpus"


@pytest.fixture
def embedded(_template, store):
    """A fresh copy of the template store (its catalog names the shared corpus)."""
    return copy_store(_template / "store", store.root)


def copy_store(store, target: Path):
    """A copy of a store (or a store folder) at ``target``."""
    from trendgan.store import Store

    source = store.root if isinstance(store, Store) else Path(store)
    assert (source / "catalog.duckdb").exists(), source  # never copy anything but a store
    shutil.copytree(source, target)
    return Store(target)


# --------------------------------------------------------------------------- what a store holds, to compare


def store_rows(store) -> dict[str, list]:
    """Everything a finished store holds that a re-run must reproduce, as sorted rows: the catalog's images, files
    and ingest rejects, and every encoder's vectors (id, vector)."""
    from trendgan.embed.vectors import load_vectors, read_encoder_info

    rows: dict[str, list] = {}
    if store.exists():
        with store.catalog(read_only=True) as db:
            rows["images"] = db.execute(
                "SELECT image_id, path, source, leading_source, posted_at, date_origin, width, height, phash, "
                "duplicate_of, caption, engagement FROM images ORDER BY image_id").fetchall()
            rows["files"] = db.execute("SELECT path, size, image_id, status FROM files ORDER BY path").fetchall()
            rows["rejects"] = db.execute(
                "SELECT path, stage, reason FROM rejects ORDER BY path, stage, reason").fetchall()
    root = store.root / "embeddings"
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        key = read_encoder_info(folder).get("key")
        if key:
            ids, vectors = load_vectors(store, key)
            order = np.argsort(ids)
            rows[f"vectors {key}"] = [(ids[i], vectors[i].round(5).tobytes()) for i in order]
    return rows


def assert_same_store(got, expected, tally: Counter | None = None) -> int:
    """The two stores hold the same rows (nothing lost, nothing twice); returns how many rows were compared."""
    a, b = store_rows(got), store_rows(expected)
    assert a.keys() == b.keys()
    compared = 0
    for name in b:
        lost = len(set(b[name]) - set(a[name]))
        if tally is not None:
            tally["rows lost"] += lost
        assert a[name] == b[name], f"{name}: {lost} rows lost, {len(set(a[name]) - set(b[name]))} extra"
        compared += len(b[name])
    if tally is not None:
        tally["rows compared"] += compared
    return compared


# --------------------------------------------------------------------------- the command line


runner = CliRunner()


def cli(*args: str):
    from trendgan.cli.app import app

    return runner.invoke(app, [str(a) for a in args])


def assert_one_line(result, *fragments: str) -> str:
    """A failed command: exit code 1, no traceback, exactly one line starting ``error:``, holding ``fragments``."""
    output = result.output
    assert result.exit_code == 1, (result.exit_code, output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]
