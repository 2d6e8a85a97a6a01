"""Dates from manifests, sidecars, EXIF and paths: every format becomes naive UTC, or None."""

from __future__ import annotations

import datetime as dt

import pytest

from trendgan.ingest.dates import date_from_path, implausible_reason, parse_exif_datetime, parse_timestamp

D = dt.datetime


@pytest.mark.parametrize(
    "value, expected",
    [
        (1684332000, D(2023, 5, 17, 14, 0)),  # epoch seconds (instaloader taken_at_timestamp)
        (1684332000000, D(2023, 5, 17, 14, 0)),  # epoch milliseconds
        ("1684332000", D(2023, 5, 17, 14, 0)),  # epoch in a string
        ("2023-05-17T14:00:00Z", D(2023, 5, 17, 14, 0)),
        ("2023-05-17T16:00:00+02:00", D(2023, 5, 17, 14, 0)),  # converted to UTC
        ("2023-05-17 14:00:00", D(2023, 5, 17, 14, 0)),  # gallery-dl
        ("20230517", D(2023, 5, 17)),  # yt-dlp upload_date
        ("Wed May 17 14:00:00 +0000 2023", D(2023, 5, 17, 14, 0)),  # Twitter created_at
        ("Wed, 17 May 2023 16:00:00 +0200", D(2023, 5, 17, 14, 0)),  # RFC 2822
        ("2023:05:17 14:00:00", D(2023, 5, 17, 14, 0)),  # EXIF style
        (dt.date(2023, 5, 17), D(2023, 5, 17)),
        ("", None),
        ("not a date", None),
        (None, None),
        (float("nan"), None),
        (True, None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


def test_exif_date_uses_its_offset_and_ignores_unset_clocks():
    assert parse_exif_datetime("2022:03:04 05:06:07", "+02:00") == D(2022, 3, 4, 3, 6, 7)
    assert parse_exif_datetime("2022:03:04 05:06:07") == D(2022, 3, 4, 5, 6, 7)
    assert parse_exif_datetime("0000:00:00 00:00:00") is None
    assert parse_exif_datetime(None) is None


@pytest.mark.parametrize(
    "path, expected",
    [
        ("insta/2023/05/look.jpg", D(2023, 5, 1)),
        ("insta/2023/05/17/look.jpg", D(2023, 5, 17)),
        ("insta/2023-05-17/look.jpg", D(2023, 5, 17)),
        ("insta/look_2023-05-17.jpg", D(2023, 5, 17)),
        ("insta/20230517.jpg", D(2023, 5, 17)),
        ("camera/IMG_20230517_142233.jpg", D(2023, 5, 17, 14, 22, 33)),
        ("insta/2023-05-17_10-00-00_UTC.jpg", D(2023, 5, 17, 10, 0, 0)),  # instaloader
        ("insta/2023-05/look.jpg", D(2023, 5, 1)),
        ("insta/2023-02-31/look.jpg", None),  # not a real day
        ("insta/look_12345678.jpg", None),  # a product id, not a date
        ("insta/look.jpg", None),
    ],
)
def test_date_from_path(path, expected):
    assert date_from_path(path) == expected


def test_file_name_beats_folder_and_folders_above_the_root_are_ignored():
    assert date_from_path("/data/2019/01/IMG_20230517_000000.jpg") == D(2023, 5, 17)
    assert date_from_path("/backups/2019-01-05/insta/look.jpg", root="/backups/2019-01-05") is None
    assert date_from_path("/backups/2019-01-05/insta/look.jpg") == D(2019, 1, 5)


def test_implausible_dates():
    now = D(2026, 1, 1)
    assert implausible_reason(D(1899, 12, 31), now) == "1899-12-31 is before 1900"
    assert "future" in implausible_reason(D(2026, 6, 1), now)
    assert implausible_reason(D(2026, 1, 2), now) is None  # a day of clock / zone slack
    assert implausible_reason(D(1990, 1, 1), now) is None
