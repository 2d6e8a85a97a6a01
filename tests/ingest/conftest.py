"""Small pictures made with Pillow, for every way a scraped file can arrive (good, odd and broken)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


class Pictures:
    """Writes test images; each ``seed`` gives a different noise picture (so no two are near duplicates)."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def picture(self, seed: int, size: int = 48, mode: str = "RGB") -> Image.Image:
        rng = np.random.default_rng(seed)
        blocks = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)  # coarse noise: phash differs by ~32 bits
        image = Image.fromarray(blocks).resize((size, size), Image.BILINEAR)  # smooth, like a photo
        return image if mode == "RGB" else image.convert(mode)

    def write(self, relative: str, seed: int = 0, size: int = 48, mtime: float | None = None, **save) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self.picture(seed, size).save(path, **save)
        if mtime is not None:
            import os

            os.utime(path, (mtime, mtime))
        return path

    def write_bytes(self, relative: str, data: bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def write_json(self, relative: str, payload) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload))
        return path

    def silhouette(self, relative: str, colour: tuple[int, int, int], size: int = 64) -> Path:
        """A garment shape on light grey with a little texture; colours of equal brightness give the same grey
        image, so the same phash (flat, symmetric shapes would make phash itself unstable)."""
        from PIL import ImageDraw

        image = Image.new("RGB", (size, size), (235, 235, 235))
        corners = [(0.3, 0.12), (0.62, 0.1), (0.9, 0.38), (0.72, 0.45), (0.75, 0.92), (0.28, 0.88), (0.3, 0.45), (0.1, 0.35)]
        ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in corners], fill=colour)
        texture = np.random.default_rng(0).integers(-8, 9, size=(size, size, 1))
        image = Image.fromarray(np.clip(np.asarray(image, dtype=int) + texture, 0, 255).astype(np.uint8))
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        return path

    def with_exif(self, relative: str, seed: int = 0, taken: str | None = None, offset: str | None = None,
                  orientation: int | None = None, size=(48, 24)) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        if taken:
            exif.get_ifd(0x8769)[36867] = taken
        if offset:
            exif.get_ifd(0x8769)[36881] = offset
        self.picture(seed).resize(size).save(path, exif=exif, quality=95)
        return path

    def bomb_png(self, relative: str, width: int = 30_000, height: int = 30_000) -> Path:
        """A tiny PNG whose header claims width x height pixels (the classic decompression bomb)."""
        import io

        buffer = io.BytesIO()
        self.picture(1, 16).save(buffer, "PNG")
        data = bytearray(buffer.getvalue())
        data[16:24] = struct.pack(">II", width, height)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
        return self.write_bytes(relative, bytes(data))

    def truncated_jpeg(self, relative: str, seed: int = 0) -> Path:
        import io

        buffer = io.BytesIO()
        self.picture(seed, 96).save(buffer, "JPEG", quality=95)
        data = buffer.getvalue()
        return self.write_bytes(relative, data[: len(data) // 2])

    def corrupt_png(self, relative: str, seed: int = 0) -> Path:
        """Bytes flipped inside the image data: the chunk checksum no longer matches."""
        import io

        buffer = io.BytesIO()
        self.picture(seed, 48).save(buffer, "PNG")
        data = bytearray(buffer.getvalue())
        start = data.index(b"IDAT") + 8
        for i in range(start, start + 16):
            data[i] ^= 0xFF
        return self.write_bytes(relative, bytes(data))


@pytest.fixture
def pics(tmp_path) -> Pictures:
    return Pictures(tmp_path / "scraped")


@pytest.fixture
def catalog_rows():
    """``catalog_rows(store, "SELECT ...")`` -> list of tuples, read-only."""

    def query(store, sql: str, *args):
        with store.catalog(read_only=True) as db:
            return db.execute(sql, list(args)).fetchall()

    return query
