"""Writing a designs run: PNGs, index.json (what the report shows), metrics.jsonl, and config.json last."""

from __future__ import annotations

from pathlib import Path

from trendgan.runs import DesignsRun, start_run
from trendgan.store import Store


def write_designs_run(store: Store, command: str, images: dict[str, object], index: dict, settings: dict,
                      inputs: dict | None = None) -> Path:
    """Write ``designs/<run>/`` under the store's writer lock; returns the run folder.

    ``images`` maps file names to PIL images; ``index`` is written as index.json; ``settings`` are what the person
    asked for (``command`` is restyle or design) and ``inputs`` the runs and encoder used. Everything is computed
    before this is called, so the lock is held for the writes only and an error earlier leaves no folder behind.
    """
    with start_run(store, DesignsRun, settings={"command": command, **settings}, inputs=inputs, command=command) as run:
        for name, image in images.items():
            run.write_image(name, image)
        run.write_json("index.json", {"run": run.name, **index})
        run.log(_headline(index))
        run.finish(summary=_headline(index))
    return run.folder


def _headline(index: dict) -> dict:
    files = index.get("files") or []
    scores = [f["score"] for f in files if f.get("score") is not None]
    return {"kind": index.get("kind"), "files": len(files), "best_score": max(scores) if scores else None}
