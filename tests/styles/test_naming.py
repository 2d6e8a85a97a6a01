import json

import numpy as np
import pytest
from PIL import Image

from trendgan.styles import (
    apparel_from_classes, colour_name, dominant_colours, load_vocabulary, name_style_from_images,
    name_styles_with_text, normalise,
)
from trendgan.styles.naming import apparel_classes, unique_names


def term_space(dim=256, seed=0):
    """A fake text tower: every vocabulary term gets its own random direction; a prompt embeds as its term."""
    vocabulary = load_vocabulary()
    rng = np.random.default_rng(seed)
    term_vector, prompt_term = {}, {}
    for facet, terms in vocabulary["facets"].items():
        for term in terms:
            term_vector.setdefault(term, rng.normal(size=dim))
            for template in vocabulary["templates"][facet]:
                prompt_term[template.format(term)] = term

    def embed_texts(prompts):
        return np.stack([term_vector[prompt_term[p]] for p in prompts]).astype(np.float32)

    return embed_texts, term_vector


def look(term_vector, *terms):
    return normalise(np.sum([term_vector[t] for t in terms], axis=0)[None])[0]


def test_text_names_combine_colour_material_pattern_garment_and_style():
    embed_texts, vec = term_space()
    centroids = np.stack([
        look(vec, "black", "leather", "plain", "biker jacket", "streetwear"),
        look(vec, "pink", "silk", "floral", "slip dress", "romantic"),
        look(vec, "navy", "cotton", "striped", "shirt", "preppy"),
    ])
    names = name_styles_with_text(centroids, embed_texts)
    assert [n.name for n in names] == [
        "black leather biker jacket, streetwear",   # "plain" is left out: it says nothing
        "pink silk floral slip dress, romantic",
        "navy striped shirt, preppy",                # so is "cotton"
    ]
    assert "biker jacket" in names[0].keywords


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A tiny randomly initialised CLIP (no weights to download): exercises the real tokenizer and text tower."""
    open_clip = pytest.importorskip("open_clip")
    import torch

    folder = tmp_path_factory.mktemp("clip")
    config = {"embed_dim": 32,
              "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
              "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    (folder / "styles-test-tiny-clip.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder / "styles-test-tiny-clip.json")
    torch.manual_seed(0)
    model = open_clip.create_model("styles-test-tiny-clip").eval()
    tokenizer = open_clip.get_tokenizer("styles-test-tiny-clip")

    def embed_texts(prompts):
        with torch.no_grad():
            return model.encode_text(tokenizer(prompts)).numpy()

    return embed_texts


def test_names_from_a_tiny_random_clip_text_tower(tiny_clip):
    rng = np.random.default_rng(0)
    centroids = normalise(rng.normal(size=(4, 32)))
    names = name_styles_with_text(centroids, tiny_clip)
    again = name_styles_with_text(centroids, tiny_clip)
    assert [n.name for n in names] == [n.name for n in again]
    garments = load_vocabulary()["facets"]["garments"]
    styles = load_vocabulary()["facets"]["styles"]
    for name in names:
        look_words, style_word = name.name.rsplit(", ", 1)
        assert style_word in styles
        assert any(look_words.endswith(g) for g in garments)
    # a centroid lying exactly on a term's (template-averaged) text vector is named with that term
    from trendgan.styles.naming import vocabulary_vectors

    terms, vectors = vocabulary_vectors(tiny_clip)["garments"]
    named = name_styles_with_text(vectors[[terms.index("kimono")]], tiny_clip)
    assert "kimono" in named[0].keywords


def garment_image(colour, size=48, background=(250, 250, 250), second=None):
    canvas = Image.new("RGB", (size, size), background)
    canvas.paste(Image.new("RGB", (size // 2, size * 3 // 4), colour), (size // 4, size // 8))
    if second is not None:
        canvas.paste(Image.new("RGB", (size // 2, size * 3 // 8), second), (size // 4, size // 2))
    return canvas


def test_dominant_colour_ignores_a_studio_background():
    assert dominant_colours([garment_image((200, 30, 40)) for _ in range(3)]) == ["red"]
    assert dominant_colours([garment_image((250, 250, 250), background=(5, 5, 5))]) == ["white"]
    two_tone = dominant_colours([garment_image((25, 35, 80), second=(245, 215, 50))])
    assert sorted(two_tone) == ["navy", "yellow"]
    shades = dominant_colours([garment_image((128, 128, 128), second=(190, 190, 190))])
    assert shades in (["grey"], ["light grey"])  # two shades of one colour are named once


def test_colour_names_are_perceptual():
    assert colour_name((30, 40, 90)) == "navy" and colour_name((0, 0, 230)) == "blue" and colour_name((250, 250, 245)) == "white"


def test_apparel_classes_keep_only_garments():
    probabilities = np.zeros((2, 1000))
    probabilities[:, 608] = 0.4    # jean
    probabilities[:, 999] = 0.45   # toilet tissue: not apparel
    probabilities[:, 610] = 0.15   # jersey, T-shirt
    assert apparel_from_classes(probabilities) == ["jeans"]  # the runner-up is too rare to name
    probabilities[:, 610], probabilities[:, 999] = 0.3, 0.3
    assert apparel_from_classes(probabilities) == ["jeans", "tee"]
    assert apparel_from_classes(np.full((1, 1000), 1e-3)) == []


def test_apparel_class_indices_match_imagenet_names():
    categories = pytest.importorskip("torchvision.models._meta")._IMAGENET_CATEGORIES
    assert categories[608] == "jean" and categories[610] == "jersey" and categories[770] == "running shoe"
    for index in apparel_classes():
        assert 0 <= index < 1000


def test_without_text_tower_names_come_from_classes_and_pixels():
    def classify(images):
        probabilities = np.zeros((len(images), 1000))
        probabilities[:, 608] = 0.9
        return probabilities

    images = [garment_image((25, 35, 80)) for _ in range(4)]
    assert name_style_from_images(images, classify).name == "navy jeans"
    assert name_style_from_images(images, None).name == "navy look"
    assert name_style_from_images([], None).name == ""


def test_repeated_or_empty_names_get_the_style_id():
    assert unique_names(["red look", "red look", "", "navy jeans"], [3, 8, 9, 1]) == [
        "red look (style 3)", "red look (style 8)", "style 9", "navy jeans"]
