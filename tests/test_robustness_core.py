"""core/robustness.py on known inputs: identities at strength 0, each perturbation's effect, FGSM, curves and their cache."""

from __future__ import annotations

import numpy as np
import pytest

from core import cache, robustness
from core.config import RunConfig
from core.data import load_mnist

TRAINED = RunConfig(arch="mlp", layers=1, units=32, epochs=3, batch_size=128)


@pytest.fixture(scope="module")
def splits():
    return load_mnist("embedded")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(key, model) of a small MLP trained into a cache of this module's own (~87 % test accuracy)."""
    folder = tmp_path_factory.mktemp("robustness-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        run = cache.get_or_train(TRAINED)
        yield run.key, run.model, folder


def _dot(row: int, column: int) -> np.ndarray:
    image = np.zeros((1, 28, 28), dtype=np.float32)
    image[0, row, column] = 255.0
    return image


@pytest.mark.parametrize("name", list(robustness.PERTURBATIONS))
def test_every_perturbation_at_strength_zero_is_the_identity(name, splits, trained):
    _, model, _ = trained
    images, labels = splits.x_test[:64], splits.y_test[:64]
    damaged = robustness.perturb(images, name, 0, model=model, labels=labels)
    assert damaged.dtype == np.float32 and damaged.shape == images.shape
    assert np.array_equal(damaged, images)
    assert damaged is not images  # a copy: the caller may change it


@pytest.mark.parametrize("name", list(robustness.PERTURBATIONS))
def test_every_perturbation_at_its_strongest_changes_the_digits_and_stays_in_range(name, splits, trained):
    _, model, _ = trained
    kind = robustness.perturbation(name)
    images, labels = splits.x_test[:32], splits.y_test[:32]
    damaged = robustness.perturb(images, name, kind.maximum, model=model, labels=labels)
    assert not np.array_equal(damaged, images)
    assert damaged.min() >= 0 and damaged.max() <= 255 and np.all(np.isfinite(damaged))
    assert kind.strengths[0] == kind.minimum <= 0 <= kind.maximum and 8 <= len(kind.strengths) <= 10
    assert list(kind.strengths) == sorted(kind.strengths)


def test_rotation_by_zero_is_the_identity_and_by_ninety_degrees_turns_anticlockwise(splits):
    images = splits.x_test[:16]
    assert np.array_equal(robustness.rotate(images, 0), images)
    dot = _dot(5, 20)  # top right
    assert np.array_equal(robustness.rotate(dot, 90), np.rot90(dot, 1, axes=(1, 2)))  # -> top left
    assert np.argwhere(robustness.rotate(dot, 90) > 100).tolist() == [[0, 7, 5]]


def test_shift_moves_the_ink_right_and_loses_what_leaves_the_frame():
    moved = robustness.perturb(_dot(10, 5), "shift", 3)
    assert np.argwhere(moved > 0).tolist() == [[0, 10, 8]] and moved.sum() == 255
    assert robustness.perturb(_dot(10, 26), "shift", 3).sum() == 0


def test_scaling_shrinks_and_enlarges_the_ink_about_the_centre():
    blob = np.zeros((1, 28, 28), dtype=np.float32)
    blob[0, 9:19, 9:19] = 255.0
    smaller, larger = robustness.perturb(blob, "scale", -40), robustness.perturb(blob, "scale", 40)
    assert smaller.sum() / blob.sum() == pytest.approx(0.6**2, rel=0.1)
    assert larger.sum() / blob.sum() == pytest.approx(1.4**2, rel=0.1)
    rows, columns = np.nonzero(smaller[0] > 0)
    assert rows.mean() == pytest.approx(13.5, abs=0.5) and columns.mean() == pytest.approx(13.5, abs=0.5)


def test_thickness_dilates_one_pixel_into_a_cross_erodes_it_away_and_blends_in_between():
    dot = _dot(14, 14)
    assert (robustness.perturb(dot, "thickness", 1) > 0).sum() == 5
    assert (robustness.perturb(dot, "thickness", 2) > 0).sum() == 13
    assert robustness.perturb(dot, "thickness", -1).sum() == 0
    half = robustness.perturb(dot, "thickness", 0.5)
    assert half[0, 14, 14] == 255 and half[0, 14, 15] == pytest.approx(127.5)


def test_occlusion_blacks_out_a_centred_square_only(splits):
    images = splits.x_test[:8]
    occluded = robustness.perturb(images, "occlusion", 8)
    assert np.all(occluded[:, 10:18, 10:18] == 0)
    outside = np.ones((28, 28), dtype=bool)
    outside[10:18, 10:18] = False
    assert np.array_equal(occluded[:, outside], images[:, outside])


def test_noise_grows_with_sigma_and_is_the_same_grain_for_every_model(splits):
    images = splits.x_test[:16]
    changes = [np.abs(robustness.perturb(images, "noise", sigma) - images).mean() for sigma in (0.05, 0.2, 0.6)]
    assert changes[0] < changes[1] < changes[2]
    assert np.array_equal(robustness.perturb(images, "noise", 0.3), robustness.perturb(images, "noise", 0.3))


def test_bad_input_is_a_clear_error():
    images = np.zeros((2, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match="between 0 and 80 degrees"):
        robustness.perturb(images, "rotation", 95)
    with pytest.raises(ValueError, match="must be a number"):
        robustness.perturb(images, "rotation", "tilted")
    with pytest.raises(ValueError, match="unknown perturbation 'blur'"):
        robustness.perturb(images, "blur", 1)
    with pytest.raises(ValueError, match="these labs are for MNIST"):
        robustness.perturb(np.zeros((5, 2)), "noise", 0.1)  # a toy 2-D model's inputs
    with pytest.raises(ValueError, match="needs the model"):
        robustness.perturb(images, "fgsm", 0.1)


def test_fgsm_with_epsilon_zero_changes_nothing_and_accuracy_falls_as_epsilon_grows(splits, trained):
    _, model, _ = trained
    images, labels = splits.x_test, splits.y_test
    direction = robustness.fgsm_direction(model, images, labels, batch_size=300)  # batches that do not divide 1,000
    assert direction.shape == images.shape and set(np.unique(direction)) <= {-1.0, 0.0, 1.0}
    assert np.array_equal(robustness.fgsm(images, 0.0, direction), images)
    curve = robustness.accuracy_curve(model, images, labels, "fgsm")
    assert curve.accuracy[0] > 0.8  # clean digits: the trained model's own accuracy
    assert np.all(np.diff(curve.accuracy) <= 0.01)  # never rises (beyond a digit or two of noise)
    assert curve.accuracy[-1] < 0.1 < curve.accuracy[0] - 0.5  # at eps 0.3 the attack wins


def test_a_curve_is_stored_with_the_model_and_read_back_without_running_it(splits, trained, monkeypatch):
    key, model, folder = trained
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
    loads = []

    def load():
        loads.append(1)
        return model

    images, labels = splits.x_test, splits.y_test
    first = robustness.curve(key, load, images, labels, "rotation")
    assert loads == [1]
    assert first.accuracy[0] > first.accuracy[-1]  # tilted digits are harder
    again = robustness.curve(key, load, images, labels, "rotation")
    assert loads == [1] and np.array_equal(again.accuracy, first.accuracy)  # read, not recomputed
    assert robustness.stored_curve(key, "rotation", labels[::-1]) is None  # other test digits: not these answers
    (folder / key / "artifacts" / "robustness_rotation.npz").write_bytes(b"not an npz")
    repaired = robustness.curve(key, load, images, labels, "rotation")
    assert loads == [1, 1] and np.array_equal(repaired.accuracy, first.accuracy)  # a damaged artifact is recomputed


def test_score_ranking_and_reading_a_curve():
    flat = robustness.Curve("rotation", np.array([0.0, 40.0, 80.0]), np.array([0.9, 0.9, 0.9]))
    falling = robustness.Curve("rotation", np.array([0.0, 40.0, 80.0]), np.array([0.9, 0.5, 0.1]))
    assert flat.score == pytest.approx(0.9) and falling.score == pytest.approx(0.5)
    assert falling.at(20) == pytest.approx(0.7)
    ranking = robustness.rank({"falling": falling, "flat": flat})
    assert (ranking.best, ranking.runner_up) == ("flat", "falling") and ranking.margin == pytest.approx(0.4)
    alone = robustness.rank({"flat": flat})
    assert alone.runner_up is None and alone.margin is None
    with pytest.raises(ValueError):
        robustness.rank({})


def test_the_gallery_shows_one_digit_of_each_class(splits):
    indices = robustness.gallery_indices(splits.y_test)
    assert splits.y_test[indices].tolist() == list(range(10))
