"""Ingest on real catalogue JPEGs (../shared/data/fashion-product-9k): skipped where the data is absent."""

from __future__ import annotations

import pytest

from trendgan.ingest import ingest


@pytest.mark.needs_data
def test_real_product_photos_ingest_cleanly_and_colour_variants_are_not_reposts(shared_data, store, catalog_rows):
    images = shared_data("fashion-product-9k", "images")
    files = sorted(images.glob("*.jpg"))[:250]
    result = ingest(files, store=store)
    assert result.rejected_total == 0 and result.new + result.exact_duplicates == 250
    assert catalog_rows(store, "SELECT DISTINCT width, height FROM images") == [(224, 224)]
    # Same-shape products on white share a phash; with phash alone ~40% of this catalogue was flagged as
    # reposts. The colour check keeps that to a few percent (near-identical looks).
    assert result.near_duplicates / result.new < 0.12
    assert result.undated == result.new and result.sources == {"images": result.new}


@pytest.mark.needs_data
def test_catalogue_csv_works_as_a_manifest(shared_data, store, tmp_path, catalog_rows):
    import csv

    root = shared_data("fashion-product-9k")
    with open(root / "styles.csv", newline="") as fh:
        rows = [r for _, r in zip(range(60), csv.DictReader(fh))]
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "date", "source", "caption"])
        for r in rows:
            year = int(float(r["year"] or 2012))
            writer.writerow([str(root / r["image"]), f"{year}-06-01", r["masterCategory"], r["productDisplayName"]])
    result = ingest([], store=store, manifest=manifest, allow_outside=True)  # the CSV lives apart from the photos
    assert result.new + result.exact_duplicates == 60 and result.date_origins == {"manifest": result.new}
    assert catalog_rows(store, "SELECT count(*) FROM images WHERE caption IS NULL") == [(0,)]
