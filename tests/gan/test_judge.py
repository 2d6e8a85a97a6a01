"""The independent judge: it learns the real labels, its scores separate good renders from bad ones, and the
Inception Score and pixel checks behave as their definitions say."""

import numpy as np
import pytest

from trendgan.errors import GanError
from trendgan.gan.judge import (Judge, JudgeEnsemble, conditional_scores, inception_score, judge_scores,
                                 period2_energy_share, pixel_scores)


def _garments(n_per=40, seed=0, grounds=(230, 230), darkest=200):
    """Two labels that differ in shape only (a tall bar vs a wide bar), in random colours darker than ``darkest``, on
    a ground of ``grounds`` (tall's, wide's): the same light ground by default."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, ground in zip(("tall", "wide"), grounds):
        for _ in range(n_per):
            image = np.full((16, 16, 3), ground, np.uint8)
            colour = rng.integers(0, darkest, 3)
            dy, dx = rng.integers(-1, 2, 2)
            if label == "tall":
                image[2 + dy : 14 + dy, 6 + dx : 10 + dx] = colour
            else:
                image[6 + dy : 10 + dy, 2 + dx : 14 + dx] = colour
            images.append(image)
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=object)


@pytest.fixture(scope="module")
def fitted():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    images, labels = _garments()
    judges = (Judge(name="t", epochs=6, seed=0).fit(images, labels),
              Judge(name="t-grey", grey=True, epochs=6, seed=0).fit(images, labels))
    torch.set_num_threads(threads)
    return images, labels, judges


def test_the_judge_learns_the_labels_and_tells_renders_apart(fitted):
    images, labels, (judge, shape_judge) = fitted
    held, held_labels = _garments(n_per=20, seed=1)
    assert judge.accuracy(held, held_labels) > 0.9 and shape_judge.accuracy(held, held_labels) > 0.9
    # "Renders" that are the right garments score high; blank squares cannot be both labels.
    good = conditional_scores(judge, held, held_labels, shape_judge)
    blank = np.full_like(held, 230)
    bad = conditional_scores(judge, blank, held_labels, shape_judge)
    assert good["conditional_accuracy"] > 0.9 and good["shape_accuracy"] > 0.9
    assert bad["conditional_accuracy"] <= 0.5 and bad["shape_accuracy"] <= 0.5
    near = judge_scores(judge, images, held)["frechet_distance"]
    far = judge_scores(judge, images, np.clip(blank.astype(int) + np.random.default_rng(0).integers(-30, 30, blank.shape), 0, 255).astype(np.uint8))["frechet_distance"]
    assert near < far
    assert judge.describe()["input"] == "rgb" and shape_judge.describe()["input"] == "luminance"


def test_the_judge_refuses_what_it_cannot_score(fitted):
    _, _, (judge, _) = fitted
    with pytest.raises(GanError, match="16 px"):
        judge.features(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(GanError, match="uint8"):
        judge.features(np.zeros((2, 16, 16, 3), np.float32))
    with pytest.raises(GanError, match="two labels"):
        Judge().fit(np.zeros((4, 16, 16, 3), np.uint8), ["a"] * 4)


def test_inception_score_runs_from_one_to_the_number_of_classes():
    assert inception_score(np.full((10, 4), 0.25)) == pytest.approx(1.0)
    assert inception_score(np.tile(np.eye(4)[0], (10, 1))) == pytest.approx(1.0)  # all one class
    assert inception_score(np.repeat(np.eye(4), 5, axis=0)) == pytest.approx(4.0, rel=1e-6)  # sure and balanced


def test_pixel_checks_are_zero_for_the_same_images_and_grow_with_a_shift():
    images, _ = _garments(n_per=30)
    same = pixel_scores(images, images)
    assert same["pixel_frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert same["pixel_mean_image_difference"] == 0.0
    darker = pixel_scores(images, (images * 0.6).astype(np.uint8))
    assert darker["pixel_frechet_distance"] > 1.0 and darker["pixel_mean_image_difference"] > 30


def test_diversity_is_zero_for_one_render_repeated_and_near_one_for_real_draws(fitted):
    from trendgan.gan.judge import diversity_scores, mean_pairwise_distance

    images, labels, (judge, _) = fitted
    repeated = np.concatenate([np.repeat(images[:1], 20, axis=0), np.repeat(images[-1:], 20, axis=0)])
    repeated_labels = np.asarray(["tall"] * 20 + ["wide"] * 20, dtype=object)
    collapsed = diversity_scores(judge, images, labels, repeated, repeated_labels)
    assert collapsed["diversity_ratio"] < 1e-6
    # Other real images of the same classes are about as varied as the real set itself.
    others, other_labels = _garments(seed=1)
    varied = diversity_scores(judge, images, labels, others, other_labels)
    assert 0.6 < varied["diversity_ratio"] < 1.6
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)


def _toned_garments(n_per=40, seed=0):
    """The two shapes again, each photographed on its own ground (tall on a light one, wide on a darker one), dark
    garments: a judge can tell them apart by shape or, more cheaply, by the ground's tone."""
    return _garments(n_per, seed, grounds=(230, 180), darkest=120)


def test_a_standardised_luminance_judge_keeps_its_verdict_when_the_photo_is_darker():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    images, labels = _toned_garments()
    plain = Judge(grey=True, seed=0).fit(images, labels)
    standardised = Judge(grey=True, standardise=True, seed=0).fit(images, labels)
    torch.set_num_threads(threads)
    held, held_labels = _toned_garments(n_per=20, seed=1)
    # The same garments 22 % darker: the tall garment's ground is now about the wide one's.
    darker = np.round(held * 0.78).astype(np.uint8)
    assert plain.accuracy(held, held_labels) > 0.9 and standardised.accuracy(held, held_labels) > 0.9
    assert standardised.accuracy(darker, held_labels) > 0.9
    # The raw-luminance judge leant on the ground's tone: darker, it loses garments it had right.
    assert plain.accuracy(darker, held_labels) < standardised.accuracy(darker, held_labels) - 0.2
    assert standardised.describe()["standardised"] and not plain.describe()["standardised"]


def test_a_blank_image_is_no_garment_to_either_judge(fitted):
    images, labels, judges = fitted
    blanks = np.stack([np.full(images.shape[1:], grey, dtype=np.uint8) for grey in (0, 60, 128, 200, 255)])
    for judge in (*judges, Judge(grey=True, standardise=True, seed=0).fit(images, labels)):
        assert all(label is None for label in judge.predict(blanks))
        assert judge.accuracy(blanks, [labels[0]] * len(blanks)) == 0.0
        assert np.allclose(judge.probabilities(blanks), 1 / len(judge.classes))
        # A garment is still judged as one.
        assert judge.predict(images[:1])[0] is not None


@pytest.fixture(scope="module")
def ensemble():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    images, labels = _garments()
    judged = JudgeEnsemble(name="t-ens", grey=True, standardise=True, members=3, epochs=2, seed=5).fit(images, labels)
    torch.set_num_threads(threads)
    return images, labels, judged


def test_an_ensembles_verdict_is_the_mean_of_its_members_probabilities(ensemble):
    images, labels, judged = ensemble
    held, held_labels = _garments(n_per=20, seed=1)
    members = [j.probabilities(held) for j in judged.judges_]
    # Members of different seeds differ, so a verdict from one member alone would fail the next line.
    assert not np.allclose(members[0], members[1], atol=1e-3)
    assert np.allclose(judged.probabilities(held), np.mean(members, axis=0))
    mean = np.mean(members, axis=0)
    expected = np.asarray(judged.classes, dtype=object)[mean.argmax(axis=1)]
    assert (judged.predict(held) == expected).all()
    assert judged.accuracy(held, held_labels) == pytest.approx(float(np.mean(expected == held_labels)))
    assert judged.accuracy(held, held_labels) > 0.9
    # Features are the first member's, so a Frechet distance keeps a single judge's scale.
    assert np.allclose(judged.features(held), judged.judges_[0].features(held))
    ranges = conditional_scores(judged, held, held_labels, judged)["shape_accuracy_members_per_class"]
    accuracies = {c: [j.accuracy(held[held_labels == c], held_labels[held_labels == c]) for j in judged.judges_]
                  for c in judged.classes}
    assert ranges == {c: [min(a), max(a)] for c, a in accuracies.items()}


def test_an_ensemble_of_one_is_the_single_judge_and_members_have_their_own_seeds(ensemble):
    import json

    images, labels, judged = ensemble
    single = Judge(name="t-ens", grey=True, standardise=True, epochs=2, seed=5).fit(images, labels)
    assert np.allclose(JudgeEnsemble.of([single]).probabilities(images), single.probabilities(images))
    assert np.allclose(judged.judges_[0].probabilities(images), single.probabilities(images))
    saved = json.loads(json.dumps(judged.describe()))
    assert saved["members"] == 3 and saved["member_seeds"] == [5, 6, 7]
    assert saved["input"] == "luminance" and saved["standardised"]
    with pytest.raises(GanError, match="share"):
        JudgeEnsemble.of([single, Judge(seed=1).fit(images, labels)])


def test_a_blank_image_is_no_garment_to_an_ensemble(ensemble):
    images, labels, judged = ensemble
    blanks = np.stack([np.full(images.shape[1:], grey, dtype=np.uint8) for grey in (0, 128, 255)])
    assert all(label is None for label in judged.predict(blanks))
    assert judged.accuracy(blanks, [labels[0]] * len(blanks)) == 0.0
    assert np.allclose(judged.probabilities(blanks), 0.5)
    assert judged.predict(images[:1])[0] is not None
    with pytest.raises(GanError, match="fit the judge"):
        JudgeEnsemble().predict(images[:1])


def test_period2_energy_share_finds_a_pixel_grid_and_not_smooth_images():
    side = np.arange(32)
    board = ((side[:, None] + side[None, :]) % 2 * 200 + 20).astype(np.uint8)
    rows = np.broadcast_to(((side[:, None] % 2) * 200 + 20).astype(np.uint8), (32, 32))
    ramp = np.broadcast_to((side[None, :] * 6).astype(np.uint8), (32, 32))
    images = np.stack([np.repeat(a[..., None], 3, axis=2) for a in (board, rows, ramp)])
    share = period2_energy_share(images)
    assert share[0] == pytest.approx(1.0) and share[1] == pytest.approx(1.0)
    assert share[2] < 0.01
    # A grid laid faintly over the ramp shows as a share well above the ramp's own.
    faint = np.clip(ramp.astype(int) + (board > 100) * 30, 0, 255).astype(np.uint8)
    assert period2_energy_share(np.repeat(faint[None, ..., None], 3, axis=3))[0] > 5 * share[2]
    with pytest.raises(GanError):
        period2_energy_share(images[:, :31])
