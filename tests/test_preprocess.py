"""core/preprocess.py: drawings and uploads -> MNIST-style 28x28 digits, or a reason there is none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from core import preprocess
from core.preprocess import BOX, CENTRE, FIELD, MESSAGES, UploadError, centre_of_mass, ink_bbox, prepare, prepare_upload


def assert_mnist_like(prepared) -> None:
    """The contract of a successful prepare: 28x28, 0-255, ink box 20 px (±1), centre of mass at the centre.

    The one documented exception: a shape whose mass is more than 4 px from its box centre cannot
    be centred without cutting ink off; it is then `clamped` against the field's edge on the side
    it was moved towards, and its mass is nearer the centre than with the box merely centred.
    """
    image = prepared.image
    assert image.shape == (FIELD, FIELD) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 255.0
    top, left, bottom, right = ink_bbox(image)
    assert abs(max(bottom - top, right - left) - BOX) <= 1
    row, column = centre_of_mass(image)
    if not prepared.clamped:
        assert abs(row - CENTRE) <= 0.5 and abs(column - CENTRE) <= 0.5  # MNIST's own centre of mass, (14, 14)
        assert abs(row - 13.5) <= 1.0 and abs(column - 13.5) <= 1.0  # hence within 1 px of the geometric centre
        return
    box_row, box_column = centre_of_mass(prepared.step("pasted"))
    for mass, box_mass, low, high in ((row, box_row, top, bottom), (column, box_column, left, right)):
        if abs(mass - CENTRE) > 1.0:
            assert low == 0 if mass > CENTRE else high == FIELD  # pushed against the edge it moved towards
            assert abs(mass - CENTRE) < abs(box_mass - CENTRE)


def check_result(prepared) -> None:
    if prepared.ok:
        assert prepared.status == "ok"
        assert_mnist_like(prepared)
        assert [step.name for step in prepared.steps] == ["input", "grayscale", "ink", "cropped", "scaled", "pasted", "centred"]
    else:
        assert prepared.status in MESSAGES and prepared.message == MESSAGES[prepared.status]


def canvas(size=(280, 280), background=(0, 0, 0, 255)) -> Image.Image:
    return Image.new("RGBA", (size[1], size[0]), background)


def draw_one(image: Image.Image, colour=(255, 255, 255, 255), width=20, at=(140, 140), height=160) -> Image.Image:
    x, y = at
    ImageDraw.Draw(image).line([(x, y - height // 2), (x, y + height // 2)], fill=colour, width=width)
    return image


def draw_zero(image: Image.Image, colour=(255, 255, 255, 255), width=20, box=(80, 50, 200, 230)) -> Image.Image:
    ImageDraw.Draw(image).ellipse(box, outline=colour, width=width)
    return image


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 60), st.integers(1, 60), st.sampled_from([1, 3, 4]))))
def test_any_array_gives_nothing_to_read_or_an_mnist_like_digit(array):
    check_result(prepare(array if array.shape[2] != 1 else array[..., 0]))


@st.composite
def drawings(draw):
    """Random strokes on a canvas of random size, background (dark, light, transparent) and stroke colour."""
    height, width = draw(st.integers(8, 300)), draw(st.integers(8, 300))
    background = draw(st.sampled_from([(0, 0, 0, 255), (255, 255, 255, 255), (0, 0, 0, 0), (40, 40, 40, 255), (230, 220, 200, 255)]))
    image = canvas((height, width), background)
    pen = ImageDraw.Draw(image)
    for _ in range(draw(st.integers(0, 6))):
        points = [(draw(st.integers(-10, width + 10)), draw(st.integers(-10, height + 10))) for _ in range(draw(st.integers(1, 5)))]
        colour = draw(st.sampled_from([(255, 255, 255, 255), (0, 0, 0, 255), (90, 90, 90, 255), (255, 255, 255, 128)]))
        pen.line(points, fill=colour, width=draw(st.integers(1, 40)))
    return np.asarray(image)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawings())
def test_random_drawings_give_nothing_to_read_or_an_mnist_like_digit(drawing):
    check_result(prepare(drawing))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(100, 400), st.integers(5, 40), st.integers(-60, 60), st.integers(-60, 60),
)
def test_dark_on_light_is_inverted_and_reads_like_light_on_dark(size, stroke, dx, dy):
    centre = (size // 2 + dx * size // 400, size // 2 + dy * size // 400)
    light = np.asarray(draw_zero(canvas((size, size)), width=stroke, box=(centre[0] - size // 5, centre[1] - size // 4, centre[0] + size // 5, centre[1] + size // 4)))
    dark = light.copy()
    dark[..., :3] = 255 - dark[..., :3]
    normal, inverted = prepare(light), prepare(dark)
    assert normal.ok and inverted.ok
    assert not normal.inverted and inverted.inverted
    assert np.allclose(normal.image, inverted.image, atol=1.0)


# -- specific inputs --------------------------------------------------------------------------


def test_a_drawn_one_is_a_tall_centred_stroke():
    prepared = prepare(np.asarray(draw_one(canvas(), at=(60, 90), height=120)))  # drawn off-centre, top left
    assert prepared.ok and not prepared.warnings
    assert_mnist_like(prepared)
    top, left, bottom, right = ink_bbox(prepared.image)
    assert bottom - top == BOX and right - left < 6
    assert prepared.bbox == (30, 51, 151, 71)  # where the ink was in the canvas (top, left, bottom, right)


def test_the_centre_of_mass_step_moves_an_off_centre_mass():
    image = canvas()
    pen = ImageDraw.Draw(image)
    pen.line([(100, 60), (100, 220)], fill="white", width=20)  # a heavy left stroke ...
    pen.line([(100, 60), (180, 60)], fill="white", width=6)  # ... and a thin top arm: mass sits left
    prepared = prepare(np.asarray(image))
    assert prepared.ok and not prepared.clamped
    assert prepared.shift[1] > 0  # moved right so the mass is centred
    assert centre_of_mass(prepared.step("pasted"))[1] < CENTRE - 1  # before the shift it was not
    assert_mnist_like(prepared)


def test_a_very_lopsided_seven_is_moved_as_far_as_the_field_allows():
    image = canvas()
    pen = ImageDraw.Draw(image)
    pen.line([(60, 60), (220, 60)], fill="white", width=8)  # a "┐" seven: a thin top bar ...
    pen.line([(220, 60), (220, 220)], fill="white", width=30)  # ... and a heavy stem on the right
    prepared = prepare(np.asarray(image))
    assert prepared.ok and prepared.clamped and "lopsided" in prepared.steps[-1].caption
    assert ink_bbox(prepared.image)[1] == 0  # pushed against the field's left edge, nothing cut off
    assert prepared.image.sum() == pytest.approx(prepared.step("pasted").sum())
    assert_mnist_like(prepared)


def test_transparent_background_uses_alpha_whatever_the_stroke_colour():
    white = prepare(np.asarray(draw_zero(canvas(background=(0, 0, 0, 0)))))
    black = prepare(np.asarray(draw_zero(canvas(background=(0, 0, 0, 0)), colour=(0, 0, 0, 255))))
    assert white.ok and black.ok and white.ink_source == black.ink_source == "alpha"
    assert np.allclose(white.image, black.image)


@pytest.mark.parametrize(
    ("image", "status"),
    [
        (np.asarray(canvas()), "empty"),
        (np.asarray(canvas(background=(0, 0, 0, 0))), "empty"),
        (np.asarray(canvas(background=(255, 255, 255, 255))), "flat"),
        (np.asarray(canvas(background=(255, 255, 255, 255))).copy(), "flat"),
        (np.zeros((5, 5, 4), np.uint8), "image_too_small"),
    ],
)
def test_blank_and_flat_images_have_nothing_to_read(image, status):
    prepared = prepare(image)
    assert not prepared.ok and prepared.status == status and prepared.image is None


def test_a_dot_is_too_small():
    image = canvas()
    ImageDraw.Draw(image).ellipse((130, 130, 150, 150), fill="white")
    assert prepare(np.asarray(image)).status == "too_small"


def test_faint_ink_is_not_read():
    image = canvas()
    draw_one(image, colour=(20, 20, 20, 255))
    assert prepare(np.asarray(image)).status == "faint"


def test_a_painted_over_canvas_is_too_full():
    image = canvas()
    pen = ImageDraw.Draw(image)
    for y in range(0, 280, 30):
        pen.line([(0, y), (279, y)], fill="white", width=25)
    assert prepare(np.asarray(image), invert=False).status == "too_full"
    # a canvas painted completely white: one flat colour, not a digit
    assert prepare(np.full((280, 280, 4), 255, np.uint8), invert=False).status == "flat"


def test_ink_touching_the_border_is_read_with_a_warning():
    prepared = prepare(np.asarray(draw_one(canvas(), at=(140, 80), height=200)))  # reaches y = -20
    assert prepared.ok and prepared.touches_edge and prepared.warnings == [preprocess.EDGE_WARNING]


def test_noise_on_grey_paper_is_removed():
    rng = np.random.default_rng(0)
    image = np.asarray(draw_zero(canvas(background=(200, 200, 200, 255)), colour=(60, 60, 60, 255))).astype(np.int16)
    image[..., :3] += rng.integers(-15, 16, size=image.shape[:2] + (1,), dtype=np.int16)
    prepared = prepare(np.clip(image, 0, 255).astype(np.uint8))
    assert prepared.ok and prepared.inverted
    ink = prepared.step("ink")
    assert (ink[:40, :40] == 0).all()  # paper texture in a corner is gone
    assert_mnist_like(prepared)


def test_rejects_arrays_that_are_not_images():
    with pytest.raises(ValueError, match="expected an"):
        prepare(np.zeros((10, 10, 2)))


# -- uploads ----------------------------------------------------------------------------------


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_a_jpeg_photo_of_a_dark_digit_on_paper_is_read():
    paper = draw_one(canvas((900, 1200), (235, 230, 220, 255)), colour=(30, 30, 40, 255), width=50, at=(600, 450), height=600)
    prepared = prepare_upload(encoded(paper.convert("RGB"), "JPEG"))
    assert prepared.ok and prepared.inverted
    assert_mnist_like(prepared)
    assert prepared.step("input").shape[:2] == (768, 1024)  # shrunk to the working size before preparing


def test_a_png_upload_reads_like_the_same_drawing():
    drawing = draw_zero(canvas())
    assert np.allclose(prepare_upload(encoded(drawing, "PNG")).image, prepare(np.asarray(drawing)).image)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not a readable PNG or JPEG"),
        (encoded(Image.new("RGB", (40, 40)), "GIF"), "not a readable PNG or JPEG"),
        (encoded(Image.new("RGB", (40, 40)), "PNG")[:60], "not a readable PNG or JPEG"),
        (b"\x89PNG" + b"\x00" * preprocess.MAX_UPLOAD_BYTES, "the limit is 8 MB"),
    ],
)
def test_bad_uploads_raise_a_clear_error(data, message):
    with pytest.raises(UploadError, match=message):
        prepare_upload(data)


def test_a_decompression_bomb_is_refused_before_decoding(monkeypatch):
    bomb = encoded(Image.new("1", (9000, 9000)), "PNG")  # 81 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(UploadError, match="9000x9000 pixels"):
        prepare_upload(bomb)
    assert decoded == []  # the pixels were never decoded


# -- a real MNIST digit survives the round trip ------------------------------------------------


@pytest.fixture(scope="module")
def small_mlp():
    # An MLP is the stricter reader: unlike a CNN it has no translation tolerance at all.
    from core.config import RunConfig
    from core.training import train

    run = train(RunConfig(arch="mlp", layers=1, units=128, epochs=5, batch_size=64))
    assert run.meta["test_accuracy"] > 0.85
    return run


def test_mnist_digits_have_their_centre_of_mass_where_prepare_puts_it():
    from core.data import load_mnist

    masses = np.array([centre_of_mass(image) for image in load_mnist("embedded").x_test])
    assert np.allclose(masses.mean(axis=0), CENTRE, atol=0.1)


def test_real_mnist_digits_pasted_large_are_read_the_same(small_mlp):
    from core.data import load_mnist
    from core.models import predict_fn

    splits = load_mnist("embedded")
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(splits.y_test), 200, replace=False)
    originals = splits.x_test[chosen]
    prepared_images, backgrounds = [], []
    for digit in originals:
        big = np.asarray(Image.fromarray(digit.astype(np.uint8)).resize((280, 280), Image.Resampling.BILINEAR), np.float32)
        canvas_size = int(rng.integers(300, 420))
        top, left = rng.integers(0, canvas_size - 280, size=2)
        style = rng.choice(["white on black", "dark on light", "transparent"])
        rgba = np.zeros((canvas_size, canvas_size, 4), np.float32)
        if style == "white on black":
            rgba[..., 3] = 255
            rgba[top : top + 280, left : left + 280, :3] = big[..., None]
        elif style == "dark on light":
            rgba[..., :] = 255
            rgba[top : top + 280, left : left + 280, :3] = 255 - big[..., None]
        else:
            rgba[..., :3] = 30  # stroke colour is irrelevant: the alpha channel is the ink
            rgba[top : top + 280, left : left + 280, 3] = big
        prepared = prepare(rgba.astype(np.uint8))
        assert prepared.ok, prepared.message
        assert prepared.inverted == (style == "dark on light")
        prepared_images.append(prepared.image)
        backgrounds.append(style)
    predict = predict_fn(small_mlp.model)
    before = predict(originals).argmax(axis=1)
    after = predict(np.stack(prepared_images)).argmax(axis=1)
    agreement = float(np.mean(before == after))
    assert agreement >= 0.95, f"only {agreement:.1%} of 200 real digits read the same after the round trip"
