"""Where the heavy stages run: ``local`` (this machine's processes) or ``ray`` (a Ray cluster, or a local Ray instance).

Every stage keeps one code path for its results; an engine only decides where independent pieces of work run
(files for ingest, chunks of vectors for styles, chunks of series for forecast). The driver (the process that
runs the command) still reads and writes the store, so a run on Ray writes exactly what a local run writes.

``RAY_ADDRESS`` (e.g. ``HEAD_IP:6379``, ``ray://head:10001``, or ``auto`` for the cluster this node belongs to)
joins an existing cluster; without it a local Ray instance is started for the run and shut down afterwards. A Ray instance already running in this process (a notebook, a
test fixture, a pipeline) is used as it is and left running. Ray is an optional extra: ``pip install 'trendgan[ray]'``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator

from trendgan.errors import MissingExtraError, TrendganError

ENGINES = ("local", "ray")


def check_engine(engine: str) -> str:
    """The engine name, or one clear line naming the choices."""
    name = str(engine or "local").strip().lower()
    if name not in ENGINES:
        raise TrendganError(f"unknown engine {engine!r}; use local or ray")
    return name


def import_ray(what: str = "--engine ray"):
    """The ``ray`` module, or an install hint (``ray.data`` too, which the embed engine needs)."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"{what} needs Ray: pip install 'trendgan[ray]' (or pip install 'ray[data]')") from None
    return ray


@contextlib.contextmanager
def ray_session(what: str = "--engine ray") -> Iterator:
    """Yield the ``ray`` module connected to a cluster: the running one, ``RAY_ADDRESS``'s, or a local instance."""
    ray = import_ray(what)
    started_here = not ray.is_initialized()
    if started_here:
        # "local" when RAY_ADDRESS is unset: a fresh instance of our own, never a cluster some other job started on
        # this machine (Ray's own default would join it, and lose it when that job ends).
        ray.init(address=os.environ.get("RAY_ADDRESS") or "local", include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", configure_logging=True)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_map(function: Callable, jobs: Iterable[tuple], in_flight: int | None = None, retries: int = 3,
            on_done: Callable | None = None) -> Iterator:
    """``function(*job)`` for every job as Ray tasks (one CPU each); yields the results in the order of ``jobs``.

    At most ``in_flight`` tasks are queued at once (default: twice the cluster's CPUs), so the arguments of a
    million-row input never sit in the object store all together. ``on_done(result)`` hears of each result as it
    is yielded. Needs a connected Ray (``ray_session``).
    """
    import ray

    remote = ray.remote(num_cpus=1, max_retries=retries)(function)
    limit = in_flight or 2 * cluster_cpus(ray)
    pending: list = []
    for job in jobs:
        pending.append(remote.remote(*job))
        if len(pending) >= limit:
            result = ray.get(pending.pop(0))
            if on_done:
                on_done(result)
            yield result
    for ref in pending:
        result = ray.get(ref)
        if on_done:
            on_done(result)
        yield result


def put(value):
    """A value shared by many tasks, stored once in Ray's object store (pass the reference as a task argument)."""
    import ray

    return ray.put(value)


def engine_session(engine: str):
    """A Ray session for ``engine="ray"`` (see ``ray_session``), nothing for ``local``."""
    return ray_session() if check_engine(engine) == "ray" else contextlib.nullcontext()


def in_engine_session(function: Callable) -> Callable:
    """Decorator: the function's ``engine`` argument opens one Ray session around the whole call, so the steps inside
    it that run on Ray share one connection (starting a local Ray instance costs seconds)."""
    import functools
    import inspect

    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        engine = signature.bind_partial(*args, **kwargs).arguments.get("engine", "local")
        with engine_session(engine):
            return function(*args, **kwargs)

    return wrapper



def map_row_chunks(function: Callable, arrays: tuple, chunk_size: int, shared=None, engine: str = "local",
                   into=None):
    """``function(*blocks, shared)`` for each chunk of ``chunk_size`` rows of the row-aligned ``arrays``; the results
    in row order (a list), or written into the rows of ``into`` (a preallocated array, returned) so a big output is
    never held twice. With ``engine="ray"`` each chunk is a Ray task and ``shared`` (centroids, a fitted model) is
    stored once for all of them. The chunks are the same on both engines, so the results are too.
    """
    n = len(arrays[0])
    size = max(1, int(chunk_size))
    starts = range(0, n, size)
    if check_engine(engine) == "local":
        results = (function(*(a[s:s + size] for a in arrays), shared) for s in starts)
    else:
        shared_ref = put(shared)
        results = ray_map(function, ((*(a[s:s + size] for a in arrays), shared_ref) for s in starts))
    if into is None:
        return list(results)
    for start, result in zip(starts, results):
        into[start:start + len(result)] = result
    return into
