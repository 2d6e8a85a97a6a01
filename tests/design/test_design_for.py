import json

import numpy as np
import pytest
from PIL import Image

from trendgan.design import design_for, trend_direction
from trendgan.errors import DesignError, StageNotRunError


def _unit(rows):
    rows = np.atleast_2d(rows)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _liked(draw, looks):
    # three photos of one look (coral over navy), each with its own fine detail
    return [draw(looks["coral_navy"], seed=s, name=f"liked-{s}.png") for s in (1, 2, 3)]


def test_designs_are_closer_to_the_liked_set_than_random_renders(store, renderer, encoder, looks, draw):
    liked = _liked(draw, looks)
    result = design_for(store, liked, n=4, seed=0, renderer=renderer, encoder=encoder)

    liked_vectors = encoder.embed_images([Image.open(p) for p in liked])
    designs = encoder.embed_images([Image.open(result.folder / f["file"]) for f in result.files])
    rng = np.random.default_rng(1)
    random_renders = renderer.render(_unit(rng.normal(size=(16, 48))).astype(np.float32), seed=3)
    randoms = encoder.embed_images([Image.fromarray(r) for r in random_renders])

    to_liked = lambda vectors: float((vectors @ liked_vectors.T).mean())
    assert to_liked(designs) > to_liked(randoms) + 0.3
    assert len(result.files) == 4 and result.candidates == 16


def test_designs_are_ranked_best_first_from_all_candidates(store, renderer, encoder, looks, draw):
    result = design_for(store, _liked(draw, looks), n=3, seed=0, renderer=renderer, encoder=encoder)
    index = json.loads((result.folder / "index.json").read_text())
    scores = [f["score"] for f in index["files"]]
    assert scores == sorted(scores, reverse=True)
    assert [f["rank"] for f in index["files"]] == [1, 2, 3]
    assert scores[-1] >= index["candidate_scores"]["mean"]  # kept the better part of the candidates
    assert index["kind"] == "design" and index["inputs"]["liked"][0].endswith("liked-1.png")
    assert store.run_dir("designs") == result.folder


def test_trend_weight_pulls_designs_toward_the_rising_style(store, renderer, encoder, looks, draw, forecast_run):
    liked = _liked(draw, looks)
    plain = design_for(store, liked, n=3, trend_weight=0.0, renderer=renderer, encoder=encoder)
    trendy = design_for(store, liked, n=3, trend_weight=0.7, renderer=renderer, encoder=encoder)

    assert [s["name"] for s in trendy.trend_styles] == ["grey tones"]  # the rising style; the declining one is left out
    rising = looks["grey"]
    cos_to_rising = lambda result: float(np.mean(
        encoder.embed_images([Image.open(result.folder / f["file"]) for f in result.files]) @ rising))
    assert cos_to_rising(trendy) > cos_to_rising(plain)
    index = json.loads((trendy.folder / "index.json").read_text())
    assert index["targets"][1]["kind"] == "trend" and "cos_trend" in index["files"][0]


def test_trend_direction_weights_promising_styles_by_confidence(store, forecast_run, looks):
    direction = trend_direction(store, encoder_key="test-layout")
    assert direction.forecast_run == forecast_run.name
    assert float(direction.vector @ _unit(looks["grey"])[0]) == pytest.approx(1.0, abs=1e-5)


def test_trend_weight_without_a_forecast_says_what_to_run(store, renderer, encoder, looks, draw):
    with pytest.raises(StageNotRunError, match="trendgan forecast"):
        design_for(store, _liked(draw, looks), trend_weight=0.5, renderer=renderer, encoder=encoder)


def test_unreadable_liked_image_names_the_file_and_writes_nothing(store, renderer, encoder, looks, draw, tmp_path):
    broken = tmp_path / "holiday.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DesignError, match="holiday.png"):
        design_for(store, [*_liked(draw, looks), broken], renderer=renderer, encoder=encoder)
    assert store.runs("designs") == []


def test_prompt_without_a_text_tower_says_so(store, renderer, encoder, looks, draw):
    with pytest.raises(DesignError, match=r"text tower \(CLIP\)"):
        design_for(store, _liked(draw, looks), prompt="boho summer", renderer=renderer, encoder=encoder)


def test_prompt_with_a_text_tower_joins_the_taste(store, renderer, text_encoder, looks, draw):
    result = design_for(store, [], prompt="green", n=2, renderer=renderer, encoder=text_encoder)
    green = text_encoder.embed_texts(["green"])[0]
    vectors = text_encoder.embed_images([Image.open(result.folder / f["file"]) for f in result.files])
    assert float((vectors @ green).min()) > 0.8


@pytest.mark.parametrize("kwargs, message", [
    ({"liked": []}, "at least one liked image"),
    ({"trend_weight": 2.0}, "between 0 and 1"),
    ({"n": 0}, "at least 1"),
])
def test_bad_requests_are_refused(store, renderer, encoder, looks, draw, kwargs, message):
    request = {"liked": _liked(draw, looks), **kwargs}
    with pytest.raises(DesignError, match=message):
        design_for(store, renderer=renderer, encoder=encoder, **request)
