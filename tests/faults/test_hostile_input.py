"""Hostile and odd input, as an attacker or a careless scraper would supply it: nothing hangs, nothing outside the
folders given is read, every odd row is reported, and the rest is ingested."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from trendgan.errors import IngestError
from trendgan.ingest import BadImage, ingest, open_rgb
from trendgan.ingest.images import safe_image

from .conftest import TINY, cli, garment


def _rows(store, sql):
    with store.catalog(read_only=True) as db:
        return db.execute(sql).fetchall()


def _bomb(path, side=30_000):
    """A small PNG whose header claims side x side pixels (the classic decompression bomb)."""
    import io
    import struct
    import zlib

    buffer = io.BytesIO()
    garment(1, 16).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


@pytest.mark.timeout(60)  # the failure this guards against is a hang
def test_images_swapped_for_a_fifo_or_a_bomb_after_ingest_are_refused_not_waited_on(own_corpus, store):
    """`report`, `embed`, `train` and styles' naming read catalogued files again: a FIFO there blocked them forever,
    a decompression bomb ended `report` in a traceback."""
    from trendgan.embed import embed
    from trendgan.report.html import thumbnail_data_uri

    fresh = store
    ingest([own_corpus], store=fresh, workers=1)
    paths = sorted(own_corpus.rglob("*.png"))
    paths[0].unlink()
    os.mkfifo(paths[0])
    _bomb(paths[1])
    for path, reason in ((paths[0], "not_a_regular_file"), (paths[1], "decompression_bomb")):
        with pytest.raises(BadImage) as bad:
            open_rgb(str(path))
        assert bad.value.reason == reason
        with pytest.raises(BadImage):
            with safe_image(path):
                pass
        assert thumbnail_data_uri(path) is None  # the report leaves the picture out
    assert thumbnail_data_uri(paths[2]).startswith("data:image/jpeg;base64,")

    result = embed(fresh, encoder=TINY, device="cpu", workers=0)
    assert (result.embedded, result.rejected) == (10, 2)
    assert sorted(_rows(fresh, "SELECT reason FROM rejects WHERE stage = 'embed'")) == [
        ("decompression_bomb",), ("not_a_regular_file",)]


def test_manifest_rows_that_cannot_name_a_file_are_reported_and_the_rest_ingested(own_corpus, store, tmp_path):
    """A NUL byte, a lone surrogate (half an emoji), bytes that are not UTF-8: each used to end ingest in a traceback."""
    good = sorted(own_corpus.rglob("*.png"))[:2]
    jsonl = own_corpus / "manifest.jsonl"
    jsonl.write_text(
        f'{{"path": "{good[0]}", "date": "2023-05-01"}}\n'
        '{"path": "shop/evil\\u0000.png", "date": "2023-05-02"}\n'
        '{"path": "shop/half-\\ud83d.png", "date": "2023-05-03"}\n', encoding="utf-8")
    result = ingest([own_corpus], store=store, manifest=jsonl, workers=1)
    assert result.new == 12 and result.rejected == {"bad_name": 2}
    details = sorted(d for (d,) in _rows(store, "SELECT detail FROM rejects"))
    assert details == ["manifest row 2: the path holds a NUL byte",
                       "manifest row 3: the path is not valid UTF-8 text (a broken character)"]
    assert _rows(store, f"SELECT posted_at::DATE::VARCHAR FROM images WHERE path = '{good[0]}'") == [("2023-05-01",)]

    csv_manifest = own_corpus / "manifest.csv"
    csv_manifest.write_bytes(f"path,date\n{good[1]},2023-06-01\nshop/caf\xe9.png,2023-06-02\n".encode("latin-1"))
    again = ingest([own_corpus], store=store, manifest=csv_manifest, workers=1)
    assert again.rejected == {"bad_name": 1}
    assert ("manifest row 2: the path is not valid UTF-8 text (a broken character)",) in _rows(
        store, "SELECT detail FROM rejects WHERE path LIKE '%caf%'")


def test_a_manifest_cannot_reach_outside_the_folders_given(own_corpus, store, tmp_path):
    private = tmp_path / "outside" / "private"
    private.mkdir(parents=True)
    garment(99).save(private / "x.png")
    (own_corpus / "shop" / "link.png").symlink_to(private / "x.png")  # a symlink leading out counts as outside
    manifest = own_corpus / "manifest.csv"
    manifest.write_text("path,date\n../outside/private/x.png,2023-05-01\nshop/link.png,2023-05-01\n")
    scanned_link = own_corpus / "shop" / "link.png"

    result = cli("ingest", own_corpus / "shop" / "2023-01-02", "--manifest", manifest, "--store", store.root, "-q")
    assert result.exit_code == 0, result.output
    rows = _rows(store, "SELECT path, reason FROM rejects ORDER BY path")
    assert rows == [(str(scanned_link), "outside"), (str(private / "x.png"), "outside")]
    assert not _rows(store, "SELECT * FROM images WHERE path LIKE '%private%' OR path LIKE '%link%'")

    allowed = cli("ingest", own_corpus / "shop" / "2023-01-02", "--manifest", manifest, "--allow-outside",
                  "--store", store.root, "-q")
    assert allowed.exit_code == 0, allowed.output
    assert _rows(store, "SELECT count(*) FROM images WHERE path LIKE '%private%'") == [(1,)]


def test_duplicate_manifest_rows_with_different_dates_are_reported(own_corpus, store):
    image = sorted(own_corpus.rglob("*.png"))[0]
    manifest = own_corpus / "manifest.csv"
    manifest.write_text(f"path,date\n{image},2023-03-01\n{image},2023-03-01\n{image},2023-04-15\n")
    result = cli("ingest", own_corpus, "--manifest", manifest, "--store", store.root)
    assert result.exit_code == 0, result.output
    assert "1 manifest path is listed more than once with different dates" in result.output
    assert "2023-04-15, not 2023-03-01" in result.output  # which date was used, and which dropped
    assert _rows(store, f"SELECT posted_at::DATE::VARCHAR FROM images WHERE path = '{image}'") == [("2023-04-15",)]


def test_one_oversized_caption_does_not_abort_the_ingest(own_corpus, store):
    from trendgan.ingest.metadata import MAX_CAPTION_CHARS

    images = sorted(own_corpus.rglob("*.png"))[:3]
    manifest = own_corpus / "manifest.csv"
    lines = ["path,date,caption", f"{images[0]},2023-03-01,short", f'{images[1]},2023-03-02,"{"x" * 300_000}"',
             f"{images[2]},2023-03-03,#linen"]
    manifest.write_text("\n".join(lines) + "\n")
    result = ingest([own_corpus], store=store, manifest=manifest, workers=1)
    assert result.new == 12 and result.long_captions == 1 and result.date_origins["manifest"] == 3
    captions = dict(_rows(store, "SELECT path, length(caption) FROM images WHERE caption IS NOT NULL"))
    assert captions == {str(images[0]): 5, str(images[1]): MAX_CAPTION_CHARS, str(images[2]): 6}


def test_a_manifest_that_is_itself_a_fifo_is_refused(own_corpus, store, tmp_path):
    fifo = tmp_path / "manifest.csv"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="is not a file"):
        ingest([own_corpus], store=store, manifest=fifo)


def test_a_device_or_fifo_listed_in_a_manifest_is_rejected_with_the_reason(own_corpus, store):
    os.mkfifo(own_corpus / "shop" / ".hidden-pipe.jpg")  # hidden from the scan, named by the manifest
    manifest = own_corpus / "manifest.csv"
    manifest.write_text("path,date\nshop/.hidden-pipe.jpg,2023-05-01\n")
    result = ingest([own_corpus], store=store, manifest=manifest, workers=1)
    assert result.new == 12 and result.rejected == {"not_a_regular_file": 1}


def test_a_huge_file_named_like_an_image_is_not_read_into_memory(own_corpus, store, monkeypatch):
    import trendgan.ingest.images as images

    monkeypatch.setattr(images, "MAX_FILE_BYTES", 40)  # the real limit is 1 GiB; the rule is the same
    result = ingest([own_corpus], store=store, workers=1)
    assert result.new == 0 and result.rejected == {"too_large": 12}


def test_pictures_still_decode_the_same_through_the_safe_opener(own_corpus):
    path = sorted(own_corpus.rglob("*.png"))[0]
    with safe_image(path) as image:
        via_safe = np.asarray(image.convert("RGB"))
    assert (via_safe == np.asarray(Image.open(path).convert("RGB"))).all()
    assert (np.asarray(open_rgb(str(path))) == via_safe).all()
