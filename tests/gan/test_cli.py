"""The CLI commands: thin wrappers that print a short summary, and one clean line on errors."""


from typer.testing import CliRunner

from trendgan.cli.app import app
from trendgan.runs import GanRun

runner = CliRunner()


def test_train_render_evaluate_from_the_command_line(store, gan_data, monkeypatch):
    gan_data.build_store(store)
    result = runner.invoke(app, ["train", "--config", "gan-tiny-16", "--steps", "4", "--store", str(store.root), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "step 4" in result.output and "images/s" in result.output
    run = store.run_dir("gan")
    assert result.output.strip().splitlines()[-1] == str(run)

    result = runner.invoke(app, ["train", "--resume", "--steps", "6", "--store", str(store.root), "-q"])
    assert result.exit_code == 0, result.output
    assert GanRun(run).step == 6

    gan_data.build_styles_and_forecast(store, {0: "rising", 1: "emerging"})
    result = runner.invoke(app, ["render", "--top", "1", "--per-style", "2", "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "blue block" in result.output and "rendered 2 images of 1 styles" in result.output
    more = runner.invoke(app, ["render", "--top", "5", "--per-style", "1", "--store", str(store.root)])
    assert more.exit_code == 0 and "adjusted: 2 of the 5 styles asked for" in more.output  # said, not silent
    # --trend picks other labels: only the emerging style here, and an unknown label is one clean line
    emerging = runner.invoke(app, ["render", "--trend", "emerging", "--per-style", "1", "--store", str(store.root)])
    assert emerging.exit_code == 0 and "rendered 1 images of 1 styles" in emerging.output, emerging.output
    every = runner.invoke(app, ["render", "--trend", "all", "--per-style", "1", "--store", str(store.root)])
    assert every.exit_code == 0 and "rendered 2 images of 2 styles" in every.output, every.output
    wrong = runner.invoke(app, ["render", "--trend", "trending", "--store", str(store.root)])
    assert wrong.exit_code != 0 and "unknown trend trending" in wrong.output and "Traceback" not in wrong.output

    class Flat:  # any encoder into the 8-d test space will do for the CLI's plumbing
        def embed_images(self, images):
            import numpy as np

            return np.stack([np.asarray(i, dtype=float).reshape(-1, 3).mean(0).tolist() + [0] * 5 for i in images])

    monkeypatch.setattr("trendgan.embed.get_encoder", lambda key: Flat())
    result = runner.invoke(app, ["evaluate-gan", "-n", "16", "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "frechet_distance=" in result.output and "precision=" in result.output


def test_errors_are_one_clean_line(store, gan_data):
    result = runner.invoke(app, ["train", "--config", "gan-tiny-16", "--store", str(store.root)])
    assert result.exit_code == 1
    assert "error:" in result.output and "trendgan ingest" in result.output and "Traceback" not in result.output
    gan_data.build_store(store)
    result = runner.invoke(app, ["train", "--config", "no-such-gan", "--store", str(store.root)])
    assert result.exit_code == 1 and "unknown GAN config" in result.output
    result = runner.invoke(app, ["render", "--store", str(store.root)])
    assert result.exit_code == 1 and "trendgan forecast" in result.output
    result = runner.invoke(app, ["train", "--steps", "3", "--minutes", "1", "--store", str(store.root)])
    assert result.exit_code != 0 and "not both" in result.output
