"""The Draw page in a real browser: mouse strokes on the real canvas, then an upload."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.helpers import train_in_subprocess, wait_for_app

pytestmark = pytest.mark.browser

# An MLP trains in seconds and, with MNIST-style preprocessing, reads clean mouse digits.
MODEL_ARGS = ("--arch", "mlp", "--layers", "1", "--units", "128", "--epochs", "5", "--batch-size", "64")


@pytest.fixture(scope="module")
def draw_model(browser_cache) -> str:
    return train_in_subprocess(browser_cache, *MODEL_ARGS)["key"]


def the_canvas(page, clears: int = 0, timeout: float = 60.0):
    """The drawing canvas once it is mounted and has stopped moving. Clear gives the canvas a new
    key (`draw_canvas_<clears>`); the old one lingers for a moment and the layout shifts while they swap."""
    canvas = page.locator(f".st-key-draw_canvas_{clears} canvas.upper-canvas")
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        box = canvas.bounding_box() if canvas.count() == 1 else None
        if box is not None and box == previous:
            return canvas
        previous = box
        time.sleep(0.5)
    raise AssertionError("the drawing canvas did not settle")


def stroke(page, canvas, points) -> float:
    """Press at the first point (canvas pixels), drag through the others, release; returns
    time.perf_counter() at the release (latency benchmarks start their clock there)."""
    # hover() waits until the canvas is stable, scrolled into view and really receives the pointer there
    canvas.hover(position={"x": points[0][0], "y": points[0][1]})
    box = canvas.bounding_box()
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.mouse.up()
    released = time.perf_counter()
    assert canvas.bounding_box() == box, "the canvas moved while drawing"
    return released


def wait_for_charts(page) -> None:
    for key in ("draw_preview", "draw_probabilities"):
        page.locator(f".st-key-{key} .main-svg").first.wait_for()


def wait_for_prediction(page, digit: str, timeout: float = 90_000) -> float:
    """Wait until the big prediction shows `digit`; returns seconds waited."""
    started = time.monotonic()
    page.wait_for_function(
        "(digit) => { const e = document.querySelector('.draw-prediction'); return e && e.innerText.trim() === digit; }",
        arg=digit, timeout=timeout,
    )
    wait_for_app(page)
    return time.monotonic() - started


def preview_pixels(page) -> np.ndarray:
    """The 28x28 preview as shown (grayscale), without the white margin around the plot."""
    picture = page.locator(".st-key-draw_preview").screenshot()
    return np.asarray(Image.open(io.BytesIO(picture)).convert("L"), dtype=np.float32)[6:-6, 6:-6]


def test_draw_a_one_and_a_zero_with_the_mouse(app_server, page, draw_model, output_dir):
    page.goto(f"{app_server.url}/draw?run={draw_model}")
    wait_for_app(page)
    page.get_by_text("Draw a digit: there is no ink yet.").first.wait_for()
    assert page.locator(".draw-prediction").count() == 0

    stroke(page, the_canvas(page), [(140, 45 + 9 * i) for i in range(21)])  # a vertical "1"
    wait_for_prediction(page, "1")
    wait_for_charts(page)
    one = preview_pixels(page)
    page.screenshot(path=str(output_dir / "draw-one.png"))

    page.locator(".st-key-draw_clear").get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit: there is no ink yet.").first.wait_for()
    wait_for_app(page)
    assert page.locator(".draw-prediction").count() == 0

    ring = [(140 + 62 * math.sin(t * math.pi / 18), 140 - 95 * math.cos(t * math.pi / 18)) for t in range(38)]
    stroke(page, the_canvas(page, clears=1), ring)  # an oval "0"
    seconds = wait_for_prediction(page, "0")
    wait_for_charts(page)
    zero = preview_pixels(page)
    page.screenshot(path=str(output_dir / "draw-zero.png"))
    print(f"mouse-up -> '0' shown: {seconds:.2f} s")

    assert one.shape == zero.shape
    assert np.abs(one - zero).mean() > 5  # the 28x28 preview changed with the drawing
    # the preview of a "1" is a narrow column of white ink, of a "0" a wide ring (guides are not white)
    bright_columns = lambda pixels: int((pixels > 200).any(axis=0).sum())  # noqa: E731
    assert bright_columns(zero) > 2 * bright_columns(one)


def test_upload_an_image_and_a_bad_file(app_server, page, draw_model, output_dir):
    page.goto(f"{app_server.url}/draw?run={draw_model}")
    wait_for_app(page)
    page.get_by_role("tab", name="Upload an image").click()
    wait_for_app(page)
    upload = page.locator(".st-key-draw_upload input[type=file]")

    paper = Image.new("RGB", (640, 480), (236, 232, 222))
    ImageDraw.Draw(paper).line([(330, 70), (320, 400)], fill=(25, 25, 35), width=34)  # a dark "1" on paper
    buffer = io.BytesIO()
    paper.save(buffer, format="JPEG")
    upload.set_input_files(files=[{"name": "one.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}])
    wait_for_prediction(page, "1")
    page.get_by_text("Preprocessing inspector").click()
    wait_for_app(page)
    wait_for_charts(page)
    page.screenshot(path=str(output_dir / "draw-upload.png"))

    upload.set_input_files(files=[{"name": "broken.png", "mimeType": "image/png", "buffer": b"\x89PNG not really"}])
    page.get_by_text("This file is not a readable PNG or JPEG image.").wait_for()
    wait_for_app(page)
    assert page.locator(".draw-prediction").count() == 0
