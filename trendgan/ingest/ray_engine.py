"""``ingest --engine ray``: files read, hashed, decoded and dated in Ray tasks; the catalog written by the driver.

Each task examines a chunk of files with the local engine's own function (``examine.examine_one``: sha256 of the bytes,
decode, perceptual hash and colour layout, EXIF date, sidecars), so every answer is the one a local ingest gets.
The driver decides duplicates and writes each batch in one DuckDB transaction, exactly as the local engine does:
the catalog has one writer. While the driver writes one batch, the cluster already reads the next.

Workers open the files by the paths the driver scanned, so on a cluster the image folders must be on storage every
node mounts at the same path (NFS, a shared disk, a FUSE mount of a bucket).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def examine_chunk(jobs: list) -> list:
    """Ray task: the local engine's answer for each file of the chunk."""
    from trendgan.ingest.examine import examine_one

    return [examine_one(job) for job in jobs]


class RayExaminer:
    """The Ray counterpart of ``examine.LocalExaminer``: same ``examine`` answers, plus ``examine_batches`` that keeps the
    cluster one batch ahead of the driver."""

    def __init__(self, max_pixels: int, chunk_files: int | None = None):
        self.max_pixels = max_pixels
        self.chunk_files = chunk_files
        self._session = None

    def __enter__(self):
        from trendgan.engines import cluster_cpus, ray_session

        self._session = ray_session("ingest --engine ray")
        self.ray = self._session.__enter__()
        self.cpus = cluster_cpus(self.ray)
        self.remote = self.ray.remote(num_cpus=1, max_retries=0)(examine_chunk)
        return self

    def __exit__(self, *exc):
        return self._session.__exit__(*exc)

    def _jobs(self, batch) -> list:
        return [(f.path, f.sidecars, self.max_pixels) if f.looks_like_image else None for f in batch]

    def _submit(self, batch) -> tuple[list, list, list]:
        """Start the tasks for one batch: (jobs, chunks, task references)."""
        jobs = self._jobs(batch)
        image_jobs = [job for job in jobs if job is not None]
        # A few chunks per CPU balance slow files against fast ones; a task per file would cost more than the file.
        size = self.chunk_files or max(1, -(-len(image_jobs) // (self.cpus * 4)))
        chunks = [image_jobs[i:i + size] for i in range(0, len(image_jobs), size)]
        return jobs, chunks, [self.remote.remote(chunk) for chunk in chunks]

    def _collect(self, jobs, chunks, refs) -> list:
        done = []
        for chunk, ref in zip(chunks, refs):
            try:
                done.extend(self.ray.get(ref))
            except (self.ray.exceptions.WorkerCrashedError, self.ray.exceptions.RayTaskError):
                done.extend(self._one_at_a_time(chunk))
        answers = iter(done)
        return [next(answers) if job is not None else None for job in jobs]

    def _one_at_a_time(self, chunk: list) -> list:
        """After a worker died (a decoder crash on some file): every file on its own, so only that file is rejected."""
        from trendgan.ingest.examine import CRASHED

        refs = [self.remote.remote([job]) for job in chunk]
        out = []
        for ref in refs:
            try:
                out.extend(self.ray.get(ref))
            except (self.ray.exceptions.WorkerCrashedError, self.ray.exceptions.RayTaskError):
                out.append(CRASHED)
        return out

    def examine(self, batch) -> list:
        return self._collect(*self._submit(batch))

    def examine_batches(self, batches: Iterable[list]) -> Iterator[tuple[list, list]]:
        """(batch, answers) in order, the next batch's tasks started before this one is handed back."""
        ahead = None
        for batch in batches:
            started = (batch, self._submit(batch))
            if ahead is not None:
                yield ahead[0], self._collect(*ahead[1])
            ahead = started
        if ahead is not None:
            yield ahead[0], self._collect(*ahead[1])
