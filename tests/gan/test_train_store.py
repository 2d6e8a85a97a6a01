"""train_gan on a tiny hand-built store: run folder contents, interruption and resume."""

import json

import pytest
import torch

from trendgan.errors import NoImagesError, StageNotRunError, StoreError
from trendgan.gan.train import train_gan
from trendgan.runs import GanRun


def _metrics(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_tiny_config_trains_on_the_store_and_its_losses_move(store, gan_data):
    gan_data.build_store(store)
    result = train_gan(store, config="gan-tiny-16", steps=10, device="cpu")
    folder = result.folder
    assert result.step == 10 and result.start_step == 0 and result.images == 24
    assert result.encoder_key == gan_data.ENCODER
    # 10 steps of a 16-image batch over the seconds they took (a rate that is merely positive could be anything)
    assert result.images_per_s * result.seconds == pytest.approx(10 * 16, rel=1e-6)
    assert (folder / "checkpoint.pt").is_file() and not (folder / ".incomplete").exists()
    assert sorted(p.name for p in (folder / "samples").glob("*.png")) == ["step-0000010.png"]
    records = _metrics(folder)
    assert [r["step"] for r in records] == [5, 10]
    assert {"loss_d", "loss_g", "images_per_s", "seconds"} <= set(records[0])
    assert records[0]["loss_d"] != records[1]["loss_d"] and records[0]["loss_g"] != records[1]["loss_g"]
    run = GanRun(folder)
    assert run.encoder == gan_data.ENCODER and run.step == 10 and run.settings["image_size"] == 16
    assert store.run_dir("gan") == folder


def test_resume_after_an_interruption_continues_at_the_right_step(store, gan_data, monkeypatch):
    # Bit-for-bit repeats hold at one thread count (docs/stages.md): without TRENDGAN_THREADS the thread sizer reads
    # the machine's load per run, and a run after other CPU work (k-means in test_render) drew a different count.
    monkeypatch.setenv("TRENDGAN_THREADS", "1")
    gan_data.build_store(store)
    straight = train_gan(store, config="gan-tiny-16", steps=16, device="cpu", seed=5)
    straight_state = torch.load(straight.folder / "checkpoint.pt", weights_only=True)

    from trendgan.gan.trainer import GanTrainer

    real_step = GanTrainer.train_step

    def dies_at_13(self, images, conditions):
        if self.step == 13:
            raise KeyboardInterrupt
        return real_step(self, images, conditions)

    monkeypatch.setattr(GanTrainer, "train_step", dies_at_13)
    with pytest.raises(KeyboardInterrupt):
        train_gan(store, config="gan-tiny-16", steps=16, device="cpu", seed=5)
    monkeypatch.setattr(GanTrainer, "train_step", real_step)
    interrupted = max((store.root / "gan").iterdir(), key=lambda p: p.name)
    assert interrupted != straight.folder
    assert (interrupted / ".incomplete").exists() and not (interrupted / "config.json").exists()
    assert torch.load(interrupted / "checkpoint.pt", weights_only=True)["step"] == 13
    assert store.run_dir("gan") == straight.folder  # an unfinished run is not "the latest GAN"

    resumed = train_gan(store, steps=16, resume=True, device="cpu")
    assert resumed.folder == interrupted and (resumed.start_step, resumed.step) == (13, 16)
    assert [r["step"] for r in _metrics(interrupted)] == [5, 10, 15, 16]
    # Same seed and a restored random stream: the resumed run ends with the very weights of the uninterrupted one.
    state = torch.load(interrupted / "checkpoint.pt", weights_only=True)
    for key, value in straight_state["ema"].items():
        assert torch.equal(value, state["ema"][key]), key
    assert store.run_dir("gan") == interrupted


def test_clear_errors_for_an_empty_or_unembedded_store(store, tmp_path):
    with pytest.raises(StoreError, match="trendgan ingest"):
        train_gan(store, config="gan-tiny-16", steps=1)
    with store.catalog():
        pass
    with pytest.raises(StageNotRunError, match="trendgan embed"):
        train_gan(store, config="gan-tiny-16", steps=1)
    with pytest.raises(StageNotRunError, match="without --resume"):
        train_gan(store, resume=True, steps=1)
    assert not (store.root / "gan").exists() or not any((store.root / "gan").iterdir())


def test_unreadable_images_are_skipped_not_fatal(store, gan_data):
    gan_data.build_store(store)
    victim = sorted((store.root.parent / "images").glob("*.png"))[0]
    victim.write_bytes(b"not a png")
    result = train_gan(store, config="gan-tiny-16", steps=2, device="cpu")
    assert result.skipped == 1 and result.images == 23
    for image in (store.root.parent / "images").glob("*.png"):
        image.unlink()
    with pytest.raises(NoImagesError, match="could be read"):
        train_gan(store, config="gan-tiny-16", steps=2, device="cpu")


@pytest.mark.slow
def test_resume_after_a_real_kill(store, gan_data):
    """SIGKILL mid-run (no chance to save): the last periodic checkpoint is whole and the run continues from it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    gan_data.build_store(store)
    command = [sys.executable, "-m", "trendgan.cli.app", "train", "--config", "gan-tiny-16", "--steps", "100000",
               "--store", str(store.root), "--device", "cpu", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((store.root / "gan").glob("*/checkpoint.pt")):
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    folder = next((store.root / "gan").iterdir())
    assert (folder / ".incomplete").exists() and not (folder / "config.json").exists()
    reached = torch.load(folder / "checkpoint.pt", weights_only=True)["step"]
    assert reached >= 10 and reached % 10 == 0  # a periodic checkpoint, loadable
    result = train_gan(store, steps=reached + 5, resume=True, device="cpu")
    assert (result.folder, result.start_step, result.step) == (folder, reached, reached + 5)
    assert not list(folder.glob(".checkpoint.pt.*.tmp")) and (folder / "config.json").exists()


@pytest.mark.slow  # a real styles run: minutes on a busy 2-core machine
def test_style_centroids_are_read_through_the_styles_stage(store, gan_data):
    from dataclasses import replace

    import numpy as np

    from trendgan.gan.config import load_config
    from trendgan.gan.train import load_training_set, style_centroids_of
    from trendgan.styles.stage import find_styles, load_styles

    gan_data.build_store(store)
    config = replace(load_config("gan-tiny-16"), cond_centroid=0.5)
    key, _, conditions, _, ids = load_training_set(store, None, 16, return_ids=True)
    assert style_centroids_of(store, key, ids, conditions, config) is None  # no styles run: the option cannot act
    find_styles(store, k=3, seed=0)
    assert style_centroids_of(store, key, ids, conditions, load_config("gan-tiny-16")) is None  # option off
    centres = style_centroids_of(store, key, ids, conditions, config)
    run = load_styles(store)
    style_of = dict(zip(run.assignments["image_id"], run.assignments["style_id"]))
    centre_of = {int(s): np.asarray(c, np.float32) for s, c in zip(run.styles["style_id"], run.styles["centroid"])}
    for row, image_id in enumerate(ids):
        expected = centre_of.get(int(style_of.get(image_id, -1)))
        assert np.allclose(centres[row].numpy(), conditions[row].numpy() if expected is None else expected)
    assert len({tuple(np.round(r, 5)) for r in centres.numpy()}) <= 3 < len(ids)
    result = train_gan(store, config="gan-tiny-16", steps=2, device="cpu")  # a default run is unaffected
    assert result.step == 2


def test_style_centroids_map_each_image_to_its_style_and_keep_the_unplaced(store, monkeypatch):
    from dataclasses import replace
    from types import SimpleNamespace

    import pandas as pd

    from trendgan.gan.config import load_config
    from trendgan.gan.train import style_centroids_of
    from trendgan.styles import stage

    run = SimpleNamespace(
        name="r1", encoder="enc",
        assignments=pd.DataFrame({"image_id": ["a", "b", "c"], "style_id": [0, 1, -1]}),
        styles=pd.DataFrame({"style_id": [0, 1], "centroid": [[1.0, 0.0], [0.0, 1.0]]}))
    monkeypatch.setattr(stage, "load_styles", lambda store: run)
    conditions = torch.tensor([[0.6, 0.8], [0.8, 0.6], [0.5, 0.5], [0.3, 0.9]])
    config = replace(load_config("gan-tiny-16"), cond_centroid=0.5)
    centres = style_centroids_of(store, "enc", ["a", "b", "c", "d"], conditions, config)
    # a and b take their style's centroid; c (noise) and d (not in the run) keep their own vectors
    assert torch.equal(centres, torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.3, 0.9]]))
    assert style_centroids_of(store, "other-encoder", ["a"], conditions[:1], config) is None


def test_style_balance_reads_each_image_style_through_the_styles_stage(store, monkeypatch):
    from dataclasses import replace
    from types import SimpleNamespace

    import pandas as pd

    from trendgan.gan.config import load_config
    from trendgan.gan.train import balance_styles
    from trendgan.gan.trainer import GanTrainer
    from trendgan.styles import stage

    run = SimpleNamespace(name="r1", encoder="enc",
                          assignments=pd.DataFrame({"image_id": ["a", "b", "c", "d"], "style_id": [0, 0, 0, 1]}))
    monkeypatch.setattr(stage, "load_styles", lambda store: run)
    trainer = GanTrainer(replace(load_config("gan-tiny-16"), style_balance=1.0), cond_dim=2, seed=0)
    balance_styles(trainer, store, "enc", ["a", "b", "c", "d", "e"])
    # three images of style 0 share its turn; d (style 1) and e (in no style: the unplaced group) get one each
    assert torch.allclose(trainer.sample_weights, torch.tensor([1 / 3, 1 / 3, 1 / 3, 1.0, 1.0], dtype=torch.float64))
    other = GanTrainer(replace(load_config("gan-tiny-16"), style_balance=1.0), cond_dim=2, seed=0)
    balance_styles(other, store, "other-encoder", ["a", "b"])
    assert other.sample_weights is None  # styles of another encoder's vectors say nothing about these images
