"""Sharing a busy CPU: threads follow the cores other processes leave free."""

import multiprocessing
import time

import pytest

from trendgan import devices


def test_free_cores_are_the_usable_ones_minus_what_others_keep_busy(monkeypatch):
    monkeypatch.setattr(devices, "usable_cpus", lambda: 4)
    assert devices._free(0.0) == 4
    assert devices._free(1.2) == 3
    assert devices._free(2.6) == 1
    assert devices._free(11.0) == 1  # never below one thread


def test_the_meter_does_not_count_this_process_as_other_work():
    meter = devices.CpuMeter()
    end = time.monotonic() + 0.4
    while time.monotonic() < end:  # keep one core busy ourselves
        sum(i * i for i in range(1000))
    others = meter.others_busy()
    assert others >= 0.0
    # Our own busy core is subtracted; what is left is other work on the machine, which cannot exceed its cores.
    assert others <= devices.usable_cpus() + 0.5


def _spin(stop):
    while not stop.is_set():
        pass


@pytest.mark.slow
def test_the_meter_sees_a_busy_process():
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    baseline = devices.CpuMeter()
    time.sleep(1.0)
    quiet = baseline.others_busy()
    spinner = context.Process(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    try:
        time.sleep(0.5)
        meter = devices.CpuMeter()
        time.sleep(1.0)
        busy = meter.others_busy()
    finally:
        stop.set()
        spinner.join(timeout=5)
    assert busy > quiet - 0.2 and busy >= 0.5


def test_a_fixed_thread_count_is_kept(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        sizer = devices.ThreadSizer(fixed=1, interval=0.0)
        assert sizer.threads == 1 and sizer.update() == 1
        monkeypatch.setenv("TRENDGAN_THREADS", "1")
        assert devices.ThreadSizer(interval=0.0, window=0.0).fixed == 1
    finally:
        torch.set_num_threads(before)


def test_the_sizer_re_measures_after_its_interval(monkeypatch):
    import torch

    before = torch.get_num_threads()
    readings = iter([0.0, 5.0])
    monkeypatch.setattr(devices.CpuMeter, "others_busy", lambda self: next(readings))
    monkeypatch.setattr(devices, "usable_cpus", lambda: 2)
    try:
        sizer = devices.ThreadSizer(interval=0.0, window=0.0)
        assert sizer.threads == 2
        assert sizer.update() == 1  # the machine filled up: one thread
        assert sizer.history == [2, 1]
    finally:
        torch.set_num_threads(before)
