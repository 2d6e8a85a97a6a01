"""Helpers for the embed tests: small image files and a catalog filled by hand (independent of ingest)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

TINY = "clip:trendgan-tiny/none"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Tests never touch the network: the hub counts as offline unless a test says otherwise.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def garment_image(seed: int, size=(96, 80)):
    """A distinct little picture: a coloured shape on a light background."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(180, 255, 3)))
    draw = ImageDraw.Draw(image)
    box = sorted(rng.integers(5, size[0] - 5, 2).tolist()) + sorted(rng.integers(5, size[1] - 5, 2).tolist())
    draw.rectangle((box[0], box[2], box[1] + 1, box[3] + 1), fill=tuple(int(v) for v in rng.integers(0, 160, 3)))
    return image


def write_images(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"look-{i:03d}.jpg"
        garment_image(i).save(path, quality=90)
        paths.append(path)
    return paths


def add_to_catalog(store, paths) -> list[str]:
    """Insert images rows as ingest would (image_id = sha256 of the bytes); returns the ids."""
    from trendgan.store import utcnow

    ids = []
    with store.catalog() as db:
        for path in paths:
            path = Path(path)
            data = path.read_bytes() if path.exists() else str(path).encode()
            image_id = hashlib.sha256(data).hexdigest()
            db.execute(
                "INSERT INTO images (image_id, path, source, date_origin, width, height, phash, ingested_at) "
                "VALUES (?, ?, 'test', 'none', 96, 80, '0000000000000000', ?)", [image_id, str(path), utcnow()])
            db.execute("INSERT INTO files VALUES (?, ?, 0, ?, 'image')", [str(path), len(data), image_id])
            ids.append(image_id)
    return ids


@pytest.fixture
def catalogued(store, tmp_path):
    """A store whose catalog lists 12 small JPEGs."""
    paths = write_images(tmp_path / "images", 12)
    ids = add_to_catalog(store, paths)
    return store, paths, ids
