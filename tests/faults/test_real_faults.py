"""Real faults, slow: `kill -9` of every stage's command at several points, and a real small file system that fills
up. After each: the finished work is intact (`trendgan check` finds no damage), `check --repair` clears what was
left behind, and the same command run again reaches the store a run nothing happened to reaches."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from trendgan.check import check_store, repair_store
from trendgan.runs import ForecastRun, GanRun, RenderRun, StylesRun
from trendgan.store import Store

from .conftest import TINY, assert_one_line, assert_same_store, cli, copy_store, write_corpus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the module's first test also builds the reference

# The miniature pipeline, one command per stage, in order (the demo's sizes, scaled down).
STAGES = {
    "ingest": ["ingest", "{corpus}", "--manifest", "{corpus}/manifest.csv", "--near-duplicate-distance", "-1",
               "--workers", "2"],
    "embed": ["embed", "--encoder", TINY, "--device", "cpu", "--batch-size", "8"],
    "styles": ["styles", "--k", "4", "--seed", "0"],
    "forecast": ["forecast", "--horizon", "4", "--backtest-windows", "2", "--jobs", "1"],
    "train": ["train", "--config", "gan-tiny-16", "--steps", "60", "--device", "cpu"],
    "render": ["render", "--per-style", "2"],
    "report": ["report"],
}
OFFSETS = (0.2, 0.5, 0.9)  # fractions of the stage's own time (measured on the reference run) after it took the lock


def _args(stage: str, corpus: Path, store: Path) -> list[str]:
    return [a.replace("{corpus}", str(corpus)) for a in STAGES[stage]] + ["--store", str(store), "-q"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The reference: the whole miniature pipeline run without faults, with a copy of the store before each stage
    and each stage's own time."""
    from trendgan.simulate import simulate

    root = tmp_path_factory.mktemp("real-faults")
    corpus = root / "corpus"
    simulate(corpus, seed=0, periods=30, per_period=6, size=32)
    store = Store(root / "store")
    before, seconds = {}, {}
    for stage in STAGES:
        if store.exists():
            before[stage] = copy_store(store, root / f"before-{stage}")
        started = time.perf_counter()
        result = cli(*_args(stage, corpus, store.root))
        assert result.exit_code == 0, (stage, result.output, result.exception)
        seconds[stage] = time.perf_counter() - started
    return {"root": root, "corpus": corpus, "store": store, "before": before, "seconds": seconds}


def _outputs(store: Store, stage: str):
    """What a stage made that a re-run must reproduce (run names and times aside)."""
    if stage == "styles":
        run = StylesRun.open(store)
        return {"assignments": sorted(map(tuple, run.assignments[["image_id", "style_id"]].values.tolist())),
                "styles": sorted(map(tuple, run.styles[["style_id", "size"]].values.tolist()))}
    if stage == "forecast":
        run = ForecastRun.open(store)
        mean = run.forecasts[["unique_id", "ds", "model", "mean"]].assign(mean=lambda f: f["mean"].round(9))
        return {"labels": sorted(map(tuple, run.labels[["unique_id", "trend"]].values.tolist())),
                "forecast": sorted(map(tuple, mean.astype(str).values.tolist()))}
    if stage == "train":
        run = GanRun.open(store)
        steps = [m["step"] for m in run.metrics if "step" in m and "event" not in m]
        return {"step": [run.step], "logged steps": steps}
    if stage == "render":
        entries = RenderRun.open(store).entries
        return {"renders": [(e["style_id"], Path(f).name, Path(f).read_bytes()) for e in entries for f in e["files"]]}
    if stage == "report":
        numbers = json.loads((store.root / "reports" / "trend-report.json").read_text())
        return {"report sections": sorted(numbers)}
    return {}


def _kill_during(args: list[str], store: Path, stage: str, after: float) -> dict:
    """Start the command, wait until it holds the store's lock (its own work has begun), let it work ``after``
    seconds, then SIGKILL it and every process it started."""
    process = subprocess.Popen([sys.executable, "-m", "trendgan.cli.app", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    lock = store / ".lock"
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if lock.exists() and f"`trendgan {stage}`" in lock.read_text(errors="replace"):
            break
        time.sleep(0.02)
    time.sleep(after)
    finished_first = process.poll() is not None
    with _suppress_lookup():
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return {"finished first": finished_first}


class _suppress_lookup:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return kind is ProcessLookupError


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("stage", list(STAGES))
def test_kill_minus_nine_at_any_point_then_rerun_reaches_the_same_store(pipeline, stage, offset, tmp_path, tally):
    reference_after = Store(pipeline["root"] / f"before-{_next(stage)}") if _next(stage) else pipeline["store"]
    if stage in pipeline["before"]:
        store = copy_store(pipeline["before"][stage], tmp_path / "store")
    else:
        store = Store(tmp_path / "store")
    args = _args(stage, pipeline["corpus"], store.root)
    outcome = _kill_during(args, store.root, stage, offset * pipeline["seconds"][stage])
    tally["faults injected"] += 1

    if store.exists():
        report = check_store(store)
        assert report.ok, [f.line() for f in report.damage]  # killed anywhere: nothing finished is damaged
        repair_store(store)
        assert not check_store(store).litter
    rerun = list(args)
    if stage == "train" and _has_unfinished_gan(store):
        rerun.append("--resume")
    result = cli(*rerun)
    assert result.exit_code == 0, (result.output, result.exception)
    assert_same_store(store, reference_after, tally)
    ours, theirs = _outputs(store, stage), _outputs(reference_after, stage)
    assert ours == theirs
    tally["rows compared"] += sum(len(v) for v in theirs.values())
    tally["runs recovered"] += not outcome["finished first"]
    assert check_store(store).ok and not check_store(store).litter


def _next(stage: str) -> str | None:
    order = list(STAGES)
    return order[order.index(stage) + 1] if order.index(stage) + 1 < len(order) else None


def _has_unfinished_gan(store: Store) -> bool:
    try:
        run = GanRun.resumable(store)
    except Exception:
        return False
    return (run.folder / ".incomplete").exists()


# --------------------------------------------------------------------------- one real kill, small enough for CI


KILLABLE_EMBED = """
import sys, time
from trendgan.embed.clip import ClipEncoder
from trendgan.embed import embed
real = ClipEncoder.embed_pixels
def slow(self, pixels):
    time.sleep(0.3)   # slow enough that the parent kills it mid-run
    return real(self, pixels)
ClipEncoder.embed_pixels = slow
embed(sys.argv[1], encoder=sys.argv[2], device="cpu", batch_size=2, workers=1, part_size=2)
"""


@pytest.mark.ci
def test_a_real_kill_of_embed_then_check_and_rerun_reach_the_same_store(embedded, tmp_path, tally):
    """SIGKILL of embed and its decode worker mid-run: finished parts intact, `check --repair` clears the litter
    (the runs row left at running), and a re-run completes the store exactly once."""
    reference = copy_store(embedded, tmp_path / "reference")
    shutil.rmtree(embedded.root / "embeddings")
    folder = embedded.embeddings_dir(TINY)
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_EMBED, str(embedded.root), TINY], start_new_session=True,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while len(list(folder.glob("part-*.parquet"))) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    tally["faults injected"] += 1
    kept = len(list(folder.glob("part-*.parquet")))
    assert 2 <= kept < 6

    report = check_store(embedded)
    assert report.ok and [f.what for f in report.litter] == ["runs-row"]
    fixed = cli("check", "--repair", "--store", embedded.root)
    assert fixed.exit_code == 0 and "repaired" in fixed.output and "mark it interrupted" in fixed.output
    again = cli("embed", "--store", embedded.root, "--encoder", TINY, "--device", "cpu", "-q")
    assert again.exit_code == 0, again.output
    assert_same_store(embedded, reference, tally)
    tally["runs recovered"] += 1


# --------------------------------------------------------------------------- a real full disk


FILL_UP = r"""
import json, os, shutil, subprocess, sys
from pathlib import Path, PurePosixPath
from trendgan.errors import DiskFullError
disk, corpus, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
store = disk / "store"
steps = []

def used_kib():
    return int(subprocess.run(["df", "-k", "--output=used", str(disk)], capture_output=True, text=True).stdout.split()[-1])

def size(kib):
    subprocess.run(["mount", "-o", f"remount,size={kib}k", str(disk)], check=True)

def attempt(name, call):
    try:
        call()
        steps.append({"step": name, "error": None})
    except DiskFullError as exc:
        steps.append({"step": name, "error": str(exc)})
    except Exception as exc:
        steps.append({"step": name, "error": f"{type(exc).__name__}: {exc}", "unexpected": True})

from trendgan.ingest import ingest
from trendgan.embed import embed
from trendgan.gan.train import train_gan
import trendgan.embed.stage as stage
stage.FLUSH_EVERY_S = 0.0   # a part per batch, so the disk fills between parts

ingest([corpus / "shop" / "2023-01-02"], store=store, workers=1, near_duplicate_distance=-1)
size(used_kib() + 16)        # room for a few batches, not for all
attempt("ingest (disk full)", lambda: ingest([corpus], store=store, workers=1, near_duplicate_distance=-1, batch_size=4))
size(262144)
attempt("ingest (space again)", lambda: ingest([corpus], store=store, workers=1, near_duplicate_distance=-1))

# The disk fills up while embed runs: right after its first part is written, nothing more fits.
real_write_part, shrunk = stage.write_part, []
def write_part_then_fill(*args, **kwargs):
    path = real_write_part(*args, **kwargs)
    if not shrunk:
        shrunk.append(True)
        size(used_kib())
    return path
stage.write_part = write_part_then_fill
attempt("embed (disk full)", lambda: embed(store, encoder=sys.argv[4], device="cpu", workers=0, batch_size=4, part_size=4))
stage.write_part = real_write_part
parts = len(list(store.rglob("part-*.parquet")))
size(262144)
attempt("embed (space again)", lambda: embed(store, encoder=sys.argv[4], device="cpu", workers=0, batch_size=4, part_size=4))

size(used_kib() + 8)
attempt("train (disk full)", lambda: train_gan(store, config="gan-tiny-16", steps=2, device="cpu"))
size(262144)
attempt("train (space again)", lambda: train_gan(store, config="gan-tiny-16", steps=2, device="cpu"))

shutil.copytree(store, out / "store", symlinks=True)
(out / "steps.json").write_text(json.dumps({"steps": steps, "parts_kept_when_full": parts}))
"""


def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="cannot mount a small tmpfs here (needs unshare -m and mount); "
                                                   "test_disk_full.py simulates ENOSPC instead")
def test_a_real_small_disk_fills_up_in_ingest_embed_and_train(tmp_path, tally):
    from trendgan.embed import embed
    from trendgan.ingest import ingest

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 24)
    reference = Store(tmp_path / "reference")  # the same ingests, on a disk with room
    ingest([corpus / "shop" / "2023-01-02"], store=reference, workers=1, near_duplicate_distance=-1)
    ingest([corpus], store=reference, workers=1, near_duplicate_distance=-1)
    embed(reference, encoder=TINY, device="cpu", workers=0, batch_size=4, part_size=4)
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    script = tmp_path / "fill_up.py"
    script.write_text(FILL_UP)
    run = subprocess.run(["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=64m tmpfs "{disk}" && exec "$0" "$@"',
                          sys.executable, str(script), str(disk), str(corpus), str(out), TINY],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads((out / "steps.json").read_text())
    steps = {s["step"]: s for s in found["steps"]}
    assert not any(s.get("unexpected") for s in steps.values()), steps
    for name in ("ingest", "embed", "train"):
        full, again = steps[f"{name} (disk full)"], steps[f"{name} (space again)"]
        assert full["error"] and "is full" in full["error"] and "\n" not in full["error"], (name, full)
        assert again["error"] is None, (name, again)
        tally["faults injected"] += 1
        tally["runs recovered"] += 1
    assert "new images from the batches before are committed" in steps["ingest (disk full)"]["error"]
    assert "4 vectors in 1 finished part are kept" in steps["embed (disk full)"]["error"]
    assert found["parts_kept_when_full"] == 1
    filled = Store(out / "store")
    assert check_store(filled).ok
    assert_same_store(filled, reference, tally)  # every catalog row and every vector, nothing lost or twice


@pytest.mark.parametrize("how", ["truncated", "not weights-only"])
def test_every_command_that_loads_a_gan_checkpoint_gives_one_line(pipeline, tmp_path, how, tally):
    """render, restyle, design, evaluate-gan and train --resume all load through the one loader."""
    import torch

    store = copy_store(pipeline["store"], tmp_path / "store")
    checkpoint = GanRun.open(store).checkpoint
    if how == "truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[:5000])
    else:
        torch.save({"config": "gan-tiny-16", "ema": PurePosixPath("/")}, checkpoint)  # an object, not weights
    tally["faults injected"] += 1
    garment = str(next(pipeline["corpus"].rglob("*.png")))
    reason = "truncated or damaged" if how == "truncated" else "holds more than weights"
    for command in (["render", "--per-style", "1"], ["restyle", garment, "--to", "0", "--n", "1", "--steps", "2"],
                    ["design", "--like", garment, "--n", "1"], ["evaluate-gan", "-n", "8"],
                    ["train", "--resume", "--steps", "70", "--device", "cpu"]):
        assert_one_line(cli(*command, "--store", store.root, "-q"), "checkpoint", reason)
    assert_one_line(cli("render", "--gan", "../../x", "--store", store.root, "-q"), "'../../x' is not a run name")
    report = check_store(store)
    assert [f.path for f in report.damage] == [checkpoint.parent]
    repair_store(store)  # the damaged run moves aside; there is no other GAN run, so render says to train one
    assert_one_line(cli("render", "--store", store.root, "-q"), "no train run yet")
