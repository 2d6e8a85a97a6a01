"""`ingest --engine ray` writes the catalog a local ingest writes: same images, files, rejects, duplicates, dates."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

def _load(relative: str, name: str):
    """A helper module of another test folder, loaded by path (every folder's conftest is called "conftest")."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Pictures = _load("ingest/conftest.py", "ingest_pictures").Pictures  # tests/ingest's picture maker

pytest.importorskip("ray", reason="the [ray] extra is not installed")

IMAGE_COLUMNS = ("image_id, path, source, leading_source, posted_at, date_origin, width, height, phash, duplicate_of, "
                 "caption, hashtags, engagement")


def scraped_folder(root: Path) -> Pictures:
    """Every kind of file ingest meets: dated folders, EXIF and sidecar dates, reposts, copies and broken files."""
    pics = Pictures(root)
    for i in range(14):
        pics.write(f"feed/2024-0{1 + i % 6}-1{i % 9}/post-{i:02d}.png", seed=i)
    pics.with_exif("feed/camera.jpg", seed=20, taken="2023:07:14 10:00:00")
    pics.write("runway/look.png", seed=21)
    pics.write_json("runway/look.png.json", {"date": "2024-02-03", "likes": 12, "caption": "red #coat"})
    original = pics.write("feed/2024-03-03/original.png", seed=22, size=96)
    Image.open(original).resize((64, 64)).save(root / "feed" / "2024-03-09-repost.jpg", quality=80)  # near duplicate
    pics.write_bytes("mirror/2024-03-04/copy.png", original.read_bytes())  # exact duplicate
    pics.truncated_jpeg("feed/cut.jpg", seed=23)
    pics.corrupt_png("feed/broken.png", seed=24)
    pics.bomb_png("feed/bomb.png")
    pics.write_bytes("feed/empty.jpg", b"")
    pics.write_bytes("feed/clip.mp4", b"\x00\x00\x00\x18ftypmp42")
    return pics


def catalog(store) -> dict:
    with store.catalog(read_only=True) as db:
        return {
            "images": db.execute(f"SELECT {IMAGE_COLUMNS} FROM images ORDER BY path").fetchall(),
            "fingerprints": db.execute("SELECT image_id, colour_layout FROM fingerprints ORDER BY image_id").fetchall(),
            "files": db.execute("SELECT path, size, mtime_ns, image_id, status FROM files ORDER BY path").fetchall(),
            "rejects": db.execute("SELECT path, stage, reason, detail FROM rejects ORDER BY path").fetchall(),
        }


def counts(result) -> dict:
    out = result.summary()
    out.pop("seconds")
    return out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ray_ingest_writes_the_local_catalog(local_ray, tmp_path):
    from trendgan.ingest import ingest
    from trendgan.store import Store

    pics = scraped_folder(tmp_path / "scraped")
    local_store, ray_store = Store(tmp_path / "local"), Store(tmp_path / "ray")
    # Batches of 4 files: the Ray engine's read-ahead crosses many batch boundaries, where duplicates are decided.
    local = ingest([pics.root], store=local_store, workers=1, batch_size=4, leading_sources=["runway"])
    on_ray = ingest([pics.root], store=ray_store, engine="ray", batch_size=4, leading_sources=["runway"])

    assert counts(on_ray) == counts(local)
    assert (local.new, local.exact_duplicates, local.near_duplicates) == (18, 1, 1)
    assert set(local.rejected) == {"truncated", "corrupt", "decompression_bomb", "empty", "wrong_extension"}
    assert local.date_origins == {"path": 16, "exif": 1, "sidecar": 1}
    assert catalog(ray_store) == catalog(local_store)

    # A later ingest on Ray reads only the new and changed files and still matches.
    pics.write("feed/2024-06-01/new.png", seed=40)
    Image.open(pics.root / "feed/2024-03-03/original.png").resize((80, 80)).save(
        pics.root / "feed" / "2024-06-02-repost.jpg", quality=70)
    local = ingest([pics.root], store=local_store, workers=1, batch_size=4)
    on_ray = ingest([pics.root], store=ray_store, engine="ray", batch_size=4)
    assert counts(on_ray) == counts(local)
    assert (local.new, local.near_duplicates, local.unchanged) == (2, 1, 24)
    assert catalog(ray_store) == catalog(local_store)


def test_unknown_engine_is_one_clear_line(tmp_path):
    from trendgan.errors import TrendganError
    from trendgan.ingest import ingest

    with pytest.raises(TrendganError, match="unknown engine 'spark'; use local or ray"):
        ingest([tmp_path], store=tmp_path / "store", engine="spark")


def test_cli_takes_the_engine(local_ray, tmp_path):
    from typer.testing import CliRunner

    from trendgan.cli.app import app

    pics = Pictures(tmp_path / "scraped")
    for i in range(3):
        pics.write(f"feed/2024-01-0{i + 1}/p{i}.png", seed=i)
    result = CliRunner().invoke(app, ["ingest", str(pics.root), "--engine", "ray", "--store", str(tmp_path / "s"), "-q"])
    assert result.exit_code == 0, result.output
    from trendgan.store import Store

    with Store(tmp_path / "s").catalog(read_only=True) as db:
        assert db.execute("SELECT count(*) FROM images").fetchone()[0] == 3
    bad = CliRunner().invoke(app, ["ingest", str(pics.root), "--engine", "spark", "--store", str(tmp_path / "t")])
    assert bad.exit_code == 1 and "use local or ray" in bad.output
