"""Families: neighbouring styles merge when their shares move together, stay apart when they do not; stable ids."""

import numpy as np
import pytest

from trendgan.styles import find_styles, load_styles
from trendgan.styles.cluster import style_centroids
from trendgan.styles.families import build_families, family_name, match_families
from trendgan.styles.splitting import counts_per_period

WEEKS = 52
FAST = {"map_method": "pca"}


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def two_look_alikes_and_a_stranger(trend_b, seed=0, per_week=30, dim=24):
    """Six styles: looks A and B are near each other, C is far; each look is two styles (a small offset apart).
    A rises; B follows ``trend_b``; C is flat. Returns vectors, style labels, week per image, look per style."""
    rng = np.random.default_rng(seed)
    base = unit(rng.normal(size=(3, dim)))
    base[1] = unit(base[0] + 0.35 * unit(rng.normal(size=dim)))       # B: a look-alike of A
    t = np.linspace(0, 1, WEEKS)
    curves = [0.2 + t, trend_b(t), np.full(WEEKS, 0.7)]
    shares = np.stack(curves, axis=1) / np.sum(curves, axis=0)[:, None]
    vectors, labels, weeks = [], [], []
    for w in range(WEEKS):
        for look, count in enumerate(rng.multinomial(per_week, shares[w])):
            for _ in range(count):
                style = 2 * look + int(rng.integers(0, 2))
                offset = 0.12 * (1 if style % 2 else -1) * unit(np.roll(base[look], 1))
                vectors.append(base[look] + offset + 0.05 * rng.normal(size=dim))
                labels.append(style)
                weeks.append(w)
    return unit(np.array(vectors)).astype(np.float32), np.array(labels), np.array(weeks)


def families_of(vectors, labels, weeks):
    n = labels.max() + 1
    counts = counts_per_period(labels, weeks, n, WEEKS)
    tree = build_families(style_centroids(vectors, labels, n), np.bincount(labels), counts, vectors, labels)
    return tree


def test_look_alikes_with_opposite_trends_stay_in_separate_families():
    vectors, labels, weeks = two_look_alikes_and_a_stranger(lambda t: 1.2 - t)
    tree = families_of(vectors, labels, weeks)
    family = tree.family_of_style
    assert family[0] == family[1] and family[2] == family[3] and family[4] == family[5]  # each look's two styles
    assert family[0] != family[2]                                                        # A and B kept apart
    apart = [e for e in tree.events if e["event"] == "kept_apart"]
    assert apart and all(e["p_value"] < 0.01 for e in apart)
    assert "move differently" in apart[0]["why"] and len(apart[0]["decided_by"]) == 2


def test_look_alikes_that_move_together_may_share_a_family():
    vectors, labels, weeks = two_look_alikes_and_a_stranger(lambda t: 0.2 + t)
    tree = families_of(vectors, labels, weeks)
    family = tree.family_of_style
    assert family[0] == family[1] == family[2] == family[3] and family[4] == family[5] != family[0]
    assert not [e for e in tree.events if e["event"] == "kept_apart" and e["kept"] is not True]
    merges = [e for e in tree.events if e["event"] == "merge" and e["kept"]]
    assert len(merges) == 4 and all("moves together" in e["why"] for e in merges)


def test_undated_styles_merge_by_look_alone():
    vectors, labels, _ = two_look_alikes_and_a_stranger(lambda t: 1.2 - t)
    tree = build_families(style_centroids(vectors, labels, 6), np.bincount(labels), None, vectors, labels)
    assert tree.n_families in (2, 3) and not [e for e in tree.events if e["event"] == "kept_apart"]


def test_family_ids_follow_the_styles_they_hold():
    previous = {0: [10, 11], 1: [12], 2: [13, 14]}
    # the same families in another order, one new style joining family 2, and one family never seen
    match = match_families([[13, 14, 20], [12], [10, 11], [21]], [[50, 40, 5], [30], [60, 60], [25]], previous, 3)
    assert match.ids.tolist() == [2, 1, 0, 3] and match.next_family_id == 4
    # a family made mostly of new styles does not inherit an old id
    mostly_new = match_families([[10, 30]], [[10, 90]], previous, 3)
    assert mostly_new.ids.tolist() == [3]


def test_a_family_is_named_after_its_largest_style():
    assert family_name(["red tee", "white tee"], [10, 40]) == "white tee"


# --------------------------------------------------------------------------- through the stage


@pytest.fixture
def lookalike_store(store, tmp_path, add_looks):
    """Looks 0..2 far apart over 20 weeks; look 0 holds two look-alike halves (looks 0 and 3 share a colour
    and almost a direction) whose shares move oppositely: half 0 fades, half 3 grows."""
    from tests.styles.conftest import look_directions

    rng = np.random.default_rng(2)
    looks, weeks = [], []
    for week in range(20):
        grow = week / 19
        counts = {0: int(round(24 * (1 - grow))) + 2, 3: int(round(24 * grow)) + 2, 1: 14, 2: 14}
        for look, count in counts.items():
            looks += [look] * count
            weeks += [week] * count
    centres = look_directions(5, dim=16, seed=4)
    centres[3] = unit(centres[0] + 0.4 * unit(rng.normal(size=16)))
    from tests.styles.conftest import add_images

    add_images(store, tmp_path, np.array(looks), np.array(weeks), centres)
    return store, np.array(looks)


def test_the_stage_splits_a_style_whose_halves_move_apart_and_writes_families(lookalike_store):
    store, looks = lookalike_store
    result = find_styles(store, k=3, **FAST)
    run = load_styles(store, result.run)
    assert result.splits == 1 and result.n_styles == 4
    (split,) = [e for e in run.events if e["event"] == "split"]
    assert split["style"] in run.styles["style_id"].tolist() and split["new_style"] in run.styles["style_id"].tolist()
    # the two halves are now separate styles, each (nearly) pure
    assignments = run.assignments.sort_values("image_id")
    for look in (0, 3):
        held = assignments["style_id"].to_numpy()[looks == look]
        assert np.bincount(held).max() / len(held) > 0.9
    # families: a column in styles, a table, series in the same shape as the styles' series
    families = run.families
    assert set(run.styles["family"]) == set(families["family_id"])
    assert sorted(np.concatenate(families["styles"].to_list()).tolist()) == sorted(run.styles["style_id"])
    assert families["share"].sum() == pytest.approx(1.0)
    assert list(run.family_series.columns) == list(run.series.columns)
    assert run.family_series.groupby("ds")["y"].sum().to_numpy() == pytest.approx(np.ones(20))
    halves = run.styles.set_index("style_id").loc[[split["style"], split["new_style"]], "family"]
    assert halves.nunique() == 2  # opposite trends never share a family
    assert run.level == "style" and run.level_series.equals(run.series)
    # a refusal names the styles that decided it by their ids, in its fields and in its words
    apart = [e for e in run.events if e["event"] == "kept_apart"]
    assert apart
    for event in apart:
        a, b = event["decided_by"]
        assert a in event["styles_a"] and b in event["styles_b"]
        assert event["why"].startswith(f"styles {a} and {b} move differently")


def test_family_and_style_ids_are_the_same_when_the_same_store_runs_twice(lookalike_store):
    store, _ = lookalike_store
    first = load_styles(store, find_styles(store, k="auto", **FAST).run)
    second = load_styles(store, find_styles(store, k="auto", **FAST).run)
    columns = ["style_id", "family", "size"]
    assert first.styles[columns].sort_values("style_id").reset_index(drop=True).equals(
        second.styles[columns].sort_values("style_id").reset_index(drop=True))
    assert first.families["family_id"].tolist() == second.families["family_id"].tolist()
    assert second.next_family_id == first.next_family_id > 0


def test_level_family_makes_the_forecast_read_family_series(lookalike_store):
    from trendgan.forecast.stage import read_styles_series

    store, _ = lookalike_store
    run = load_styles(store, find_styles(store, k=3, level="family", **FAST).run)
    assert run.settings["level"] == "family" and run.level == "family"
    series, period, name = read_styles_series(store)
    assert name == run.folder.name and period == "W"
    assert set(series["unique_id"]) == set(run.families["family_id"])
    assert set(run.level_styles["style_id"]) == set(run.families["family_id"])


def test_a_family_drops_the_style_number_and_two_families_never_read_the_same():
    from trendgan.styles.naming import unique_names

    assert family_name(["red tee (style 0)", "red tee (style 8)"], [30, 20]) == "red tee"
    assert unique_names(["red tee", "red tee", "blue bag"], [3, 5, 1], kind="family") == [
        "red tee (family 3)", "red tee (family 5)", "blue bag"]
