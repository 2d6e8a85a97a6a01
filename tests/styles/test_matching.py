import numpy as np

from trendgan.styles import match_styles, normalise


def test_reordered_styles_keep_their_ids():
    rng = np.random.default_rng(0)
    previous = normalise(rng.normal(size=(5, 16)))
    now = normalise(previous[[3, 0, 4, 1, 2]] + 0.02 * rng.normal(size=(5, 16)))
    match = match_styles(now, previous, previous_ids=[10, 11, 12, 13, 14])
    np.testing.assert_array_equal(match.ids, [13, 10, 14, 11, 12])
    assert match.new_styles == 0 and match.next_style_id == 15


def test_a_new_look_gets_a_fresh_id_and_a_lost_id_is_never_reused():
    rng = np.random.default_rng(1)
    previous = normalise(rng.normal(size=(3, 16)))
    brand_new = normalise(rng.normal(size=(1, 16)))
    now = np.vstack([previous[[0, 2]], brand_new])  # look 1 vanished, a new one appeared
    match = match_styles(now, previous, previous_ids=[0, 1, 2], next_style_id=7, max_distance=0.3)
    assert match.ids.tolist() == [0, 2, 7]
    assert match.matched == {0: 0, 1: 2}
    assert match.next_style_id == 8


def test_first_run_numbers_styles_from_zero():
    match = match_styles(np.eye(3), np.empty((0, 3)), previous_ids=[])
    assert match.ids.tolist() == [0, 1, 2] and match.next_style_id == 3
