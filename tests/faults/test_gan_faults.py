"""GAN training under faults: a kill before the first step-based checkpoint still leaves one (time budget), a resumed
run logs each step once, and a checkpoint that is damaged or not weights-only is one line wherever it is loaded."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from trendgan.check import check_store
from trendgan.errors import GanError
from trendgan.gan.config import load_config
from trendgan.gan.sampling import Renderer, load_generator
from trendgan.gan.train import train_gan
from trendgan.runs import GanRun

from .conftest import assert_one_line, cli


class Killed(BaseException):
    """Stands in for SIGKILL inside the process: nothing after it runs (not even a KeyboardInterrupt's last save)."""


def _kill_at(monkeypatch, step: int):
    from trendgan.gan.trainer import GanTrainer

    real = GanTrainer.train_step

    def train_step(self, images, conditions):
        if self.step >= step:
            raise Killed()
        return real(self, images, conditions)

    monkeypatch.setattr(GanTrainer, "train_step", train_step)


def _tiny(**changes) -> dict:
    return {**load_config("gan-tiny-16").to_dict(), **changes}


def test_a_run_killed_before_its_first_step_checkpoint_keeps_a_time_budget_checkpoint(embedded, monkeypatch, tally,
                                                                                      one_torch_thread):
    """Before: a run that had not reached `checkpoint_every` steps lost all of them when killed."""
    import trendgan.gan.train as train

    monkeypatch.setattr(train, "CHECKPOINT_EVERY_S", 0.0)  # every step is "five minutes later" here
    _kill_at(monkeypatch, 7)
    with pytest.raises(Killed):
        train_gan(embedded, config=_tiny(checkpoint_every=1000, steps=50), device="cpu")
    tally["faults injected"] += 1
    run = GanRun.resumable(embedded)
    assert (run.folder / ".incomplete").exists()
    monkeypatch.undo()
    monkeypatch.setattr(train, "CHECKPOINT_EVERY_S", 0.0)
    result = train_gan(embedded, steps=10, resume=True, device="cpu")
    assert (result.start_step, result.step) == (7, 10)  # six of seven steps kept (the seventh was in flight)
    tally["runs recovered"] += 1


def test_the_time_budget_does_not_add_checkpoints_to_a_quick_run(embedded, one_torch_thread, monkeypatch):
    saves = []
    import torch

    real = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f, *a, **k: (saves.append(obj["step"]), real(obj, f, *a, **k)))
    train_gan(embedded, config=_tiny(checkpoint_every=10, steps=20), device="cpu")
    assert saves == [10, 20]  # the default budget (five minutes) is not reached: only the config's checkpoints


def test_a_resumed_run_logs_each_step_once(embedded, monkeypatch, tally, one_torch_thread):
    """Before: steps logged between the last checkpoint and the kill were logged again by the resumed run."""
    _kill_at(monkeypatch, 17)  # checkpoint at 10, log lines at 5, 10, 15, then killed
    with pytest.raises(Killed):
        train_gan(embedded, config=_tiny(checkpoint_every=10, log_every=5, steps=20), device="cpu")
    tally["faults injected"] += 1
    monkeypatch.undo()
    result = train_gan(embedded, steps=20, resume=True, device="cpu")
    assert (result.start_step, result.step) == (10, 20)
    steps = [line["step"] for line in GanRun(result.folder).metrics if "step" in line and "event" not in line]
    assert steps == [5, 10, 15, 20]
    tally["runs recovered"] += 1


@pytest.mark.parametrize("how", ["truncated", "not weights-only", "not a checkpoint", "empty"])
def test_a_bad_checkpoint_is_one_line_wherever_it_is_loaded(embedded, how, tally, one_torch_thread):
    import torch

    result = train_gan(embedded, config="gan-tiny-16", steps=2, device="cpu")
    checkpoint = result.folder / "checkpoint.pt"
    if how == "truncated":
        data = checkpoint.read_bytes()
        checkpoint.write_bytes(data[: len(data) // 2])
    elif how == "not weights-only":  # a pickle of an arbitrary object: loading it could run code
        torch.save({"config": "gan-tiny-16", "ema": PurePosixPath("/")}, checkpoint)
    elif how == "not a checkpoint":
        checkpoint.write_text("<html>404</html>")
    else:
        checkpoint.write_bytes(b"")
    tally["faults injected"] += 1
    reason = {"truncated": "truncated or damaged", "not weights-only": "holds more than weights",
              "not a checkpoint": "not a torch checkpoint", "empty": "truncated or damaged"}[how]

    for load in (lambda: Renderer.from_checkpoint(checkpoint), lambda: load_generator(embedded)):
        with pytest.raises(GanError, match=reason):
            load()
    assert_one_line(cli("evaluate-gan", "--store", embedded.root, "-n", "8"), "cannot be used", reason)
    assert_one_line(cli("train", "--resume", "--store", embedded.root, "--steps", "4", "--device", "cpu", "-q"),
                    "cannot be used", reason)
    report = check_store(embedded)
    assert [f.path for f in report.damage] == [result.folder]  # and `check --repair` moves the run aside
