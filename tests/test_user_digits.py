"""core/user_digits.py: saved drawings become a small labelled test set."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import user_digits
from core.preprocess import prepare
from core.user_digits import NotSaved, delete_digit, evaluate, list_digits, load_digits, save_digit


@pytest.fixture
def digits_folder(tmp_path, monkeypatch):
    folder = tmp_path / "digits"
    monkeypatch.setenv("NEURAL_LAB_USER_DIGITS_DIR", str(folder))
    return folder


def drawing(kind: str = "one", shift: int = 0) -> np.ndarray:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    if kind == "one":
        pen.line([(140 + shift, 50), (140 + shift, 230)], fill="white", width=20)
    elif kind == "zero":
        pen.ellipse((80 + shift, 50, 200 + shift, 230), outline="white", width=20)
    elif kind == "round zero":
        pen.ellipse((70, 60, 210, 220), outline="white", width=28)
    elif kind == "edge":
        pen.line([(140, 0), (140, 200)], fill="white", width=20)
    return np.asarray(image)


def test_save_list_load_and_delete(digits_folder):
    raw = drawing("one")
    saved = save_digit(prepare(raw), 1, raw=raw)
    zero = save_digit(prepare(drawing("zero")), 0, raw=drawing("zero"))
    assert sorted(p.name for p in digits_folder.iterdir()) == sorted(
        [f"{saved.id}.npz", f"{saved.id}.json", f"{zero.id}.npz", f"{zero.id}.json"]
    )
    listed = list_digits()
    assert sorted(d.label for d in listed) == [0, 1]
    images, labels, ids = load_digits()
    assert images.shape == (2, 28, 28) and images.dtype == np.float32
    assert sorted(labels.tolist()) == [0, 1] and set(ids) == {saved.id, zero.id}
    assert np.array_equal(saved.raw(), raw)
    assert json.loads((digits_folder / f"{saved.id}.json").read_text())["label"] == 1
    assert delete_digit(saved.id) and not delete_digit(saved.id)
    assert [d.id for d in list_digits()] == [zero.id]


@pytest.mark.parametrize(
    ("image", "label", "reason"),
    [
        (drawing("blank"), 3, "Draw a digit"),
        (drawing("edge"), 1, "touches the edge"),
        (drawing("one"), 10, "must be a digit 0-9"),
        (drawing("one"), "1", "must be a digit 0-9"),
        (drawing("one"), True, "must be a digit 0-9"),
    ],
)
def test_bad_drawings_are_not_saved(digits_folder, image, label, reason):
    with pytest.raises(NotSaved, match=reason):
        save_digit(prepare(image), label, raw=image)
    assert not digits_folder.exists() or list(digits_folder.iterdir()) == []


def test_the_same_drawing_is_saved_once(digits_folder):
    save_digit(prepare(drawing("one")), 1)
    with pytest.raises(NotSaved, match="already saved"):
        save_digit(prepare(drawing("one")), 7)
    assert len(list_digits()) == 1


def test_the_folder_has_a_cap(digits_folder, monkeypatch):
    monkeypatch.setattr(user_digits, "MAX_DIGITS", 2)
    save_digit(prepare(drawing("one")), 1)
    save_digit(prepare(drawing("zero")), 0)
    with pytest.raises(NotSaved, match="already holds 2"):
        save_digit(prepare(drawing("round zero")), 0)


def test_junk_in_the_folder_is_skipped(digits_folder):
    kept = save_digit(prepare(drawing("one")), 1)
    (digits_folder / "20990101T000000-deadbeef.json").write_text("{not json")
    (digits_folder / "20990101T000001-deadbeef.json").write_text(json.dumps({"label": 3}))  # no npz
    (digits_folder / "evil name.json").write_text(json.dumps({"label": 3}))
    (digits_folder / "20990101T000002-deadbeef.json").write_text(json.dumps({"label": 4}))
    (digits_folder / "20990101T000002-deadbeef.npz").write_bytes(b"truncated")
    assert [d.id for d in list_digits()] == [kept.id]
    with pytest.raises(ValueError, match="not a saved-digit id"):
        delete_digit("../cached_models")


def test_evaluate_scores_a_predictor(digits_folder):
    save_digit(prepare(drawing("one")), 1)
    save_digit(prepare(drawing("zero")), 0)
    save_digit(prepare(drawing("round zero")), 0)
    images, labels, _ = load_digits()

    def always_zero(batch):
        probabilities = np.zeros((len(batch), 10), np.float32)
        probabilities[:, 0] = 1.0
        return probabilities

    score = evaluate(always_zero, images, labels)
    assert score.accuracy == pytest.approx(2 / 3)
    assert score.confusion[1, 0] == 1 and score.confusion[0, 0] == 2 and score.confusion.sum() == 3
    with pytest.raises(ValueError, match="no saved drawings"):
        evaluate(always_zero, images[:0], labels[:0])


def test_evaluate_with_a_trained_model_reads_drawn_digits(digits_folder, tiny_mlp):
    from core.models import predict_fn
    from core.training import train

    run = train(tiny_mlp.replace(units=64, epochs=3))
    save_digit(prepare(drawing("one", shift=-60)), 1)
    with pytest.raises(NotSaved, match="already saved"):  # moved elsewhere, it prepares to the same image
        save_digit(prepare(drawing("one", shift=60)), 1)
    save_digit(prepare(drawing("zero")), 0)
    images, labels, _ = load_digits()
    score = evaluate(predict_fn(run.model), images, labels)
    assert score.probabilities.shape == (2, 10)
    assert np.allclose(score.probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert score.accuracy == 1.0  # a clean 1 and 0 are read right even by a tiny MLP
