"""Simulated corpora: the files written agree with the truth, the same seed gives the same bytes, the truth has
the shape the forecast stage expects, and photo sets are dealt honestly."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trendgan.simulate import (
    SimulateError,
    load_scenario,
    load_truth,
    plan_corpus,
    read_idx,
    simulate,
    truth_series,
)
from trendgan.simulate.labelled import FASHION_MNIST_CLASSES

SMALL = dict(periods=8, per_period=12, size=32)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def digest_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "corpus"
    return simulate(out, seed=3, **SMALL)


def test_truth_counts_match_the_files_written(small_corpus):
    out = small_corpus.out
    truth = load_truth(out)
    manifest = read_csv(out / "manifest.csv")
    labels = read_csv(out / "labels.csv")
    assert [row["path"] for row in manifest] == [row["path"] for row in labels]
    assert len(manifest) == truth["images"] == small_corpus.images
    written = Counter((row["label"], row["period"]) for row in labels)
    for label, entry in truth["labels"].items():
        for period, count in entry["counts"].items():
            assert written.get((label, period), 0) == count, (label, period)
    assert sum(written.values()) == sum(sum(e["counts"].values()) for e in truth["labels"].values())
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    assert on_disk == {row["path"] for row in manifest}


def test_every_post_is_dated_inside_its_period_and_foldered_by_its_date(small_corpus):
    out = small_corpus.out
    for post, label in zip(read_csv(out / "manifest.csv"), read_csv(out / "labels.csv")):
        source, day, _name = post["path"].split("/")
        assert source == post["source"] and day == post["date"]
        start = dt.date.fromisoformat(label["period"])
        assert start.weekday() == 0 and 0 <= (dt.date.fromisoformat(day) - start).days < 7


def test_manifest_has_the_columns_ingest_reads_with_captions_and_likes(small_corpus):
    rows = read_csv(small_corpus.out / "manifest.csv")
    assert list(rows[0]) == ["path", "date", "source", "caption", "likes"]
    assert all("#" in row["caption"] and int(row["likes"]) >= 0 for row in rows)
    truth = load_truth(small_corpus.out)
    assert {row["source"] for row in rows} <= set(truth["sources"])


def test_shares_sum_to_one_in_every_period_including_the_holdout(small_corpus):
    truth = load_truth(small_corpus.out)
    labels = truth["labels"].values()
    periods = list(next(iter(labels))["shares"])
    assert len(periods) == truth["periods"] == 8
    for key in ("shares", "leading_shares"):
        for period in periods:
            assert sum(entry[key][period] for entry in labels) == pytest.approx(1.0, abs=1e-5)
    holdout = list(next(iter(labels))["holdout_shares"])
    assert len(holdout) == truth["holdout_periods"] == 13 and holdout[0] > periods[-1] and holdout[-1] == truth["holdout_end"]
    for period in holdout:
        assert sum(entry["holdout_shares"][period] for entry in labels) == pytest.approx(1.0, abs=1e-5)


def test_no_image_is_dated_after_the_end(small_corpus):
    truth = load_truth(small_corpus.out)
    last_day = dt.date.fromisoformat(truth["end"]) + dt.timedelta(days=6)
    assert max(dt.date.fromisoformat(r["date"]) for r in read_csv(small_corpus.out / "manifest.csv")) <= last_day


def test_same_seed_same_bytes_other_seed_other_corpus(small_corpus, tmp_path):
    again = simulate(tmp_path / "again", seed=3, **SMALL)
    assert digest_tree(again.out) == digest_tree(small_corpus.out)
    other = simulate(tmp_path / "other", seed=4, **SMALL)
    assert digest_tree(other.out) != digest_tree(small_corpus.out)


def test_truth_series_is_a_long_frame_like_the_styles_series(small_corpus):
    frame = truth_series(small_corpus.out, holdout=True)
    assert list(frame.columns) == ["unique_id", "ds", "y", "count", "leading", "holdout"]
    observed = frame[~frame["holdout"]]
    assert len(observed) == 8 * len(small_corpus.trends) and observed["count"].notna().all()
    assert frame[frame["holdout"]]["count"].isna().all()
    np.testing.assert_allclose(observed.groupby("ds")["y"].sum(), 1.0, atol=1e-5)


# --------------------------------------------------------------------------- the truth itself (no images)


@pytest.fixture(scope="module")
def demo_plan():
    return plan_corpus(load_scenario(None), seed=0)


def quarter_means(plan, label):
    j = plan.label_names.index(label)
    shares = plan.shares[: plan.scenario.periods, j]
    return shares[:13].mean(), shares[-13:].mean()


def test_demo_curves_move_the_way_their_labels_say(demo_plan):
    trends = dict(zip(demo_plan.label_names, demo_plan.trends))
    for label, trend in trends.items():
        first, last = quarter_means(demo_plan, label)
        if trend == "rising":
            assert last > 1.5 * first, label
        elif trend == "emerging":
            assert first < 0.005 and last > 0.1, label
        elif trend == "declining" and label != "pink dotted skirt":
            assert last < 0.5 * first, label
        elif trend == "stable":
            assert 0.7 < last / first < 1.3, label
    dress = demo_plan.label_names.index("yellow floral dress")
    peak_week = int(np.argmax(demo_plan.shares[:52, dress]))
    assert demo_plan.period_starts[peak_week].month in (6, 7, 8)


def test_the_fad_is_falling_at_the_end(demo_plan):
    j = demo_plan.label_names.index("pink dotted skirt")
    observed = demo_plan.shares[: demo_plan.scenario.periods, j]
    assert int(np.argmax(observed)) > 80 and observed[-1] < 0.6 * observed.max()


def test_the_leading_source_sees_the_market_early(demo_plan):
    lead = next(s.lead for s in demo_plan.scenario.sources if s.leading)
    visible = len(demo_plan.period_starts)
    np.testing.assert_allclose(demo_plan.leading_shares, demo_plan.market_shares[lead: lead + visible])
    sneaker = demo_plan.label_names.index("green solid sneaker")
    # the emerging sneaker shows up among influencers weeks before it shows up in the whole feed
    first_leading = int(np.argmax(demo_plan.leading_shares[:, sneaker] > 0.03))
    first_overall = int(np.argmax(demo_plan.shares[:, sneaker] > 0.03))
    assert first_overall - first_leading >= lead - 1


def test_counts_follow_volumes_and_influencers_get_more_likes(demo_plan):
    per_period = demo_plan.counts.sum(axis=(1, 2))
    assert per_period[0] == pytest.approx(40, abs=12) and per_period[-52:].mean() > per_period[:52].mean()
    likes = {}
    for post in demo_plan.posts:
        likes.setdefault(post.source, []).append(post.likes)
    assert np.median(likes["influencers"]) > 5 * np.median(likes["street"])


# --------------------------------------------------------------------------- the output folder


def test_a_folder_with_other_files_is_refused_and_left_alone(tmp_path):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(SimulateError, match="not empty"):
        simulate(keep, periods=3, per_period=2, size=16)
    assert [p.name for p in keep.iterdir()] == ["notes.txt"]


def test_an_earlier_corpus_is_replaced_only_when_asked(tmp_path):
    out = tmp_path / "corpus"
    simulate(out, periods=3, per_period=3, size=16, seed=0)
    with pytest.raises(SimulateError, match="--overwrite"):
        simulate(out, periods=3, per_period=3, size=16, seed=1)
    result = simulate(out, periods=4, per_period=3, size=16, seed=1, overwrite=True)
    assert load_truth(out)["seed"] == 1 and load_truth(out)["periods"] == 4
    assert len(list(out.rglob("*.png"))) == result.images
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old folders left


# --------------------------------------------------------------------------- a folder of photos + CSV


def make_photo_set(folder: Path, per_label: dict[str, int]) -> dict[str, str]:
    """JPEGs in folder/images with a labels CSV; returns {sha256 of the file: label}."""
    (folder / "images").mkdir(parents=True)
    truth, rows, n = {}, [], 0
    for label, count in per_label.items():
        for _ in range(count):
            n += 1
            pixels = np.random.default_rng(n).integers(0, 256, size=(24, 24, 3), dtype=np.uint8)  # a distinct photo
            path = folder / "images" / f"{n}.jpg"
            Image.fromarray(pixels).save(path, quality=90)
            truth[hashlib.sha256(path.read_bytes()).hexdigest()] = label
            rows.append({"id": n, "kind": label, "file": f"images/{n}.jpg", "master": "Apparel"})
    rows.append({"id": 999, "kind": "Tops", "file": "images/missing.jpg", "master": "Apparel"})
    with open(folder / "items.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "kind", "file", "master"])
        writer.writeheader()
        writer.writerows(rows)
    return truth


def photo_scenario(folder: Path, **images) -> dict:
    return {
        "start": "2024-03-04", "periods": 6, "per_period": 8, "period": "W",
        "images": {"kind": "folder", "path": str(folder), "csv": "items.csv", "image_column": "file",
                   "label_column": "kind", **images},
        "sources": [{"name": "shop", "weight": 1.0}],
        "labels": {"Tops": {"curve": "rising"}, "Jeans": {"curve": "declining"}, "Bags": {"curve": "flat"}},
    }


def test_photos_are_copied_byte_for_byte_once_each_under_their_label(tmp_path):
    originals = make_photo_set(tmp_path / "set", {"Tops": 40, "Jeans": 40, "Bags": 40, "Socks": 5})
    result = simulate(tmp_path / "out", photo_scenario(tmp_path / "set"), seed=2)
    rows = read_csv(result.out / "labels.csv")
    assert len(rows) == result.images == 48
    seen = []
    for row in rows:
        data = (result.out / row["path"]).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert row["path"].endswith(".jpg") and originals[digest] == row["label"]
        seen.append(digest)
    assert len(set(seen)) == len(seen)


def test_a_photo_set_too_small_for_the_scenario_is_refused_before_writing(tmp_path):
    make_photo_set(tmp_path / "set", {"Tops": 40, "Jeans": 3, "Bags": 40})
    with pytest.raises(SimulateError, match="'Jeans' needs .* but has 3"):
        simulate(tmp_path / "out", photo_scenario(tmp_path / "set"), seed=2)
    assert not (tmp_path / "out").exists()


def test_reuse_when_allowed_gives_new_pictures_not_reposts(tmp_path):
    make_photo_set(tmp_path / "set", {"Tops": 4, "Jeans": 4, "Bags": 4})
    result = simulate(tmp_path / "out", photo_scenario(tmp_path / "set", allow_reuse=True), seed=2)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in result.out.rglob("*.jpg")]
    assert len(digests) == result.images == 48 and len(set(digests)) == len(digests)


def test_photos_can_be_resized_and_filtered(tmp_path):
    make_photo_set(tmp_path / "set", {"Tops": 30, "Jeans": 30, "Bags": 30})
    scenario = photo_scenario(tmp_path / "set", where={"master": "Apparel"})
    result = simulate(tmp_path / "out", scenario, seed=2, size=16, periods=3)
    sizes = {Image.open(p).size for p in result.out.rglob("*.jpg")}
    assert sizes == {(16, 16)}


def test_a_label_the_set_does_not_have_is_named(tmp_path):
    from trendgan.errors import ConfigError

    make_photo_set(tmp_path / "set", {"Tops": 30, "Jeans": 30})
    with pytest.raises(ConfigError, match="no label 'Bags'"):
        simulate(tmp_path / "out", photo_scenario(tmp_path / "set"))


# --------------------------------------------------------------------------- Fashion-MNIST IDX files


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_fake_fashion_mnist(folder: Path, per_class: int = 30) -> None:
    """Ten classes whose 28x28 images are filled with the class number times 20 (+ a small mark)."""
    folder.mkdir(parents=True)
    labels = np.repeat(np.arange(10), per_class)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8) + (labels[:, None, None] * 20 + 10).astype(np.uint8)
    images[np.arange(len(labels)), np.arange(len(labels)) % 28, :] = 255
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)


def test_idx_files_read_back_exactly(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x.gz", array)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), array)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09abc"))
    with pytest.raises(Exception, match="truncated"):
        read_idx(tmp_path / "bad.gz")


def test_fashion_mnist_classes_are_dealt_under_their_names(tmp_path):
    make_fake_fashion_mnist(tmp_path / "fm")
    scenario = {
        "start": "2024-01-01", "periods": 5, "per_period": 10, "size": 0,
        "images": {"kind": "fashion-mnist", "path": str(tmp_path / "fm")},
        "labels": {"Trouser": {"curve": "flat"}, "Bag": {"curve": "rising"}, "9": {"curve": "declining"}},
    }
    result = simulate(tmp_path / "out", scenario, seed=0)
    class_of = {name: i for i, name in enumerate(FASHION_MNIST_CLASSES)} | {"9": 9}
    for row in read_csv(result.out / "labels.csv"):
        image = np.asarray(Image.open(result.out / row["path"]).convert("L"))
        assert image.shape == (28, 28)
        assert np.median(image) == class_of[row["label"]] * 20 + 10


def test_missing_fashion_mnist_files_say_where_to_point(tmp_path):
    from trendgan.errors import IngestError

    scenario = {"start": "2024-01-01", "periods": 3, "images": {"kind": "fashion-mnist", "path": str(tmp_path)},
                "labels": {"Bag": {"curve": "flat"}}}
    with pytest.raises(IngestError, match="no Fashion-MNIST files"):
        simulate(tmp_path / "out", scenario)


# --------------------------------------------------------------------------- the real data sets


SCENARIOS = Path(__file__).resolve().parents[2] / "pipelines" / "scenarios"


@pytest.mark.needs_data
def test_the_fashion_mnist_scenario_on_the_real_files(shared_data, tmp_path):
    from trendgan.simulate import read_fashion_mnist

    folder = shared_data("fashion-mnist")
    result = simulate(tmp_path / "out", SCENARIOS / "fashion-mnist.toml", data=folder, periods=4, per_period=15, size=0)
    images, labels = read_fashion_mnist(folder, "train")
    by_bytes = {images[i].tobytes(): FASHION_MNIST_CLASSES[labels[i]] for i in range(len(labels))}
    rows = read_csv(result.out / "labels.csv")
    assert len(rows) == result.images >= 40
    for row in rows:
        pixels = np.asarray(Image.open(result.out / row["path"]).convert("L"))
        assert by_bytes[pixels.tobytes()] == row["label"]


@pytest.mark.needs_data
def test_the_catalogue_scenario_on_the_real_photos(shared_data, tmp_path):
    folder = shared_data("fashion-product-9k")
    result = simulate(tmp_path / "out", SCENARIOS / "catalogue.toml", data=folder, periods=3, per_period=10)
    with open(folder / "styles.csv", newline="", encoding="utf-8") as fh:
        article = {hashlib.sha256((folder / row["image"]).read_bytes()).hexdigest(): row["articleType"]
                   for row in csv.DictReader(fh) if row["articleType"] in result.trends}
    for row in read_csv(result.out / "labels.csv"):
        assert article[hashlib.sha256((result.out / row["path"]).read_bytes()).hexdigest()] == row["label"]
