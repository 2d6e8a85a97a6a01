"""The catalog's image tables, read and changed by other stages only through these functions.

Ingest owns ``images``, ``fingerprints``, ``files`` and ``rejects`` (``trendgan.store`` has the schema); a stage that
needs images, their paths or dates, or that finds an image it cannot use, asks here instead of writing SQL of its own.
"""

from __future__ import annotations

from trendgan.store import Store, utcnow


def dated_images(store: Store):
    """Every catalogued image with what styles and series need: image_id, path, source, leading_source,
    posted_at, engagement, caption (style names use the posts' words), duplicate_of (a pandas frame, in no
    particular order)."""
    with store.catalog(read_only=True) as db:
        return db.execute(
            "SELECT image_id, path, source, leading_source, posted_at, engagement, caption, duplicate_of FROM images"
        ).df()


def image_paths(store: Store, originals_only: bool = False) -> dict[str, str]:
    """image_id -> path as ingested; ``originals_only`` leaves near-duplicates (reposts) out."""
    where = " WHERE duplicate_of IS NULL" if originals_only else ""
    with store.catalog(read_only=True) as db:
        return dict(db.execute(f"SELECT image_id, path FROM images{where}").fetchall())


def images_in_path_order(store: Store) -> list[tuple[str, str]]:
    """(image_id, path) of every image, in path order (neighbouring files decode faster)."""
    with store.catalog(read_only=True) as db:
        return db.execute("SELECT image_id, path FROM images ORDER BY path").fetchall()


def catalog_state(store: Store) -> dict | None:
    """Size and last change of the catalog: enough to tell whether an ingest added or rejected anything."""
    if not store.exists():
        return None
    with store.catalog(read_only=True) as db:
        images, last = db.execute("SELECT count(*), max(ingested_at) FROM images").fetchone()
        # Only ingest's rejects: later stages add their own, which must not make them look changed to themselves.
        rejects = db.execute("SELECT count(*) FROM rejects WHERE stage = 'ingest'").fetchone()[0]
    return {"images": int(images), "last_ingest": str(last), "rejects": int(rejects)}


def reject_images(store: Store, unusable: list, stage: str) -> None:
    """Move images a later stage cannot use (each with ``image_id``, ``path``, ``reason``, ``detail``) out of the
    catalog into ``rejects``, in one transaction.

    Their ``files`` rows are marked rejected so an unchanged file is not ingested again; a repaired file has new bytes
    (a new mtime) and is picked up by the next ingest. Near-duplicates of a rejected image become originals: what
    they repeated is gone.
    """
    if not unusable:
        return
    with store.catalog() as db:
        db.execute("BEGIN TRANSACTION")
        try:
            for image in unusable:
                db.execute("INSERT INTO rejects (path, stage, reason, detail, rejected_at) VALUES (?, ?, ?, ?, ?)",
                           [image.path, stage, image.reason, image.detail, utcnow()])
                db.execute("UPDATE files SET status = 'rejected', image_id = NULL WHERE image_id = ?", [image.image_id])
                db.execute("UPDATE images SET duplicate_of = NULL WHERE duplicate_of = ?", [image.image_id])
                db.execute("DELETE FROM fingerprints WHERE image_id = ?", [image.image_id])
                db.execute("DELETE FROM images WHERE image_id = ?", [image.image_id])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def catalog_counts(store: Store, period_word: str) -> dict:
    """What ``trendgan status`` shows of the catalog: images, undated, duplicates, dates, files, rejects (later
    stages' reasons prefixed with the stage), images per period (``date_trunc`` unit ``period_word``), sources, where
    dates came from, and the last ingest run."""
    import json

    with store.catalog(read_only=True) as db:
        one = lambda sql, *args: db.execute(sql, list(args)).fetchone()  # noqa: E731
        counts = dict(zip(("images", "undated", "near_duplicates", "first_date", "last_date"), one(
            "SELECT count(*), count(*) FILTER (WHERE posted_at IS NULL), count(duplicate_of), min(posted_at), "
            "max(posted_at) FROM images")))
        counts["files_tracked"], counts["exact_duplicates"] = one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'exact_duplicate') FROM files")
        counts["rejected"] = {(reason if stage == "ingest" else f"{stage}: {reason}"): n for stage, reason, n in db.execute(
            "SELECT stage, reason, count(*) FROM rejects GROUP BY stage, reason ORDER BY count(*) DESC, stage, reason"
        ).fetchall()}
        counts["images_per_period"] = db.execute(
            f"SELECT date_trunc('{period_word}', posted_at) AS p, count(*) FROM images WHERE posted_at IS NOT NULL "
            "GROUP BY p ORDER BY p").fetchall()
        counts["sources"] = [
            {"source": s, "images": n, "leading": bool(lead), "first": first, "last": last}
            for s, n, lead, first, last in db.execute(
                "SELECT source, count(*), bool_or(leading_source), min(posted_at), max(posted_at) FROM images "
                "GROUP BY source ORDER BY count(*) DESC, source").fetchall()
        ]
        counts["date_origins"] = dict(db.execute(
            "SELECT date_origin, count(*) FROM images GROUP BY date_origin ORDER BY count(*) DESC").fetchall())
        last = one("SELECT run_id, finished_at, status, summary FROM runs WHERE stage = 'ingest' "
                   "ORDER BY started_at DESC LIMIT 1")
    counts["last_ingest"] = {"run_id": last[0], "finished_at": last[1], "status": last[2],
                             "summary": json.loads(last[3]) if last[3] else {}} if last else None
    return counts
