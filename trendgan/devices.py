"""Device choice shared by the stages that run torch models."""

from __future__ import annotations

import contextlib

from trendgan.errors import TrendganError


def pick_device(name: str = "auto"):
    """``auto`` picks CUDA, then Apple MPS, then CPU; an explicit device that is absent is an error."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrendganError("--device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrendganError("--device mps was asked for but Apple MPS is not available; use --device auto or cpu")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise TrendganError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


def autocast(device, enabled: bool = True):
    """Mixed precision on GPU (bf16 where supported, else fp16); a no-op on CPU."""
    import torch

    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


# --------------------------------------------------------------------------- sharing a busy CPU


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask, which containers and `taskset` narrow)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class CpuMeter:
    """How many cores other processes keep busy, measured between two calls of :meth:`others_busy`.

    Linux: busy time of all CPUs from ``/proc/stat`` minus this process's own CPU time (``os.times``), over the
    wall time between readings. The 1-minute load average is not used on Linux because it lags by a minute and
    counts this process's own recent work (the demo embeds right before it trains); elsewhere it is the fallback.
    """

    def __init__(self):
        self._last = self._read()

    @staticmethod
    def _read():
        import os
        import time

        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        own = os.times()
        return time.monotonic(), (sum(fields) - idle) / ticks, own.user + own.system

    def others_busy(self) -> float:
        """Cores busy with other processes since the last call (or since the meter was made)."""
        import os

        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] - last[0] < 0.05:
            try:
                return float(os.getloadavg()[0])
            except (AttributeError, OSError):
                return 0.0
        wall = now[0] - last[0]
        return max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / wall)


def free_cpus(window: float = 0.5) -> int:
    """Cores not kept busy by other processes right now (at least 1), measured over ``window`` seconds."""
    import time

    meter = CpuMeter()
    time.sleep(window)
    return _free(meter.others_busy())


def _free(others: float) -> int:
    return max(1, min(usable_cpus(), int(usable_cpus() - others + 0.5)))


class ThreadSizer:
    """Keeps torch's intra-op threads at the number of cores other processes leave free, re-measured every
    ``interval`` seconds while training runs.

    Why: on a 2-core machine with load 5-7, two torch threads per op spin waiting for each other against the other
    processes; the demo's training took 20x longer than idle where a fair share is 3-4x (issue 18). One thread per
    free core avoids that, and an idle machine still gets every core. ``fixed`` (e.g. from --threads or
    ``TRENDGAN_THREADS``) turns the sizing off.
    """

    def __init__(self, fixed: int | None = None, interval: float = 30.0, window: float = 0.5):
        import os
        import time

        import torch

        self.torch = torch
        env = os.environ.get("TRENDGAN_THREADS", "").strip()
        self.fixed = fixed or (int(env) if env.isdigit() and int(env) > 0 else None)
        self.interval = interval
        self.meter = CpuMeter()
        self.history: list[int] = []
        if self.fixed:
            self._set(self.fixed)
        else:
            time.sleep(window)  # a first reading before any work starts
            self._set(_free(self.meter.others_busy()))
        self._next = time.monotonic() + interval

    @property
    def threads(self) -> int:
        return self.torch.get_num_threads()

    def update(self) -> int:
        """Re-measure when ``interval`` has passed (cheap to call every step); returns the thread count."""
        import time

        if self.fixed or time.monotonic() < self._next:
            return self.threads
        self._next = time.monotonic() + self.interval
        self._set(_free(self.meter.others_busy()))
        return self.threads

    def _set(self, n: int) -> None:
        if n != self.torch.get_num_threads():
            self.torch.set_num_threads(n)
        self.history.append(n)
