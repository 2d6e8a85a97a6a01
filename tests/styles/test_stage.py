
import duckdb
import numpy as np
import pandas as pd
import pytest

from trendgan.errors import StageNotRunError, StoreError
from trendgan.styles import find_styles, load_styles

FAST = {"map_method": "pca"}  # UMAP's first call compiles for a minute; its own test is marked slow


def look_of(run, prefix="img"):
    """image_id -> style_id of a run, for the images whose id starts with prefix."""
    frame = run.assignments
    frame = frame[frame["image_id"].str.startswith(prefix)]
    return dict(zip(frame["image_id"], frame["style_id"]))


def test_find_styles_writes_every_table_readable_by_duckdb(style_store):
    # k_tolerance: the finest k within 10 % of the best silhouette, which for four clearly separate looks is four
    result = find_styles(style_store, k="auto", k_max=8, k_tolerance=0.1, **FAST)
    assert result.n_styles == 4 and result.n_images == 200 and result.silhouette > 0.5
    folder = result.folder
    for name in ("assignments", "styles", "series", "drift", "map"):
        assert duckdb.sql(f"SELECT count(*) FROM '{folder / name}.parquet'").fetchall()[0][0] > 0
    run = load_styles(style_store)
    assert run.encoder == "test-encoder" and run.next_style_id == 4 and run.period == "W"
    assert run.folder == folder
    assert run.metrics[0]["sizes"] == {str(k): v for k, v in zip(run.styles["style_id"], run.styles["size"])}
    assert set(run.assignments.columns) >= {"image_id", "style_id", "distance", "posted_at", "period", "source",
                                            "leading_source"}
    # each look is one style, named after its colour, with its closest images as representatives
    styles = run.styles.set_index("style_id")
    for style_id, members in run.assignments.groupby("style_id"):
        assert members["image_id"].nunique() == styles.loc[style_id, "size"]
        reps = styles.loc[style_id, "representatives"]
        assert set(reps) <= set(members["image_id"]) and len(reps) == 8
        closest = members.nsmallest(8, "distance")["image_id"]
        assert set(reps) == set(closest)
    assert sorted(n.split()[0] for n in styles["name"]) == ["green", "navy", "red", "yellow"]
    series = run.series
    assert series.groupby("ds")["y"].sum().to_numpy() == pytest.approx(np.ones(6))
    assert series["y_leading"].notna().all() and not series["low_volume"].any()
    assert run.drift.groupby("ds")["count"].sum().tolist() == series.groupby("ds")["total"].first().tolist()
    assert len(run.map) == 200 and run.map[["x", "y"]].notna().all().all()


def test_style_ids_stay_stable_when_the_data_grows(style_store, add_looks):
    first = load_styles(style_store, find_styles(style_store, k=4, **FAST).run)
    before = look_of(first)
    # four more weeks in which look 3 booms (so sizes reorder) and a fifth look appears
    rng = np.random.default_rng(5)
    looks = np.concatenate([np.full(150, 3), rng.integers(0, 3, 60), np.full(40, 4)])
    add_looks(looks, np.repeat(np.arange(6, 10), [63, 63, 62, 62]), prefix="new", part=1, seed=9)
    result = find_styles(style_store, k=5, **FAST)
    second = load_styles(style_store, result.run)
    assert result.matched == 4 and result.new_styles == 1
    after = look_of(second)
    assert all(after[image] == style for image, style in before.items())
    new_look = set(look_of(second, "new")[f"new-{i:05d}"] for i in range(210, 250))
    assert new_look == {4}  # the next unused id
    assert second.next_style_id == 5 and second.inputs["previous_run"] == first.folder.name


def test_assign_only_puts_new_images_into_existing_styles(style_store, add_looks):
    first = load_styles(style_store, find_styles(style_store, k=4, **FAST).run)
    add_looks([0, 1, 2, 3] * 10, [6] * 40, prefix="later", part=1, seed=3)
    result = find_styles(style_store, assign_only=True, **FAST)
    second = load_styles(style_store, result.run)
    assert result.n_images == 240 and second.metrics[0]["method"] == "assign-only"
    assert second.styles[["style_id", "name"]].equals(first.styles[["style_id", "name"]])
    np.testing.assert_allclose(np.stack(second.styles["centroid"]), np.stack(first.styles["centroid"]))
    before, after = look_of(first), look_of(second)
    assert all(after[image] == style for image, style in before.items())
    # a later image lands in the style of the earlier images of its look
    style_of_look = {look: before[f"img-{i:05d}"] for i, look in enumerate(pd.Series(np.random.default_rng(0).integers(0, 4, size=200)))}
    later = look_of(second, "later")
    assert all(later[f"later-{i:05d}"] == style_of_look[i % 4] for i in range(40))
    assert second.series["ds"].max() == pd.Timestamp("2024-02-12")


def test_assign_only_needs_an_earlier_run(style_store):
    with pytest.raises(StageNotRunError, match="--assign-only needs an earlier styles run"):
        find_styles(style_store, assign_only=True)


def test_undated_images_stay_out_of_the_series_but_are_counted(store, add_looks):
    dated = np.arange(60) % 6 != 0
    add_looks(np.arange(60) % 3, np.arange(60) % 3, dated=dated)
    result = find_styles(store, k=3, min_images_per_period=15, **FAST)
    run = load_styles(store, result.run)
    assert result.undated == 10 and run.metrics[0]["undated_left_out_of_series"] == 10
    assert run.series.groupby("ds")["total"].first().sum() == 50
    assert run.assignments["period"].isna().sum() == 10
    # week 0 lost its 10 undated images: 10 left, under the 15 asked for
    flags = run.series.groupby("ds")[["total", "low_volume"]].first()
    assert flags["total"].tolist() == [10, 20, 20] and flags["low_volume"].tolist() == [True, False, False]


def test_engagement_weighting_moves_shares_toward_liked_styles(store, add_looks):
    looks = np.arange(80) % 2
    likes = np.where(looks == 0, 1000, 1)
    add_looks(looks, (np.arange(80) // 2) % 4, engagement=likes)
    plain = load_styles(store, find_styles(store, k=2, **FAST).run).series
    weighted = load_styles(store, find_styles(store, k=2, weight_by_engagement=True, **FAST).run).series
    liked = weighted.set_index(["unique_id", "ds"])["y"]
    assert plain["y"].to_numpy() == pytest.approx(0.5)
    assert weighted.groupby("ds")["y"].sum().to_numpy() == pytest.approx(np.ones(4))
    ratio = np.log1p(1000) / (np.log1p(1000) + np.log1p(1))
    assert sorted(set(np.round(liked.to_numpy(), 6))) == pytest.approx(sorted({round(1 - ratio, 6), round(ratio, 6)}))
    assert weighted["count"].equals(plain["count"])


def test_hdbscan_marks_noise_and_leaves_it_out_of_shares(store, add_looks, tmp_path):
    from trendgan.store import write_parquet_atomic

    add_looks(np.repeat([0, 1, 2], 40), np.tile(np.arange(4), 30))
    # ten odd images far from every look
    rng = np.random.default_rng(2)
    odd = add_looks([3] * 10, [0] * 10, prefix="odd", part=1)[0]
    vectors = rng.normal(size=(10, 32)).astype(np.float32)
    write_parquet_atomic(pd.DataFrame({"image_id": odd["image_id"], "vector": list(vectors)}),
                         store.embeddings_dir("test-encoder") / "part-00001.parquet")
    result = find_styles(store, method="hdbscan", hdbscan_min_cluster_size=10, **FAST)
    run = load_styles(store, result.run)
    assert result.n_styles == 3 and result.noise_share > 0
    noise = run.assignments[run.assignments["style_id"] == -1]["image_id"]
    assert len(set(noise) & set(odd["image_id"])) >= 8
    assert run.series.groupby("ds")["y"].sum().to_numpy() == pytest.approx(np.ones(4))


def test_min_share_folds_rare_styles(store, add_looks):
    add_looks(np.r_[np.zeros(50, int), np.ones(47, int), np.full(3, 2)], np.arange(100) % 2)
    result = find_styles(store, k=3, min_share=0.05, **FAST)
    assert result.n_styles == 2 and result.styles["size"].sum() == 100


def test_clear_errors_without_store_or_vectors(tmp_path, store):
    with pytest.raises(StoreError, match="trendgan ingest"):
        find_styles(tmp_path / "nowhere")
    with store.catalog():
        pass
    with pytest.raises(StageNotRunError, match="trendgan embed"):
        find_styles(store)



@pytest.mark.slow
def test_names_come_from_the_text_tower_when_the_encoder_has_one(store, add_looks):
    """A tiny random CLIP from trendgan.embed (clip:trendgan-tiny/none): styles are named zero-shot."""
    pytest.importorskip("trendgan.embed")
    from trendgan.styles import load_vocabulary

    add_looks(np.arange(60) % 3, np.arange(60) % 2, dim=64, encoder="clip:trendgan-tiny/none")
    result = find_styles(store, k=3, **FAST)
    assert result.naming == "text"
    garments = load_vocabulary()["facets"]["garments"]
    for name in result.styles["name"]:
        look_words = name.split(" (style")[0].rsplit(", ", 1)[0]
        assert any(look_words.endswith(g) for g in garments), name


@pytest.mark.slow
def test_without_text_tower_names_use_imagenet_apparel_classes_and_colours(store, add_looks):
    """effnet-lite0 vectors: the real CNN classifies the representatives; colours come from their pixels."""
    pytest.importorskip("efficientnet_lite_pytorch")
    add_looks(np.arange(40) % 2, np.arange(40) % 2, encoder="effnet-lite0")
    result = find_styles(store, k=2, **FAST)
    assert result.naming == "classes+colours"
    assert sorted(n.split()[0] for n in result.styles["name"]) == ["navy", "red"]


def test_another_encoders_run_never_reuses_ids_and_does_not_break_matching(style_store, add_looks):
    find_styles(style_store, k=4, **FAST)
    add_looks([0, 1] * 20, [0] * 40, prefix="other", encoder="other-encoder", dim=16)
    other = find_styles(style_store, k=2, encoder="other-encoder", **FAST)
    assert sorted(other.styles["style_id"]) == [4, 5]
    again = find_styles(style_store, k=4, encoder="test-encoder", **FAST)
    assert sorted(again.styles["style_id"]) == [0, 1, 2, 3] and again.matched == 4
    assert load_styles(style_store, again.run).next_style_id == 6


def test_same_store_and_seed_give_the_same_styles(style_store):
    first = load_styles(style_store, find_styles(style_store, k=4, seed=7, **FAST).run)
    second = load_styles(style_store, find_styles(style_store, k=4, seed=7, **FAST).run)
    assert first.assignments[["image_id", "style_id"]].equals(second.assignments[["image_id", "style_id"]])
    assert first.styles["name"].tolist() == second.styles["name"].tolist()
    np.testing.assert_array_equal(first.map[["x", "y"]].to_numpy(), second.map[["x", "y"]].to_numpy())
    assert first.series.equals(second.series)
