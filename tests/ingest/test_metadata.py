"""Sidecars written by common scrapers, and manifests (CSV / JSON Lines)."""

from __future__ import annotations

import datetime as dt
import json
import lzma

import pytest

from trendgan.errors import IngestError
from trendgan.ingest.metadata import hashtags_in, read_manifest, read_sidecars, sidecar_candidates


def test_gallery_dl_sidecar(tmp_path):
    sidecar = tmp_path / "look.jpg.json"
    sidecar.write_text(json.dumps({"date": "2023-05-17 14:00:00", "description": "Linen set #Boho",
                                   "favorite_count": 31, "tags": ["Boho", "#Summer"]}))
    info = read_sidecars([sidecar])
    assert info.posted_at == dt.datetime(2023, 5, 17, 14)
    assert info.caption == "Linen set #Boho"
    assert info.likes == 31
    assert info.hashtags == ["boho", "summer"]
    assert info.origin == "sidecar"


def test_instaloader_xz_sidecar_with_caption_txt_shared_by_a_multi_image_post(tmp_path):
    stem = "2023-05-17_10-00-00_UTC"
    node = {"node": {"taken_at_timestamp": 1684317600, "edge_media_preview_like": {"count": 1200},
                     "edge_media_to_caption": {"edges": [{"node": {"text": "Cargo pants everywhere #streetstyle"}}]}}}
    (tmp_path / f"{stem}.json.xz").write_bytes(lzma.compress(json.dumps(node).encode()))
    (tmp_path / f"{stem}.txt").write_text("caption from the txt file")
    names = {f"{stem}.json.xz", f"{stem}.txt", f"{stem}_2.jpg"}
    found = [tmp_path / n for n in sidecar_candidates(f"{stem}_2.jpg") if n in names]
    info = read_sidecars(found)
    assert info.posted_at == dt.datetime(2023, 5, 17, 10)
    assert info.likes == 1200
    assert info.caption == "Cargo pants everywhere #streetstyle"  # the JSON caption wins over the .txt
    assert info.hashtags == ["streetstyle"]


def test_yt_dlp_info_json_and_txt_only_caption(tmp_path):
    (tmp_path / "clip.info.json").write_text(json.dumps({"upload_date": "20230517", "like_count": "1,204"}))
    info = read_sidecars([tmp_path / "clip.info.json"])
    assert info.posted_at == dt.datetime(2023, 5, 17)
    assert info.likes == 1204
    (tmp_path / "only.txt").write_text("Just a caption #Y2K")
    info = read_sidecars([tmp_path / "only.txt"])
    assert info.posted_at is None and info.caption == "Just a caption #Y2K" and info.hashtags == ["y2k"]


def test_broken_sidecars_are_ignored_not_fatal(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text("[1, 2]")
    assert read_sidecars([tmp_path / "a.json"]) is None
    assert read_sidecars([tmp_path / "b.json"]) is None


def test_hashtags_in_keeps_first_order_without_repeats():
    assert hashtags_in("#Boho and #linen, more #boho") == ["boho", "linen"]


def test_csv_manifest_relative_to_its_folder(tmp_path):
    (tmp_path / "m.csv").write_text("path,date,source,caption,likes\nimgs/a.jpg,2023-05-17,runway,Look 1,10\n"
                                    f"{tmp_path}/b.jpg,not a date,,,\n")
    entries = read_manifest(tmp_path / "m.csv")
    a = entries[str(tmp_path / "imgs" / "a.jpg")]
    assert (a.posted_at, a.source, a.caption, a.likes, a.origin) == (dt.datetime(2023, 5, 17), "runway", "Look 1", 10, "manifest")
    b = entries[str(tmp_path / "b.jpg")]
    assert b.posted_at is None and b.source is None


def test_jsonl_manifest(tmp_path):
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "a.png", "date": 1684317600, "likes": 5}) + "\n\n")
    entries = read_manifest(tmp_path / "m.jsonl")
    assert entries[str(tmp_path / "a.png")].posted_at == dt.datetime(2023, 5, 17, 10)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("m.csv", "file_name,when\na.jpg,2023-01-01\n", "no path column"),
        ("m.jsonl", '{"path": "a.jpg"}\n{broken\n', "line 2"),
    ],
)
def test_bad_manifests_raise_a_clear_error(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(IngestError, match=message):
        read_manifest(tmp_path / name)


def test_missing_manifest(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        read_manifest(tmp_path / "nope.csv")


def test_captions_cut_mid_emoji_are_stored_safely(tmp_path):
    # a caption truncated by the scraper in the middle of an emoji: a lone surrogate in the JSON
    (tmp_path / "a.json").write_text('{"caption": "Love this \\ud83d", "tags": ["ok\\ud83d"]}')
    info = read_sidecars([tmp_path / "a.json"])
    info.caption.encode("utf-8")  # would raise on a lone surrogate
    assert info.caption.startswith("Love this") and info.hashtags[0].startswith("ok")


def test_odd_like_counts_are_dropped_not_fatal(tmp_path):
    for raw, expected in [("inf", None), ("1e30", None), (-3, None), ("n/a", None), ("1,204", 1204)]:
        (tmp_path / "a.json").write_text(json.dumps({"likes": raw}))
        assert read_sidecars([tmp_path / "a.json"]).likes == expected
