"""Reading the files of an ingest on this machine: each file's image facts (or why it is bad) and its sidecars,
in a process pool that survives a decoder crashing on one file. ``ingest.ray_engine`` runs the same
``examine_one`` in Ray tasks, so both engines give the same answers."""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

from trendgan.ingest.images import BadImage, ImageFacts, examine_file
from trendgan.ingest.metadata import read_sidecars
from trendgan.ingest.scan import FoundFile
from trendgan.store import die_with_parent


def examine_one(job: tuple[str, list[str], int]):
    """Runs in a worker: the image facts (or the reason it is bad) and what its sidecars say."""
    path, sidecars, max_pixels = job
    try:
        facts: ImageFacts | tuple[str, str] = examine_file(path, max_pixels=max_pixels)
    except BadImage as bad:
        facts = (bad.reason, bad.detail)
    except Exception as exc:  # a decoder bug on one file must not stop the other 19,999
        facts = ("corrupt", f"{type(exc).__name__}: {exc}"[:200])
    return facts, read_sidecars([Path(s) for s in sidecars]) if sidecars else None


class LocalExaminer:
    """Reads files in a process pool (or in this process for small jobs, where starting workers costs more).

    Workers also protect the ingest: a file that crashes an image decoder outright (a segfault in a C library) takes
    down one worker, not the run; that batch is then re-read one file at a time to find the culprit and reject it.
    """

    def __init__(self, workers: int | None, jobs: int, max_pixels: int):
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self.max_pixels = max_pixels
        self.pool = self._new_pool() if self.workers > 1 and jobs >= 64 else None

    def _new_pool(self):
        # Workers die with this process (a `kill -9` of ingest must not leave them running) and, being forked,
        # close their copy of the store's lock at once (trendgan.store), so they never hold it.
        return concurrent.futures.ProcessPoolExecutor(max_workers=self.workers, initializer=die_with_parent,
                                                      initargs=(os.getpid(),))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def examine(self, batch: list[FoundFile]) -> list:
        jobs = [(f.path, f.sidecars, self.max_pixels) if f.looks_like_image else None for f in batch]
        image_jobs = [job for job in jobs if job is not None]
        if self.pool is None:
            done = [examine_one(job) for job in image_jobs]
        else:
            chunk = max(1, len(image_jobs) // (self.workers * 4))
            try:
                done = list(self.pool.map(examine_one, image_jobs, chunksize=chunk))
            except concurrent.futures.BrokenExecutor:
                done = self._one_at_a_time(image_jobs)
        answers = iter(done)
        return [next(answers) if job is not None else None for job in jobs]

    def examine_batches(self, batches):
        """(batch, answers) for each batch in order."""
        for batch in batches:
            yield batch, self.examine(batch)

    def _one_at_a_time(self, jobs: list) -> list:
        """After a worker died: every file on its own, so only the file that kills a worker is rejected."""
        done = []
        self._restart()
        for job in jobs:
            try:
                done.append(self.pool.submit(examine_one, job).result())
            except concurrent.futures.BrokenExecutor:
                done.append(CRASHED)
                self._restart()
        return done

    def _restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()


CRASHED = (("corrupt", "the image decoder crashed on this file"), None)
