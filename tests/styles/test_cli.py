from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from trendgan.cli.app import app

runner = CliRunner()


def test_styles_command_prints_a_summary_and_writes_a_run(style_store):
    result = runner.invoke(app, ["styles", "--store", str(style_store.root), "--k", "4", "--map", "pca"])
    assert result.exit_code == 0, result.output
    assert "4 styles" in result.output and "from 200 images" in result.output
    folder = style_store.run_dir("styles")
    assert (folder / "config.json").exists()
    assert pd.read_parquet(folder / "series.parquet")["unique_id"].nunique() == 4


def test_quiet_prints_only_the_run_folder(style_store):
    result = runner.invoke(app, ["styles", "--store", str(style_store.root), "--k", "4", "--map", "pca", "-q"])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()) == style_store.run_dir("styles")


def test_assign_only_without_a_run_is_one_clean_line(style_store):
    result = runner.invoke(app, ["styles", "--store", str(style_store.root), "--assign-only"])
    assert result.exit_code == 1
    assert "error:" in result.output and "run `trendgan styles` first" in result.output
    assert "Traceback" not in result.output


def test_bad_options_say_what_to_use(style_store, tmp_path):
    bad_k = runner.invoke(app, ["styles", "--store", str(style_store.root), "--k", "lots"])
    assert bad_k.exit_code == 1 and "--k should be 'auto' or a whole number" in bad_k.output
    bad_period = runner.invoke(app, ["styles", "--store", str(style_store.root), "--period", "D"])
    assert bad_period.exit_code == 1 and "use W (weeks from Monday), M, Q or Y" in bad_period.output
    no_store = runner.invoke(app, ["styles", "--store", str(tmp_path / "none")])
    assert no_store.exit_code == 1 and "trendgan ingest" in no_store.output


def test_hostile_encoder_key_is_printed_escaped(style_store):
    result = runner.invoke(app, ["styles", "--store", str(style_store.root), "--encoder", "[bold red]x[/]"])
    assert result.exit_code == 1
    assert "[bold red]x[/]" in result.output  # shown literally, not interpreted as markup


def test_assign_only_after_a_run_says_ids_are_unchanged(style_store):
    args = ["styles", "--store", str(style_store.root), "--k", "4", "--map", "pca"]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, [*args, "--assign-only"])
    assert result.exit_code == 0, result.output
    assert "ids and names unchanged" in " ".join(result.output.split())


def test_the_summary_shows_families_with_their_styles_and_the_level(style_store):
    args = ["styles", "--store", str(style_store.root), "--k", "6", "--map", "pca", "--level", "family"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "families above them" in text and "use the family level" in text
    from trendgan.styles import load_styles

    run = load_styles(style_store)
    assert run.level == "family"
    for family in run.families.itertuples():
        assert family.name in result.output        # each family, and under it each of its styles
    for name in run.styles["name"]:
        assert name in result.output


def test_an_unknown_level_is_one_clean_line(style_store):
    result = runner.invoke(app, ["styles", "--store", str(style_store.root), "--level", "brand"])
    assert result.exit_code == 1 and "unknown level 'brand'" in result.output and "Traceback" not in result.output
