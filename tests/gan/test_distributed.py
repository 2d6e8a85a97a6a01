"""One GAN trained by two processes (torchrun, gloo on the CPU): process 0 writes the run, the weights stay the
same in both processes although each draws its own batches (train_gan checks that at the end and fails if not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trendgan.runs import GanRun

ROOT = Path(__file__).resolve().parents[2]


def torchrun(store, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TRENDGAN_STORE": str(store.root)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "trendgan.cli.app", "train", "--config", "gan-tiny-16", "--device", "cpu", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.ci
def test_two_processes_train_one_gan_that_process_0_writes(store, gan_data):
    gan_data.build_store(store)
    done = torchrun(store, "--steps", "6")
    assert done.returncode == 0, done.stderr[-3000:]
    runs = GanRun.all(store)
    assert len(runs) == 1  # one run, written by process 0 alone
    run = runs[0]
    assert run.settings["processes"] == 2 and run.results["step"] == 6
    assert run.checkpoint.exists()
    # each step saw both processes' batches
    assert run.metrics[-1]["step"] == 6
    # a resume under torchrun continues the same run to the asked step
    again = torchrun(store, "--steps", "8", "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r.results["step"] for r in GanRun.all(store)] == [8]


def test_without_torchrun_training_stays_one_process(monkeypatch):
    from trendgan.gan import distributed

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    import torch

    assert not distributed.launched()
    assert distributed.join(torch.device("cpu")) == (0, 1, torch.device("cpu"))
    assert distributed.all_agree(False, 1) is False and distributed.summed([1.0, 2.0], 1) == [1.0, 2.0]
