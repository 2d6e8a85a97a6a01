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


# --------------------------------------------------------------------------- names from captions (c-TF-IDF)

from trendgan.styles.naming import (  # noqa: E402
    ClassTfidf, caption_choice, class_tfidf, concepts_in, confident_garment, garment_colour, garment_words, keep_stable,
    name_styles, pooled_garments,
)
from trendgan.styles.naming import _garment_index, _pattern_index  # noqa: E402


def test_class_tfidf_weighs_what_one_style_says_over_what_every_style_says():
    counts = np.array([[10, 5, 0], [10, 0, 5]])  # word 0 in both styles, word 1 only in style 0, word 2 only in 1
    weights = class_tfidf(counts)
    assert weights[0, 1] > weights[0, 0] and weights[1, 2] > weights[1, 0]
    assert weights[0, 2] == 0
    model = ClassTfidf(min_posts=2).fit([
        ["Loving my #ootd kicks", "new kicks today #ootd", "kicks kicks #sneakerhead", "#ootd"],
        ["#ootd floral midi", "floral again #ootd", "#ootd garden party in florals"],
    ])
    assert model.terms_[0][0][0] == "kicks" and model.terms_[1][0][0] == "floral"
    assert "#ootd" not in [t for t, _ in model.terms_[0][:1]]  # every style's posts say it: not distinctive
    assert ClassTfidf().fit([[], []]).terms_ == [[], []]


def test_garment_words_in_captions_and_hashtags():
    garments = _garment_index()
    assert concepts_in("Obsessed with these trainers #greensneakers", garments) == {"sneakers"}
    assert concepts_in("Caught this tee shirt on the tram #redtee", garments) >= {"tee"}
    assert concepts_in("#sneakerhead", garments) == {"sneakers"}
    assert concepts_in("Sunday mood #ootd #streetstyle", garments) == set()
    assert concepts_in("Loving this polka dot skirt", _pattern_index()) == {"polka dot"}


def test_a_garment_every_style_mentions_in_passing_is_not_a_styles_garment():
    captions = [
        ["navy trousers", "slacks for work", "pants again", "trousers #pants", "with a tee"],
        ["green kicks", "my trainers", "sneakers day", "with navy trousers", "kicks"],
        ["pink skirt", "midi skirt", "skirt with navy trousers", "skirt", "skirt love"],
    ]
    assert caption_choice(captions, _garment_index()) == ["trousers", "sneakers", "skirt"]
    assert caption_choice([["Sunday mood"], ["coffee first"]], _garment_index()) == [None, None]


def test_the_classifier_names_a_garment_only_when_it_is_confident():
    sure = np.zeros((4, 1000))
    sure[:, 770] = 0.6  # running shoe
    assert confident_garment(sure) == "sneakers"
    weak = np.zeros((4, 1000))
    weak[:, 770] = 0.05  # the only garment, but too little of the probability
    assert confident_garment(weak) is None
    split = np.zeros((4, 1000))
    split[:2, 770], split[2:, 608] = 0.9, 0.9  # half the images say sneakers, half jeans: no margin
    assert confident_garment(split) is None
    shirt = np.zeros((8, 1000))
    shirt[:, 608], shirt[:, 841], shirt[:, 906] = 0.3, 0.1, 0.05  # jean ahead of sweatshirt, but not 5 times
    assert confident_garment(shirt) is None
    shirt[:, 841], shirt[:, 906] = 0.05, 0.02
    assert confident_garment(shirt) == "jeans"


def test_pooling_reads_a_style_surer_than_one_image():
    watches = np.zeros((3, 1000))
    watches[0, 409], watches[1, 826], watches[2, 531] = 0.5, 0.5, 0.5  # analog clock, stopwatch, digital watch
    watches[:, 635] = 0.1  # magnetic compass: not a garment
    assert confident_garment(watches) == "watch"
    assert pooled_garments(watches)[0] == ("watch", pytest.approx(0.5))


def test_a_sure_family_is_named_when_its_garment_is_not():
    shoes = np.zeros((4, 1000))
    shoes[:, 630], shoes[:, 502], shoes[:, 770] = 0.4, 0.25, 0.1  # Loafer, clog, running shoe
    assert confident_garment(shoes) == "shoes"
    mixed = np.zeros((4, 1000))
    mixed[:, 630], mixed[:, 608] = 0.3, 0.3  # Loafer and jean: no family holds the style
    assert confident_garment(mixed) is None


def test_every_mapped_class_names_a_garment_word_or_is_its_own():
    families = garment_words()["families"]
    words = set(garment_words()["garments"])
    assert all(member in words for members in families.values() for member in members)
    assert set(families) <= words
    table = apparel_classes()
    assert {table[409], table[826], table[892], table[530], table[531]} == {"watch"}  # timepieces
    assert table[806] == table[496] == "socks"


def test_garment_colour_is_measured_on_the_garment_not_on_a_lit_backdrop():
    from trendgan.report.colours import delta_e
    from trendgan.simulate.garments import PALETTE, render_garment

    for style in ("green solid sneaker", "pink dotted skirt", "navy solid trousers", "red striped tee"):
        images = [render_garment(style, size=64, seed=i) for i in range(6)]
        drawn = "#%02x%02x%02x" % PALETTE[style.split()[0]]
        assert delta_e(garment_colour(images), drawn) < 15, style


def test_names_come_from_captions_pixels_and_a_confident_classifier():
    images = [[garment_image((46, 139, 66)) for _ in range(3)], [garment_image((28, 38, 92)) for _ in range(3)],
              [garment_image((200, 30, 40)) for _ in range(3)]]
    captions = [["Green kicks #sneakerhead #ootd", "new trainers #kicks #ootd", "Sunday mood #ootd", "sneakers #ootd"],
                ["Navy slacks for work #ootd", "wide-leg trousers #ootd", "pants day #ootd", "#ootd"],
                ["Sunday mood #ootd", "coffee first #ootd", "golden hour #ootd"]]

    def classify(batch):
        probabilities = np.zeros((len(batch), 1000))
        probabilities[:, 610] = 0.7  # jersey, T-shirt
        return probabilities

    names = name_styles(images, captions, classify=classify)
    assert names[0].name.startswith("green sneakers") and names[0].garment_from == "captions"
    assert names[1].name.startswith("navy trousers")
    assert names[2].name == "red tee" and names[2].garment_from == "classes"  # captions name nothing: the CNN does
    assert names[0].colour.startswith("#") and len(names[0].colour) == 7
    without = name_styles(images[2:], captions[2:], classify=None)
    assert without[0].name == "red look" and without[0].garment is None


def test_a_style_keeps_its_name_unless_its_colour_or_garment_changed():
    new = name_styles([[garment_image((28, 38, 92))]], [["navy trousers", "trousers", "slacks"]])[0]
    kept = keep_stable(new, ("navy tailored trousers", ["navy", "trousers", "tailored"]))
    assert kept.name == "navy tailored trousers"
    changed = keep_stable(new, ("navy tie & academic gown", ["navy", "tie", "gown"]))
    assert changed.name == new.name
    # a garment among the old name's extra words is not the garment it was named for
    assert keep_stable(new, ("navy suit · trousers, dark", ["navy", "suit", "trousers", "dark"])).name == new.name
    assert keep_stable(new, None).name == new.name


def test_styles_that_keep_their_id_keep_their_name_across_runs(style_store):
    import pandas as pd

    from trendgan.styles import find_styles, load_styles

    first = find_styles(style_store, k=4, map_method="pca")
    run = load_styles(style_store, first.run)
    styles = run.styles
    # names a person recognises (say, edited after the first run): the next run must not replace them
    styles["name"] = [f"{words[0]} classic" for words in styles["keywords"]]
    styles.to_parquet(run.folder / "styles.parquet", index=False)
    second = find_styles(style_store, k=5, map_method="pca")  # one look split in two: a new id
    before = dict(zip(styles["style_id"], styles["name"]))
    after = dict(zip(second.styles["style_id"], second.styles["name"]))
    assert set(before) < set(after)
    assert all(after[s] == before[s] for s in before)
    new = (set(after) - set(before)).pop()
    assert after[new].endswith(" look")  # the new style is named afresh
    assert pd.Series(list(after.values())).is_unique


def test_a_style_of_garments_in_several_colours_is_named_mixed_colour_not_their_average():
    from trendgan.report.colours import delta_e
    from trendgan.styles.naming import MIXED_COLOURS, style_colours

    red, navy, white = (200, 30, 40), (25, 35, 80), (245, 245, 245)
    assorted = [garment_image(c, background=(120, 120, 120)) for c in (red, navy, white) * 2]
    words, chart = style_colours(assorted)
    assert words == [MIXED_COLOURS]
    assert chart is not None
    mostly_red = [garment_image(red) for _ in range(5)] + [garment_image(navy) for _ in range(3)]
    words, chart = style_colours(mostly_red)
    assert words == ["red"]
    assert delta_e(chart, "#c81e28") < 10  # the chart colour is the agreeing garments' colour, not a blend with navy
    names = name_styles([assorted, mostly_red])
    assert names[0].name.startswith(MIXED_COLOURS) and names[1].name.startswith("red")
