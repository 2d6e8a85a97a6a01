"""benchmarks/restyle.py's options for comparing generators: a training seed apart from the photo split, any strengths."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "restyle.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("restyle_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_seed_follows_seed_unless_given(bench):
    assert bench.training_seed(bench.parse_args(["--seed", "3"])) == 3
    assert bench.training_seed(bench.parse_args(["--seed", "3", "--train-seed", "1"])) == 1
    assert bench.training_seed(bench.parse_args(["--train-seed", "0", "--seed", "5"])) == 0


class _Picked(Exception):
    pass


def test_train_seed_leaves_the_photo_split_on_seed(bench, tmp_path, monkeypatch):
    (tmp_path / "styles.csv").write_text("id,articleType,baseColour,image\n")
    seen = []

    def fake_pick(data, n_train, n_pairs, seed):
        seen.append((n_pairs, seed))
        raise _Picked

    monkeypatch.setattr(bench, "pick_photos", fake_pick)
    for argv in (["--seed", "0", "--train-seed", "1"], ["--seed", "2"]):
        with pytest.raises(_Picked):
            bench.main(["--data", str(tmp_path), "--pairs", "12", "--device", "cpu", *argv])
    assert seen == [(12, 0), (12, 2)]


def test_strengths_and_their_summary_keys(bench):
    strengths = bench.parse_strengths("0,0.25,0.5,0.75,1")
    assert strengths == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [bench.strength_key(s) for s in strengths] == ["0.0", "0.25", "0.5", "0.75", "1.0"]
    assert bench.parse_strengths(bench.parse_args([]).strengths) == [0.0, 0.5, 1.0]


def test_colour_reference_brackets_what_a_restyle_can_score(bench, tmp_path):
    from PIL import Image

    def photo(name, colour):
        image = Image.new("RGB", (64, 64), (250, 250, 250))  # a light backdrop, masked out as the catalogue's are
        image.paste(Image.new("RGB", (32, 40), colour), (16, 12))
        path = tmp_path / name
        image.save(path)
        return path

    pairs = [(photo("red.png", (200, 30, 30)), photo("blue.png", (30, 30, 200)), "Red", "Blue")]
    reference = bench.colour_reference(pairs, 32)
    assert set(reference) == {"garment", "target", "garment_speckled"}
    # A red garment shares no colour with a blue target; the target's own photo matches itself almost wholly.
    assert reference["garment"] < 0.1
    assert reference["target"] > 0.8
    # Two greys a step apart fall in neighbouring bins: speckle spreads the garment into the target's bin, so the
    # score rises although no colour moved toward the target.
    greys = [(photo("grey.png", (130, 130, 130)), photo("dark-grey.png", (120, 120, 120)), "Grey", "Grey")]
    reference = bench.colour_reference(greys, 32)
    assert reference["garment"] < 0.05
    assert reference["garment_speckled"] > reference["garment"] + 0.01
    still = bench.colour_reference(greys, 32, noise_sd=0.0)
    assert still["garment_speckled"] == still["garment"] == reference["garment"]
