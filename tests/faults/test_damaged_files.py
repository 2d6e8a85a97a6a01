"""Every kind of file in a store, damaged: one clear line from the stages, `trendgan check` says what is wrong,
`--repair` moves it aside (never deletes it), and a re-run rebuilds exactly what a store nothing happened to holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from trendgan.check import check_store, repair_store
from trendgan.embed import embed, load_vectors
from trendgan.errors import StageNotRunError, StoreDamagedError, StoreLockedError
from trendgan.ingest import ingest
from trendgan.runs import ForecastRun, GanRun, RenderRun, StylesRun, start_run
from trendgan.status import store_status
from trendgan.store import running_process

from .conftest import TINY, assert_one_line, assert_same_store, cli, copy_store

DAMAGES = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "overwritten": lambda data: b"\x00" * 4096 + data[4096:] if len(data) > 8192 else b"\x00" * len(data),
}


def damage(path, how: str) -> None:
    path.write_bytes(DAMAGES[how](path.read_bytes()))


# --------------------------------------------------------------------------- the catalog


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_a_damaged_catalog_is_named_as_damaged_and_rebuilt_by_ingest(embedded, corpus, tmp_path, tally, how):
    reference = copy_store(embedded, tmp_path / "reference")
    damage(embedded.catalog_path, how)
    tally["faults injected"] += 1

    # Before: "open in another process" (a header of zeros too), or a DuckDB traceback.
    line = assert_one_line(cli("status", "--store", embedded.root), "catalog", "damaged", "trendgan check --repair")
    assert "another process" not in line
    assert_one_line(cli("styles", "--store", embedded.root, "-q"), "damaged")
    checked = cli("check", "--store", embedded.root)
    assert checked.exit_code == 1 and "damaged the catalog catalog.duckdb cannot be read" in checked.output

    repaired = repair_store(embedded)
    assert [f.what for f in repaired.repaired] == ["catalog"] and repaired.ok
    assert (embedded.root / "damaged" / "catalog.duckdb").exists()  # moved aside, not deleted
    assert not embedded.exists()
    ingest([corpus], store=embedded, workers=1, near_duplicate_distance=-1)
    again = embed(embedded, encoder=TINY, device="cpu", workers=0)
    assert again.embedded == 0  # the vectors survived: the same image ids come back
    assert_same_store(embedded, reference, tally)
    tally["runs recovered"] += 1


def test_a_damaged_write_ahead_log_costs_only_its_batch(store, corpus, tally):
    ingest([corpus], store=store, workers=1)
    # A writer killed before DuckDB's checkpoint leaves catalog.duckdb.wal; here its bytes are then damaged.
    code = (f"import duckdb, os\ncon = duckdb.connect({str(store.catalog_path)!r})\n"
            "con.execute(\"UPDATE images SET caption = 'unsaved'\")\nos._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True)
    wal = store.catalog_path.with_name("catalog.duckdb.wal")
    data = wal.read_bytes()
    wal.write_bytes(data[:20] + b"\xff" * 64 + data[84:])
    tally["faults injected"] += 1
    with pytest.raises(StoreDamagedError, match="damaged"):
        store_status(store)
    report = check_store(store)
    assert [(f.what, f.severity) for f in report.findings if f.severity != "note"] == [("wal", "damage")]
    repair_store(store)
    assert (store.root / "damaged" / "catalog.duckdb.wal").exists()
    assert store_status(store).images == 12  # everything committed before the unsaved batch
    tally["runs recovered"] += 1


def test_a_catalog_open_in_another_process_is_still_reported_as_such(store, corpus):
    import time

    ingest([corpus], store=store, workers=1)
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time\nc = duckdb.connect({str(store.catalog_path)!r})\n"
                               "print('open', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreLockedError, match="open in another process"):
            store_status(store)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert store_status(store).images == 12


# --------------------------------------------------------------------------- vector parts


@pytest.mark.parametrize("how", ["truncated", "empty", "overwritten", "narrower"])
def test_a_damaged_vector_part_is_reported_in_one_line_and_recomputed(embedded, tmp_path, tally, how):
    reference = copy_store(embedded, tmp_path / "reference")
    parts = sorted(embedded.embeddings_dir(TINY).glob("part-*.parquet"))
    assert len(parts) == 3
    if how == "narrower":  # a whole Parquet file, but not vectors of this encoder's width
        frame = pd.read_parquet(parts[1])
        frame["vector"] = [v[:8] for v in frame["vector"]]
        frame.to_parquet(parts[1])
    else:
        damage(parts[1], how)
    tally["faults injected"] += 1

    if how != "narrower":  # the footer is gone: status (footers only) says so, every stage stops with one line
        status = store_status(embedded)
        assert len(status.problems) == 1 and parts[1].name in status.problems[0]
        assert "trendgan check --repair" in status.problems[0]
        assert_one_line(cli("embed", "--store", embedded.root, "--encoder", TINY, "-q"), parts[1].name, "damaged",
                        "trendgan check --repair")
    assert_one_line(cli("styles", "--store", embedded.root, "-q"), parts[1].name, "damaged")
    with pytest.raises(StoreDamagedError, match=parts[1].name):
        load_vectors(embedded, TINY)
    checked = cli("check", "--store", embedded.root)
    assert checked.exit_code == 1 and f"the vector part {parts[1].parent.name}/{parts[1].name} is damaged" in checked.output

    fixed = cli("check", "--repair", "--store", embedded.root)
    assert fixed.exit_code == 0 and "repaired" in fixed.output
    assert (embedded.root / "damaged" / "embeddings" / parts[1].parent.name / parts[1].name).exists()
    rerun = embed(embedded, encoder=TINY, device="cpu", workers=0, batch_size=4, part_size=4)
    assert (rerun.embedded, rerun.already_embedded) == (4, 8)  # exactly the lost part, nothing else
    assert_same_store(embedded, reference, tally)
    assert check_store(embedded).ok
    tally["runs recovered"] += 1


def test_a_lost_encoder_json_is_restored_from_the_runs_table(embedded, tmp_path, tally):
    info = embedded.embeddings_dir(TINY) / "encoder.json"
    info.write_text("{not json")
    tally["faults injected"] += 1
    assert not check_store(embedded).ok
    repair_store(embedded)
    assert json.loads(info.read_text())["key"] == TINY and check_store(embedded).ok
    assert len(load_vectors(embedded)[0]) == 12
    tally["runs recovered"] += 1


# --------------------------------------------------------------------------- run folders


def _fake_runs(store):
    """Two finished styles runs and one of forecast, render and GAN: what the readers and the check look at."""
    import torch

    for n in range(2):
        with start_run(store, StylesRun, name=f"2026010{n + 1}-000000", settings={"period": "W"}) as run:
            for table in ("assignments", "styles", "series", "drift", "map"):
                run.write_table(table, pd.DataFrame({"style_id": [0, 1], "n": [n, n]}))
            run.log({"k": 2})
    with start_run(store, ForecastRun, name="20260103-000000", inputs={"styles_run": run.name}) as run:
        run.write_table("labels", pd.DataFrame({"unique_id": ["0"], "trend": ["rising"]}))
    with start_run(store, RenderRun, name="20260104-000000") as run:
        run.write_json("index.json", [{"style_id": 0, "files": []}])
    with start_run(store, GanRun, name="20260105-000000") as run:
        with run.atomic("checkpoint.pt") as tmp:
            torch.save({"step": 3, "weights": torch.zeros(4)}, tmp)


@pytest.mark.parametrize("what", ["config", "table", "index", "checkpoint"])
def test_a_damaged_finished_run_is_moved_aside_and_the_one_before_is_used(store, corpus, tally, what):
    ingest([corpus], store=store, workers=1)
    _fake_runs(store)
    target = {"config": store.root / "styles/20260102-000000/config.json",
              "table": store.root / "styles/20260102-000000/series.parquet",
              "index": store.root / "renders/20260104-000000/index.json",
              "checkpoint": store.root / "gan/20260105-000000/checkpoint.pt"}[what]
    damage(target, "truncated")
    tally["faults injected"] += 1

    if what in ("config", "table"):
        with pytest.raises(StoreDamagedError, match="trendgan check --repair"):
            StylesRun.open(store).period if what == "config" else StylesRun.open(store).series
    report = check_store(store)
    assert [(f.what, f.path) for f in report.damage] == [("run", target.parent)]
    assert target.name.split(".")[0] in report.damage[0].message
    repair_store(store)
    moved = store.root / "damaged" / target.parent.parent.name / target.parent.name
    assert moved.is_dir() and not target.parent.exists()
    if what in ("config", "table"):
        assert StylesRun.open(store).name == "20260101-000000"  # the run before it is the latest again
        assert list(StylesRun.open(store).series["n"]) == [0, 0]
    assert check_store(store).ok
    tally["runs recovered"] += 1


def test_killed_runs_leave_nothing_behind_after_repair(store, corpus, tally):
    """Half-written folders, temporary files and `running` rows of dead processes; a resumable GAN run is kept, and
    so are a user's own files inside the store."""
    ingest([corpus], store=store, workers=1)
    _fake_runs(store)
    half = store.new_run("styles", "20260106-000000")           # killed before config.json
    (half / ".incomplete").touch()
    (half / "styles.parquet").write_bytes(b"PAR1")
    marked = store.new_run("forecasts", "20260107-000000")      # config.json written, marker left
    (marked / "config.json").write_text("{}")
    (marked / ".incomplete").touch()
    resumable = store.new_run("gan", "20260108-000000")         # a GAN checkpoint: train --resume continues it
    (resumable / ".incomplete").touch()
    shutil.copyfile(store.root / "gan/20260105-000000/checkpoint.pt", resumable / "checkpoint.pt")
    stale = [store.root / "styles/20260101-000000/.series.parquet.ab12cd34.tmp",
             store.embeddings_dir(TINY) / ".part-1.parquet.k2j3h4g5.tmp"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a write")
    user_file = store.root / "corpus" / ".draft.x1y2z3w4.tmp"    # a user's file kept in the store: not ours
    user_file.parent.mkdir()
    user_file.write_text("mine")
    metrics = store.root / "styles/20260101-000000/metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"k": 3, "sil')  # a line cut short by the kill
    with store.catalog() as db:  # a run whose process is gone, and one that is this very process
        db.execute("INSERT INTO runs VALUES ('styles/dead', 'styles', now(), NULL, 'running', NULL, ?)",
                   [json.dumps({"process": {"pid": _dead_pid(), "host": os.uname().nodename, "started": 1}})])
        db.execute("INSERT INTO runs VALUES ('pipelines/alive', 'pipeline', now(), NULL, 'running', NULL, ?)",
                   [json.dumps({"process": running_process()})])
    tally["faults injected"] += 7

    report = check_store(store)
    assert report.ok  # litter does not make a store unusable
    litter = sorted((f.what, str(f.path.relative_to(store.root)) if f.path else f.message) for f in report.litter)
    assert litter == [
        ("half-run", "forecasts/20260107-000000"), ("half-run", "styles/20260106-000000"),
        ("metrics", "styles/20260101-000000/metrics.jsonl"),
        ("runs-row", "the styles run styles/dead is recorded as running, but its process is gone (killed)"),
        ("tmp", f"embeddings/{store.embeddings_dir(TINY).name}/.part-1.parquet.k2j3h4g5.tmp"),
        ("tmp", "styles/20260101-000000/.series.parquet.ab12cd34.tmp"),
    ]
    repair_store(store)
    assert not half.exists() and not marked.exists() and not any(p.exists() for p in stale)
    assert resumable.is_dir() and GanRun.resumable(store).name == "20260108-000000"
    assert user_file.read_text() == "mine"
    assert [json.loads(line)["k"] for line in metrics.read_text().splitlines()] == [2]
    with store.catalog(read_only=True) as db:
        assert dict(db.execute("SELECT run_id, status FROM runs WHERE run_id IN ('styles/dead', 'pipelines/alive')")
                    .fetchall()) == {"styles/dead": "interrupted", "pipelines/alive": "running"}
    after = check_store(store)
    assert after.ok and not after.litter
    tally["runs recovered"] += 4


def test_every_stage_marks_dead_runs_interrupted_before_it_starts(store, corpus):
    ingest([corpus], store=store, workers=1)
    with store.catalog() as db:
        db.execute("INSERT INTO runs VALUES ('styles/old', 'styles', now(), NULL, 'running', NULL, '{}')")
    with start_run(store, ForecastRun, name="x") as run:  # any stage: the lock is ours, so 'styles/old' is dead
        run.write_table("labels", pd.DataFrame({"a": [1]}))
    with store.catalog(read_only=True) as db:
        assert db.execute("SELECT status FROM runs WHERE run_id = 'styles/old'").fetchone() == ("interrupted",)


def test_check_of_a_whole_store_finds_nothing(embedded):
    result = cli("check", "--store", embedded.root)
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "12 images, 3 vector parts (12 vectors)" in result.output
    as_json = json.loads(cli("check", "--json", "--store", embedded.root).output)
    assert as_json["ok"] and as_json["counts"]["vectors"] == 12


def test_check_names_a_missing_store():
    assert_one_line(cli("check", "--store", "/nonexistent/trendgan-store"), "no store at")


def test_a_run_name_that_leaves_the_store_is_refused(store, corpus):
    ingest([corpus], store=store, workers=1)
    with pytest.raises(Exception, match="not a run name"):
        GanRun.open(store, "../../x")
    assert_one_line(cli("evaluate-gan", "--run", "../../x", "--store", store.root), "'../../x' is not a run name")
    with pytest.raises(StageNotRunError):
        GanRun.open(store, "no-such-run")


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_store_paths_are_untouched_by_a_read_only_check(embedded):
    before = sorted((p, p.stat().st_mtime_ns) for p in embedded.root.rglob("*") if p.is_file())
    check_store(embedded)
    after = sorted((p, p.stat().st_mtime_ns) for p in embedded.root.rglob("*") if p.is_file())
    assert before == after
