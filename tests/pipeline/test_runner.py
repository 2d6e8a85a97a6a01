"""The runner's skip logic, slicing and settings, with fake stages that count their calls (no torch, seconds)."""

import json
from pathlib import Path

import pytest

from trendgan.errors import ConfigError, NoImagesError
from trendgan.pipeline import STAGES, StageSpec, files_state, read_state, run_pipeline
from trendgan.runs import PipelineRun


class FakeStages:
    """ingest -> styles -> report stand-ins that write real files, so fingerprints see real changes."""

    def __init__(self):
        self.calls = []

    def ingest(self, paths, store=None, recursive=True):
        self.calls.append("ingest")
        if not any(Path(p).exists() for p in paths):
            raise NoImagesError(f"nothing to ingest in {paths}")
        images = sorted(f.name for p in paths for f in Path(p).rglob("*.png"))
        with store.catalog() as db:
            for name in images:
                db.execute("INSERT OR IGNORE INTO images (image_id, path, source, date_origin, width, height, phash, ingested_at)"
                           " VALUES (?, ?, 'feed', 'none', 1, 1, '0', now())", [name, name])
        return len(images)

    def find_styles(self, store=None, k=4, seed=0):
        self.calls.append("styles")
        folder = store.new_run("styles")
        (folder / "config.json").write_text(json.dumps({"k": k}))
        return folder

    def write_report(self, store=None, out=None, title="t"):
        self.calls.append("report")
        out = Path(out)
        out.write_text(title)
        return out

    def specs(self):
        from trendgan.pipeline import _ingest_paths, catalog_state, latest_run_name

        return {
            "ingest": StageSpec("ingest", lambda: self.ingest, reads=lambda s, c: {"files": files_state(_ingest_paths(c))},
                                writes=lambda s, c: s.catalog_path),
            "styles": StageSpec("styles", lambda: self.find_styles, reads=lambda s, c: {"catalog": catalog_state(s)},
                                writes=lambda s, c: s.latest_run("styles")),
            "report": StageSpec("report", lambda: self.write_report, reads=lambda s, c: {"styles": latest_run_name(s, "styles")},
                                writes=lambda s, c: Path(c["out"])),
        }


@pytest.fixture
def fake(tmp_path):
    feed = tmp_path / "feed"
    (feed / "week1").mkdir(parents=True)
    for i in range(3):
        (feed / "week1" / f"a{i}.png").write_bytes(b"x" * (i + 1))
    stages = FakeStages()
    pipeline = {"store": {"path": str(tmp_path / "store")}, "pipeline": {"seed": 7},
                "ingest": {"paths": [str(feed)]}, "styles": {"k": 3}, "report": {"out": "{store}/report.html"}}
    return stages, pipeline, feed


def test_second_run_skips_everything_and_new_files_redo_only_what_changed(fake):
    stages, pipeline, feed = fake
    first = run_pipeline(pipeline, stages=stages.specs())
    assert first.ran == ["ingest", "styles", "report"] and stages.calls == ["ingest", "styles", "report"]

    second = run_pipeline(pipeline, stages=stages.specs())
    assert second.skipped == ["ingest", "styles", "report"] and len(stages.calls) == 3

    (feed / "week2").mkdir()
    (feed / "week2" / "b.png").write_bytes(b"new")  # a weekly folder lands
    third = run_pipeline(pipeline, stages=stages.specs())
    assert third.ran == ["ingest", "styles", "report"]

    (feed / "notes.txt").write_text("same images, a changed folder")  # ingest reruns but the catalog is unchanged
    fourth = run_pipeline(pipeline, stages=stages.specs())
    assert fourth.ran == ["ingest"] and fourth.skipped == ["styles", "report"]


def test_changed_settings_rerun_that_stage_and_those_downstream(fake):
    stages, pipeline, _ = fake
    run_pipeline(pipeline, stages=stages.specs())
    result = run_pipeline(pipeline, stages=stages.specs(), overrides=["styles.k=5"])
    assert result.skipped == ["ingest"] and result.ran == ["styles", "report"]
    assert result.settings["styles"] == {"k": 5, "seed": 7}  # [pipeline] seed reaches every stage that takes one


def test_deleted_output_is_rebuilt(fake):
    stages, pipeline, _ = fake
    first = run_pipeline(pipeline, stages=stages.specs())
    Path(first.outcome("report").output).unlink()
    assert run_pipeline(pipeline, stages=stages.specs()).ran == ["report"]


def test_from_and_until_run_a_slice_and_from_always_reruns(fake):
    stages, pipeline, _ = fake
    result = run_pipeline(pipeline, stages=stages.specs(), until_stage="styles")
    assert result.ran == ["ingest", "styles"] and result.outcome("report").status == "not selected"
    result = run_pipeline(pipeline, stages=stages.specs(), from_stage="styles")
    assert result.ran == ["styles", "report"] and result.outcome("ingest").status == "not selected"
    with pytest.raises(ConfigError, match="--from train: this pipeline's stages are ingest, styles, report"):
        run_pipeline(pipeline, stages=stages.specs(), from_stage="train")
    with pytest.raises(ConfigError, match="comes after"):
        run_pipeline(pipeline, stages=stages.specs(), from_stage="report", until_stage="ingest")


def test_resolved_settings_are_saved_with_the_run(fake, tmp_path):
    stages, pipeline, feed = fake
    result = run_pipeline(pipeline, stages=stages.specs())
    saved = json.loads((result.folder / "pipeline.json").read_text())
    assert saved["stages"]["ingest"] == {"paths": [str(feed)], "recursive": True}  # defaults filled in
    assert saved["stages"]["report"]["out"] == str(tmp_path / "store" / "report.html")  # {store} expanded
    done = PipelineRun(result.folder)
    assert [o["status"] for o in done.results["outcomes"]] == ["ran", "ran", "ran"]
    assert len((result.folder / "metrics.jsonl").read_text().splitlines()) == 3
    assert set(read_state(result.store)) == {"ingest", "styles", "report"}


def test_a_failing_stage_keeps_earlier_work_and_names_itself(fake, tmp_path):
    stages, pipeline, _ = fake
    run_pipeline(pipeline, stages=stages.specs(), until_stage="ingest")
    broken = dict(pipeline, ingest={"paths": [str(tmp_path / "gone")]})
    with pytest.raises(NoImagesError, match="pipeline stage ingest: nothing to ingest"):
        run_pipeline(broken, stages=stages.specs())
    # The good run stays recorded as done: going back to its settings skips ingest.
    assert run_pipeline(pipeline, stages=stages.specs(), until_stage="ingest").skipped == ["ingest"]


@pytest.mark.parametrize("bad, message", [
    ({"ingest": {"paths": ["x"], "colour": "red"}}, r"\[ingest\] unknown setting\(s\) colour; known: paths, recursive"),
    ({"styles": {}, "ingest": {}}, r"\[ingest\] needs the setting 'paths'"),
    ({"ingset": {}}, r"unknown pipeline table\(s\) \[ingset\]"),
    ({"pipeline": {"sed": 1}, "styles": {}}, r"\[pipeline\] takes only seed, device"),
    ({"store": {"path": "s"}}, "names no stage"),
])
def test_bad_pipelines_fail_before_any_stage_runs(fake, tmp_path, bad, message):
    stages, _, _ = fake
    with pytest.raises(ConfigError, match=message):
        run_pipeline(bad, store=tmp_path / "s", stages=stages.specs())
    assert stages.calls == []


def test_real_registry_covers_every_stage_in_order():
    assert list(STAGES) == ["simulate", "ingest", "embed", "styles", "forecast", "train", "render", "report"]
