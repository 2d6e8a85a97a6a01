"""Every kind of bad file gets its reason; every odd-but-good mode becomes faithful RGB."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from PIL import Image

from trendgan.ingest.duplicates import earliest_near_duplicates, hamming, hashes_to_int
from trendgan.ingest.images import BadImage, examine_file, open_rgb


def reason_for(path, **kw) -> str:
    with pytest.raises(BadImage) as caught:
        examine_file(str(path), **kw)
    return caught.value.reason


def test_reject_reasons(pics):
    assert reason_for(pics.write_bytes("empty.jpg", b"")) == "empty"
    assert reason_for(pics.write_bytes("notes.jpg", b"just some text, not a picture")) == "not_an_image"
    assert reason_for(pics.truncated_jpeg("cut.jpg")) == "truncated"
    assert reason_for(pics.corrupt_png("broken.png")) == "corrupt"
    assert reason_for(pics.bomb_png("bomb.png")) == "decompression_bomb"
    assert reason_for(pics.write("big.png", size=64), max_pixels=1000) == "decompression_bomb"
    lab = pics.root / "lab.tif"
    Image.new("LAB", (8, 8), (50, 0, 0)).save(lab)
    assert reason_for(lab) == "unsupported_mode"


def test_a_bomb_just_over_the_limit_is_caught_too(pics):
    # Pillow only *warns* between 1x and 2x its limit; ingest treats that as a bomb as well
    limit = Image.MAX_IMAGE_PIXELS
    side = int((limit * 1.5) ** 0.5)
    assert reason_for(pics.bomb_png("warn.png", side, side)) == "decompression_bomb"


def test_cmyk_palette_alpha_and_16_bit_become_rgb(pics):
    cmyk = pics.root / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(cmyk)
    assert open_rgb(str(cmyk)).getpixel((8, 8))[0] > 200  # red stays red

    palette = pics.root / "palette.png"
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.save(palette, transparency=0)
    assert open_rgb(str(palette)).getpixel((0, 0)) == (0, 0, 255)

    rgba = pics.root / "alpha.png"
    Image.new("RGBA", (16, 16), (255, 0, 0, 0)).save(rgba)
    assert open_rgb(str(rgba)).getpixel((0, 0)) == (255, 255, 255)  # transparent shows as white, as on a web page

    grey16 = pics.root / "grey16.png"
    Image.fromarray(np.full((16, 16), 32768, dtype=np.uint16)).save(grey16)
    assert Image.open(grey16).mode.startswith("I")
    value = open_rgb(str(grey16)).getpixel((0, 0))
    assert 120 <= value[0] <= 135 and value[0] == value[1] == value[2]  # mid grey, not clipped to white

    for path in (cmyk, palette, rgba, grey16):
        facts = examine_file(str(path))
        assert facts.width == 16 and len(facts.phash) == 16


def test_exif_rotation_and_date(pics):
    path = pics.with_exif("rotated.jpg", taken="2022:03:04 05:06:07", offset="+02:00", orientation=6, size=(48, 24))
    facts = examine_file(str(path))
    assert (facts.width, facts.height) == (24, 48)  # as people see it, after the camera's rotation
    assert facts.exif_taken_at == dt.datetime(2022, 3, 4, 3, 6, 7)
    assert open_rgb(str(path)).size == (24, 48)


def test_same_bytes_same_id_resized_copy_close_phash(pics):
    original = pics.write("a.png", seed=3, size=96)
    copy = pics.write_bytes("copy.png", original.read_bytes())
    resized = pics.root / "small.jpg"
    Image.open(original).resize((60, 60)).save(resized, quality=80)
    other = pics.write("b.png", seed=4, size=96)
    a, c, r, o = (examine_file(str(p)) for p in (original, copy, resized, other))
    assert a.image_id == c.image_id != r.image_id
    assert hamming(a.phash, r.phash) <= 6
    assert hamming(a.phash, o.phash) > 12


def test_near_duplicate_search_picks_the_earliest_earlier_image():
    earlier = hashes_to_int(["ffff000000000000", "0000ffff00000000"])
    new = hashes_to_int(["ffff000000000001", "0f0f0f0f0f0f0f0f", "0f0f0f0f0f0f0f0e", "ffff000000000003"])
    assert list(earliest_near_duplicates(earlier, new, 6)) == [0, -1, 3, 0]
    assert list(earliest_near_duplicates(earlier, new, -1)) == [-1, -1, -1, -1]
    assert list(earliest_near_duplicates(earlier, new[:0], 6)) == []


def _reference_search(hashes, layouts, n_earlier, max_distance, tolerance):
    """The definition, one pair at a time."""
    out = []
    for i in range(n_earlier, len(hashes)):
        match = -1
        for j in range(i):
            close = bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= max_distance
            if close and np.abs(layouts[i] - layouts[j]).max() <= tolerance:
                match = j
                break
        out.append(match)
    return out


@pytest.mark.parametrize("path", ["block index", "full scan"])
def test_near_duplicate_search_matches_the_definition(monkeypatch, path):
    import trendgan.ingest.duplicates as duplicates

    monkeypatch.setattr(duplicates, "_CHUNK", 7)  # many chunks: matches across chunks and within them
    monkeypatch.setattr(duplicates, "_PAIRS_PER_SLICE", 5)
    if path == "full scan":
        monkeypatch.setattr(duplicates, "_MAX_INDEXED_DISTANCE", -1)
        monkeypatch.setattr(duplicates, "_BLOCK_CELLS", 50)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=30, dtype=np.uint64)
    # clusters: copies of a few hashes with 0-5 bits flipped, in shuffled order
    copies = [base[i % 6] ^ np.uint64(sum(1 << int(b) for b in rng.choice(64, rng.integers(0, 6), replace=False)))
              for i in range(50)]
    hashes = np.concatenate([base, np.array(copies, dtype=np.uint64)])
    rng.shuffle(hashes)
    layouts = rng.integers(100, 110, size=(len(hashes), 192)).astype(np.int16)
    layouts[::5] += 60  # every fifth image in another colour
    for n_earlier in (0, 33):
        found = duplicates.earliest_near_duplicates(hashes[:n_earlier], hashes[n_earlier:], 4,
                                                    layouts[:n_earlier], layouts[n_earlier:], 32)
        expected = _reference_search(hashes, layouts, n_earlier, 4, 32)
        assert list(found) == expected
        assert sum(e >= 0 for e in expected) >= 20


def test_colour_check_keeps_other_colours_apart_and_trusts_the_hash_when_colours_are_unknown():
    from trendgan.ingest.duplicates import layouts_to_array

    same = hashes_to_int(["ffff000000000000"])
    red, teal = bytes([220, 20, 20] * 64), bytes([10, 98, 168] * 64)
    slightly_off = bytes([210, 30, 25] * 64)
    earlier = layouts_to_array([red])
    assert list(earliest_near_duplicates(same, same, 6, earlier, layouts_to_array([teal]))) == [-1]
    assert list(earliest_near_duplicates(same, same, 6, earlier, layouts_to_array([slightly_off]))) == [0]
    assert list(earliest_near_duplicates(same, same, 6, layouts_to_array([None]), layouts_to_array([teal]))) == [0]
    assert list(earliest_near_duplicates(same, same, 6, earlier, layouts_to_array([teal]), colour_tolerance=255)) == [0]


def test_common_web_formats_are_read(pics):
    for name in ("a.webp", "a.gif", "a.bmp", "a.tiff", "a.avif", "a.jfif"):
        fmt = {"jfif": "JPEG"}.get(name.split(".")[1])
        path = pics.write(name, seed=1, size=32, **({"format": fmt} if fmt else {}))
        facts = examine_file(str(path))
        assert (facts.width, facts.height) == (32, 32), name


def test_many_identical_hashes_fall_back_to_the_full_scan_and_still_find_the_first():
    blank = np.full(3000, 0x8000000000000000, dtype=np.uint64)  # e.g. plain single-colour images
    found = earliest_near_duplicates(blank[:2000], blank[2000:], 6)
    assert (found == 0).all()
