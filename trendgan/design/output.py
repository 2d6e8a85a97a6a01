"""Writing a designs run: PNGs, index.json (what the report shows), metrics.jsonl, and config.json last."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trendgan.design.images import save_png
from trendgan.store import Store, append_jsonl, utcnow, write_json_atomic


def write_designs_run(store: Store, command: str, images: dict[str, object], index: dict, config: dict,
                      started_at: dt.datetime) -> Path:
    """Write ``designs/<run>/`` under the store's writer lock; returns the run folder.

    ``images`` maps file names to PIL images; ``index`` is written as index.json. Everything is computed before
    this is called, so the lock is held for the writes only and an error earlier leaves no folder behind.
    """
    with store.writer(command):
        folder = store.new_run("designs")
        for name, image in images.items():
            save_png(image, folder / name)
        write_json_atomic(folder / "index.json", {"run": folder.name, **index})
        append_jsonl(folder / "metrics.jsonl", {"at": utcnow(), **_headline(index)})
        write_json_atomic(folder / "config.json", {"command": command, **config})  # last: marks the run finished
        if store.exists():
            store.record_run(f"designs/{folder.name}", "designs", started_at, "done", folder, _headline(index))
    return folder


def _headline(index: dict) -> dict:
    files = index.get("files") or []
    scores = [f["score"] for f in files if f.get("score") is not None]
    return {"kind": index.get("kind"), "files": len(files), "best_score": max(scores) if scores else None}
