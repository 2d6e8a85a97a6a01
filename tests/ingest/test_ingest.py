"""The ingest stage end to end on small Pillow-made folders: dates, sources, rejects, duplicates, re-ingest, resume."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest
from PIL import Image

import trendgan.ingest.core as core
import trendgan.ingest.examine as examine
import trendgan.ingest.images as core_images
from trendgan.errors import IngestError, StoreLockedError
from trendgan.ingest import ingest

D = dt.datetime


def images_by_name(store, catalog_rows, columns="posted_at, date_origin"):
    rows = catalog_rows(store, f"SELECT path, {columns} FROM images")
    return {os.path.basename(r[0]): r[1:] if len(r) > 2 else r[1] for r in rows}


def test_every_date_source_in_priority_order(pics, store, catalog_rows, tmp_path):
    pics.write("insta/2021/01/manifest_wins.png", seed=1)
    pics.write_json("insta/2021/01/manifest_wins.json", {"date": "2022-02-02"})
    pics.write("insta/2021/01/sidecar.png", seed=2)
    pics.write_json("insta/2021/01/sidecar.png.json", {"taken_at_timestamp": 1684317600})
    pics.with_exif("insta/2021/01/exif.jpg", seed=3, taken="2020:06:07 08:09:10")
    pics.write("insta/2021/01/path.png", seed=4)
    pics.write("insta/undated/IMG_mtime.png", seed=5, mtime=D(2019, 4, 5, tzinfo=dt.timezone.utc).timestamp())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,date\nscraped/insta/2021/01/manifest_wins.png,2023-03-03T10:00:00+01:00\n")

    result = ingest([pics.root], store=store, manifest=manifest)
    dates = images_by_name(store, catalog_rows)
    assert dates["manifest_wins.png"] == (D(2023, 3, 3, 9), "manifest")
    assert dates["sidecar.png"] == (D(2023, 5, 17, 10), "sidecar")
    assert dates["exif.jpg"] == (D(2020, 6, 7, 8, 9, 10), "exif")
    assert dates["path.png"] == (D(2021, 1, 1), "path")
    assert dates["IMG_mtime.png"] == (None, "none")  # the modification time is used only when asked
    assert result.undated == 1 and result.undated_examples[0].endswith("IMG_mtime.png")
    assert result.date_origins == {"manifest": 1, "sidecar": 1, "exif": 1, "path": 1, "none": 1}


def test_unreadable_manifest_dates_fall_through_and_are_counted(pics, store, catalog_rows, tmp_path):
    pics.write("src/2021/07/look.png", seed=1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,date\nscraped/src/2021/07/look.png,17th of May\n")
    result = ingest([pics.root], store=store, manifest=manifest)
    assert images_by_name(store, catalog_rows)["look.png"] == (D(2021, 7, 1), "path")
    assert result.unreadable_dates == 1 and result.unreadable_date_examples[0][1] == "17th of May"


def test_mtime_dates_only_when_asked(pics, store, catalog_rows):
    stamp = D(2019, 4, 5, 6, 7, 8, tzinfo=dt.timezone.utc).timestamp()
    pics.write("src/look.png", seed=1, mtime=stamp)
    ingest([pics.root], store=store, date_from_mtime=True)
    assert images_by_name(store, catalog_rows)["look.png"] == (D(2019, 4, 5, 6, 7, 8), "mtime")


def test_absurd_dates_are_rejected_with_the_reason(pics, store, catalog_rows, tmp_path):
    pics.write("src/old.png", seed=1)
    pics.write_json("src/old.png.json", {"date": "1850-01-01"})
    pics.write("src/future.png", seed=2)
    pics.write("src/2020/05/fine.png", seed=3)
    future = (dt.datetime.now() + dt.timedelta(days=400)).strftime("%Y-%m-%d")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"path": str(pics.root / "src/future.png"), "date": future}) + "\n")

    pics.write("src/2098/01/far.png", seed=4)
    pics.with_exif("src/camera.jpg", seed=5, taken="1850:01:01 00:00:00")

    result = ingest([pics.root], store=store, manifest=manifest)
    assert result.rejected == {"absurd_date": 4} and result.new == 1
    rejects = dict(catalog_rows(store, "SELECT path, detail FROM rejects WHERE reason = 'absurd_date'"))
    assert rejects[str(pics.root / "src/old.png")] == "sidecar date 1850-01-01: 1850-01-01 is before 1900"
    assert "manifest date" in rejects[str(pics.root / "src/future.png")]
    assert "in the future" in rejects[str(pics.root / "src/future.png")]
    assert rejects[str(pics.root / "src/2098/01/far.png")].startswith("path date 2098-01-01")
    assert rejects[str(pics.root / "src/camera.jpg")].startswith("exif date 1850-01-01")


def test_every_reject_reason_and_nothing_else_is_lost(pics, store, catalog_rows, monkeypatch):
    pics.write("shop/good1.png", seed=1)
    pics.write("shop/good2.jpg", seed=2)
    pics.write_bytes("shop/empty.jpg", b"")
    pics.write_bytes("shop/clip.mp4", b"\x00\x00\x00\x18ftypmp42")
    pics.write_bytes("shop/fake.png", b"<html>not an image</html>")
    pics.truncated_jpeg("shop/cut.jpg", seed=3)
    pics.corrupt_png("shop/broken.png", seed=4)
    pics.bomb_png("shop/bomb.png")
    Image.new("LAB", (8, 8)).save(pics.root / "shop/lab.tif")
    pics.write("shop/locked.png", seed=5)
    pics.write("shop/.DS_Store.png", seed=6)  # hidden: not looked at
    pics.write_json("shop/good1.png.json", {"likes": 3})  # metadata: read, never rejected
    os.mkfifo(pics.root / "shop/pipe.jpg")  # a named pipe: reading it would block forever

    real_open = core_images.open_regular

    def no_permission(path, *args, **kwargs):
        if str(path).endswith("locked.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(core_images, "open_regular", no_permission)
    result = ingest([pics.root], store=store, workers=1)
    assert result.new == 2
    assert result.rejected == {
        "empty": 1, "wrong_extension": 1, "not_an_image": 1, "truncated": 1, "corrupt": 1,
        "decompression_bomb": 1, "unsupported_mode": 1, "unreadable": 1, "not_a_regular_file": 1,
    }
    assert catalog_rows(store, "SELECT detail FROM rejects WHERE reason = 'not_a_regular_file'") == [
        ("this is a named pipe (FIFO), not a regular file; only regular files are read",)]
    statuses = dict(catalog_rows(store, "SELECT status, count(*) FROM files GROUP BY status"))
    assert statuses == {"image": 2, "rejected": 8}  # the FIFO is reported each time, never catalogued as a file
    assert catalog_rows(store, "SELECT count(*) FROM rejects")[0][0] == 9


def test_a_file_name_that_is_not_utf8_is_reported_not_fatal(pics, store, catalog_rows):
    good = pics.write("src/ok.png", seed=1)
    try:
        (pics.root / "src" / os.fsdecode(b"caf\xe9.png")).write_bytes(good.read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take undecodable names")
    result = ingest([pics.root], store=store)
    assert (result.new, result.rejected) == (1, {"bad_name": 1})
    assert catalog_rows(store, "SELECT path FROM rejects") == [(str(pics.root / "src") + "/caf\\xe9.png",)]


def test_unreadable_folders_are_reported_and_the_rest_ingested(pics, store, catalog_rows, monkeypatch):
    pics.write("open/a.png", seed=1)
    pics.write("closed/b.png", seed=2)
    import trendgan.ingest.scan as scan

    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("closed"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scan.os, "scandir", scandir)
    result = ingest([pics.root], store=store)
    assert result.new == 1 and result.rejected == {"unreadable": 1}
    assert catalog_rows(store, "SELECT path, reason FROM rejects") == [(str(pics.root / "closed"), "unreadable")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_unreadable_folder_by_permissions(pics, store):
    pics.write("open/a.png", seed=1)
    closed = pics.write("closed/b.png", seed=2).parent
    closed.chmod(0)
    try:
        result = ingest([pics.root], store=store)
    finally:
        closed.chmod(0o755)
    assert result.new == 1 and result.rejected == {"unreadable": 1}


def test_exact_duplicates_keep_the_first_path(pics, store, catalog_rows):
    original = pics.write("a/look.png", seed=1)
    pics.write_bytes("b/look-repost.png", original.read_bytes())
    pics.write_bytes("c/look-again.png", original.read_bytes())
    result = ingest([pics.root], store=store)
    assert (result.new, result.exact_duplicates) == (1, 2)
    assert catalog_rows(store, "SELECT path FROM images") == [(str(original),)]
    dupes = catalog_rows(store, "SELECT count(*), count(DISTINCT image_id) FROM files WHERE status = 'exact_duplicate'")
    assert dupes == [(2, 1)]
    # bytes already catalogued are recognised in a later ingest too
    pics.write_bytes("d/later.png", original.read_bytes())
    again = ingest([pics.root], store=store)
    assert (again.new, again.exact_duplicates, again.unchanged) == (0, 1, 3)


def test_near_duplicates_are_flagged_with_the_image_they_repeat(pics, store, catalog_rows):
    original = pics.write("a/look.png", seed=1, size=96)
    (pics.root / "b").mkdir()
    Image.open(original).resize((64, 64)).save(pics.root / "b" / "repost.jpg", quality=80)
    pics.write("c/other.png", seed=2, size=96)
    result = ingest([pics.root], store=store)
    assert result.near_duplicates == 1
    rows = dict(catalog_rows(store, "SELECT path, duplicate_of FROM images"))
    original_id = catalog_rows(store, "SELECT image_id FROM images WHERE path = ?", str(original))[0][0]
    assert rows[str(pics.root / "b/repost.jpg")] == original_id
    assert rows[str(original)] is None and rows[str(pics.root / "c/other.png")] is None
    # a repost arriving in a later ingest is matched against the catalog
    Image.open(original).resize((80, 80)).save(pics.root / "c" / "repost2.jpg", quality=70)
    assert ingest([pics.root], store=store).near_duplicates == 1


def test_same_garment_in_another_colour_is_not_a_repost(pics, store, catalog_rows):
    red = pics.silhouette("shop/red.png", (220, 20, 20))
    teal = pics.silhouette("shop/teal.png", (10, 98, 168))  # the same brightness as this red: the same phash
    (pics.root / "shop2").mkdir()
    Image.open(red).resize((100, 100)).save(pics.root / "shop2" / "red-repost.jpg", quality=75)
    from trendgan.ingest.images import examine_file

    assert examine_file(str(red)).phash == examine_file(str(teal)).phash
    result = ingest([pics.root], store=store)
    flagged = {os.path.basename(p) for (p,) in catalog_rows(store, "SELECT path FROM images WHERE duplicate_of IS NOT NULL")}
    assert result.near_duplicates == 1 and flagged == {"red-repost.jpg"}
    # with the colour check switched off (any colour passes), the teal garment is called a repost of the red one
    loose = ingest([pics.root], store=type(store)(store.root.parent / "loose"), colour_tolerance=255)
    assert loose.near_duplicates == 2


def test_near_duplicate_search_can_be_switched_off(pics, store):
    original = pics.write("a/look.png", seed=1, size=96)
    Image.open(original).resize((64, 64)).save(pics.root / "a" / "repost.jpg", quality=80)
    assert ingest([pics.root], store=store, near_duplicate_distance=-1).near_duplicates == 0


def test_sources_captions_likes_and_leading_flags(pics, store, catalog_rows, tmp_path):
    pics.write("instagram/a.png", seed=1)
    pics.write_json("instagram/a.png.json", {"date": "2023-05-01", "caption": "Wide-leg #Denim #y2k", "likes": 120})
    pics.write("runway/b.png", seed=2)
    pics.write("top.png", seed=3)  # directly in the PATH: the PATH's own name
    pics.write("elsewhere.png", seed=4)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,date,source,caption,likes\nscraped/elsewhere.png,2023-01-01,vogue,Cover look,77\n")
    ingest([pics.root], store=store, manifest=manifest, leading_sources=["runway"])
    rows = catalog_rows(store, "SELECT path, source, leading_source, caption, hashtags, engagement FROM images")
    got = {os.path.basename(r[0]): r[1:] for r in rows}
    assert got["a.png"] == ("instagram", False, "Wide-leg #Denim #y2k", ["denim", "y2k"], 120)
    assert got["b.png"] == ("runway", True, None, None, None)
    assert got["top.png"][0] == "scraped"
    assert got["elsewhere.png"] == ("vogue", False, "Cover look", None, 77)

    # --source names every new image's source; --leading marks all sources of this ingest, old images included
    pics.write("runway/c.png", seed=5)
    other = tmp_path / "magazine"
    other.mkdir()
    Image.open(pics.root / "top.png").rotate(90).save(other / "m.png")
    result = ingest([other], store=store, source="elle", leading=True)
    assert result.sources == {"elle": 1} and "elle" in result.leading_sources
    assert catalog_rows(store, "SELECT leading_source FROM images WHERE source = 'elle'") == [(True,)]
    assert catalog_rows(store, "SELECT leading_source FROM images WHERE path LIKE '%runway/c.png'") == []
    # new images of a source already marked leading are leading too
    ingest([pics.root], store=store)
    assert catalog_rows(store, "SELECT leading_source FROM images WHERE path LIKE '%runway/c.png'") == [(True,)]


def test_manifest_files_outside_the_paths_and_missing_ones(pics, store, catalog_rows, tmp_path):
    pics.write("a/in.png", seed=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.open(pics.root / "a/in.png").rotate(180).save(outside / "out.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,date\noutside/out.png,2023-01-01\noutside/gone.png,2023-01-01\n")
    # A manifest may only reach outside the folders given when the user says so.
    kept_in = ingest([pics.root], store=store, manifest=manifest)
    assert kept_in.new == 1 and kept_in.rejected == {"outside": 2}
    assert catalog_rows(store, "SELECT reason, detail FROM rejects WHERE path LIKE '%out.png'") == [
        ("outside", "listed in the manifest but outside the folders given to ingest; pass --allow-outside to read it")]
    result = ingest([pics.root], store=store, manifest=manifest, allow_outside=True)
    assert result.new == 1 and result.rejected == {"missing": 1}
    # a manifest alone is enough: its own folder is the one given
    store2 = type(store)(tmp_path / "store2")
    assert ingest([], store=store2, manifest=manifest).new == 1


def test_incremental_reingest_touches_only_new_or_changed_files(pics, store, catalog_rows, monkeypatch):
    for i in range(5):
        pics.write(f"src/2023/0{i + 1}/look{i}.png", seed=i)
    pics.write_bytes("src/bad.jpg", b"")
    first = ingest([pics.root], store=store)
    assert (first.new, first.rejected_total) == (5, 1)

    examined = []
    real = examine.examine_file
    monkeypatch.setattr(examine, "examine_file", lambda path, **kw: examined.append(path) or real(path, **kw))
    again = ingest([pics.root], store=store, workers=1)
    assert (again.unchanged, again.new, again.rejected_total, examined) == (6, 0, 0, [])
    assert catalog_rows(store, "SELECT count(*) FROM rejects")[0][0] == 1  # not rejected a second time

    new = pics.write("src/2023/06/look5.png", seed=5)
    changed = pics.write("src/2023/01/look0.png", seed=50)  # same path, new bytes
    os.utime(changed, (time.time() + 5, time.time() + 5))
    third = ingest([pics.root], store=store, workers=1)
    assert sorted(examined) == sorted([str(new), str(changed)])
    assert (third.new, third.changed, third.unchanged) == (2, 1, 5)
    paths = [r[0] for r in catalog_rows(store, "SELECT path FROM images")]
    assert len(paths) == len(set(paths)) == 6  # the old bytes of look0.png are no longer catalogued


def test_fixed_file_replaces_its_reject(pics, store, catalog_rows):
    broken = pics.write_bytes("src/2023/01/look.jpg", b"")
    ingest([pics.root], store=store)
    pics.write("src/2023/01/look.jpg", seed=1, format="JPEG")
    os.utime(broken, (time.time() + 5, time.time() + 5))
    result = ingest([pics.root], store=store)
    assert (result.new, result.changed) == (1, 1)
    assert catalog_rows(store, "SELECT count(*) FROM rejects")[0][0] == 0


def test_interrupted_ingest_resumes_without_duplicates(pics, store, catalog_rows, monkeypatch, tmp_path):
    for i in range(7):
        pics.write(f"src/2023/01/look{i}.png", seed=i)
    pics.write_bytes("src/2023/01/empty.png", b"")
    real_write = core._write_batch
    calls = {"n": 0}

    def interrupted_after_two_batches(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(core, "_write_batch", interrupted_after_two_batches)
    with pytest.raises(KeyboardInterrupt):
        ingest([pics.root], store=store, batch_size=3)
    assert catalog_rows(store, "SELECT count(*) FROM files")[0][0] == 6  # two whole batches, nothing half-written
    monkeypatch.setattr(core, "_write_batch", real_write)

    resumed = ingest([pics.root], store=store, batch_size=3)
    assert (resumed.unchanged, resumed.new + resumed.rejected_total) == (6, 2)
    assert catalog_rows(store, "SELECT count(*), count(DISTINCT path) FROM files") == [(8, 8)]
    assert catalog_rows(store, "SELECT count(*), count(DISTINCT image_id) FROM images") == [(7, 7)]
    assert catalog_rows(store, "SELECT count(*) FROM rejects") == [(1,)]
    runs = [r[0] for r in catalog_rows(store, "SELECT status FROM runs WHERE stage = 'ingest' ORDER BY started_at")]
    assert runs == ["interrupted", "done"]


def test_a_second_writer_gets_a_clear_message(pics, store):
    pics.write("src/a.png", seed=1)
    with store.writer("embed"):
        with pytest.raises(StoreLockedError, match="trendgan embed"):
            ingest([pics.root], store=store)
    assert ingest([pics.root], store=store).new == 1  # the lock is released with its holder


def test_bad_input_is_refused_before_anything_is_written(store, tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        ingest([tmp_path / "nope"], store=store)
    with pytest.raises(IngestError, match="nothing to ingest"):
        ingest([], store=store)
    for bad in ({"near_duplicate_distance": 65}, {"colour_tolerance": 300}, {"workers": 0}):
        with pytest.raises(IngestError):
            ingest([tmp_path], store=store, **bad)
    assert not store.exists()


def test_the_store_inside_a_scanned_folder_is_skipped(pics, tmp_path):
    from trendgan.store import Store

    pics.write("src/a.png", seed=1)
    inside = Store(pics.root / "my-store")
    ingest([pics.root], store=inside)
    (inside.root / "renders").mkdir()
    pics.write("my-store/renders/r.png", seed=2)  # a stage's output is not an input
    pics.write("my-store/gan/run-1/samples/s.png", seed=3)
    again = ingest([pics.root], store=inside)
    assert (again.new, again.rejected_total, again.unchanged) == (0, 0, 1)  # nor is the catalog file
    # an image folder kept inside the store (the demo's simulated corpus) is ingested, given directly or not
    pics.write("my-store/corpus/c.png", seed=4)
    assert ingest([inside.root], store=inside).new == 1


def test_worker_pool_gives_the_same_catalog(pics, tmp_path, catalog_rows):
    from trendgan.store import Store

    for i in range(70):
        pics.write(f"src/2023/{i % 12 + 1:02d}/look{i}.png", seed=i, size=24)
    pics.write_bytes("src/bad.png", b"nope")
    one, two = Store(tmp_path / "one"), Store(tmp_path / "two")
    r1 = ingest([pics.root], store=one, workers=1)
    r2 = ingest([pics.root], store=two, workers=2)
    assert r1.summary() | {"seconds": 0} == r2.summary() | {"seconds": 0}
    query = "SELECT image_id, path, posted_at, phash, duplicate_of FROM images ORDER BY image_id"
    assert catalog_rows(one, query) == catalog_rows(two, query)


def test_a_killed_ingest_is_completed_by_running_it_again(pics, store, catalog_rows):
    """SIGKILL mid-run (no cleanup at all): committed batches stay, the half-done one vanishes, a re-run finishes."""
    import subprocess
    import sys

    for i in range(9):
        pics.write(f"src/2023/01/look{i}.png", seed=i)
    script = (
        "import os, signal\n"
        "from trendgan.ingest import ingest\n"
        "def progress(done, total):\n"
        "    if done >= 6:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"ingest([{str(pics.root)!r}], store={str(store.root)!r}, batch_size=3, workers=1, progress=progress)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()[-500:]
    assert catalog_rows(store, "SELECT count(*) FROM images") == [(6,)]

    resumed = ingest([pics.root], store=store)  # the kernel released the lock with the dead process
    assert (resumed.unchanged, resumed.new) == (6, 3)
    assert catalog_rows(store, "SELECT count(*), count(DISTINCT image_id) FROM images") == [(9, 9)]
    assert catalog_rows(store, "SELECT count(*) FROM files") == [(9,)]
    runs = [r[0] for r in catalog_rows(store, "SELECT status FROM runs WHERE stage = 'ingest' ORDER BY started_at")]
    assert runs == ["interrupted", "done"]


@pytest.mark.skipif(__import__("multiprocessing").get_start_method() != "fork",
                    reason="workers see the test's stand-in decoder only when forked")
def test_a_file_that_kills_the_decoder_is_rejected_and_the_rest_kept(pics, store, catalog_rows, monkeypatch):
    """A segfault in a C decoder takes down one worker process; ingest finds the file and goes on."""
    for i in range(70):
        pics.write(f"src/look{i:02d}.png", seed=i, size=16)
    real = examine.examine_file

    def crash_on_one(path, **kw):
        if path.endswith("look33.png"):
            os._exit(139)  # what a segfault looks like from outside
        return real(path, **kw)

    monkeypatch.setattr(examine, "examine_file", crash_on_one)  # forked workers inherit the patch
    result = ingest([pics.root], store=store, workers=2)
    assert (result.new, result.rejected) == (69, {"corrupt": 1})
    assert catalog_rows(store, "SELECT path, detail FROM rejects") == [
        (str(pics.root / "src/look33.png"), "the image decoder crashed on this file")]
