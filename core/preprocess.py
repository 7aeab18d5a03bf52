"""A drawing or a photo -> a 28x28 digit prepared the way MNIST digits were, every step kept.

MNIST digits are white ink on black, the ink's bounding box scaled (anti-aliased, aspect kept) so
its longest side is 20 px, pasted into a 28x28 field and shifted so the ink's centre of mass sits
at the centre. A network trained on them reads a drawing well only once the drawing looks like
that, so `prepare` does exactly those steps and keeps each intermediate image for the inspector:

    canvas (RGBA) -> ink (grayscale/alpha, white on black, inverted when drawn dark on light,
    background removed) -> cropped to the ink -> scaled to 20 px -> pasted in 28x28 (box
    centred) -> shifted so the centre of mass is at the centre.

Inputs that hold nothing readable (blank, a dot, a flat colour, ink everywhere) give a Prepared
with `ok == False` and a message for the user, never an image to predict on.
`prepare_upload(bytes)` decodes a PNG/JPEG safely (size caps before decoding) into the same path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

FIELD = 28  # MNIST image side
BOX = 20  # longest side of the ink inside the field
# Where MNIST digits have their centre of mass, in pixel-index coordinates: measured (14.0, 14.0)
# on the embedded digits, half a pixel off the geometric 13.5. Aiming at 13.5 instead costs a
# small CNN ~10 % agreement on real digits re-prepared (tests/test_preprocess.py round trip).
CENTRE = 14.0

MIN_SIDE = 8  # images smaller than this cannot hold a drawn digit
FLAT_RANGE = 8.0  # an image whose luminance varies less than this is one flat colour
MIN_CONTRAST = 40.0  # ink weaker than this above the background is noise, not a stroke
INK_THRESHOLD = 0.15  # after contrast stretching, ink below 15 % of the maximum is dropped
MIN_EXTENT = 0.15  # the ink's bounding box must span at least 15 % of the image's shorter side
MAX_COVERAGE = 0.5  # ink on more than half of the image is not a digit (a painted-over canvas)
EDGE_MARGIN = 1  # ink within this many pixels of the border "touches the edge"

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000  # ~6300x6300; a bigger header is a decompression bomb or a mistake
MAX_WORKING_SIDE = 1024  # uploads are shrunk to this before preparing (a digit needs far less)
UPLOAD_FORMATS = ("PNG", "JPEG")

MESSAGES = {
    "empty": "Draw a digit: there is no ink yet.",
    "faint": "The ink is too faint to read: draw with more contrast.",
    "flat": "The image is one flat colour: there is nothing to read.",
    "too_small": "The drawing is too small to read (a dot or a tiny scribble): draw the digit bigger.",
    "too_full": "Ink covers most of the image: this does not look like one digit. Clear it and draw again.",
    "image_too_small": f"The image is smaller than {MIN_SIDE}x{MIN_SIDE} pixels: there is nothing to read.",
}
EDGE_WARNING = "The digit touches the edge of the image, so part of it may be cut off."


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message is written for the user."""


@dataclass
class Step:
    """One intermediate image of the pipeline (2-D float32 0-255, or the RGBA input)."""

    name: str
    caption: str
    image: np.ndarray


@dataclass
class Prepared:
    """The result of `prepare`: the 28x28 image (or None with a reason) and every step on the way."""

    status: str
    message: str = ""
    image: np.ndarray | None = None  # (28, 28) float32 0-255, white on black, when status == "ok"
    steps: list[Step] = field(default_factory=list)
    inverted: bool = False  # the input was dark ink on a light background
    ink_source: str = "luminance"  # "alpha" when a transparent background made the alpha channel the ink
    bbox: tuple[int, int, int, int] | None = None  # (top, left, bottom, right) of the ink in the input, exclusive end
    touches_edge: bool = False
    shift: tuple[int, int] = (0, 0)  # (rows, columns) the centre-of-mass step moved the digit
    clamped: bool = False  # the mass was too far off-centre to centre exactly: shifted up to the field's edge
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.image is not None

    def step(self, name: str) -> np.ndarray:
        for step in self.steps:
            if step.name == name:
                return step.image
        raise KeyError(name)


def _fail(status: str, steps: list[Step], **extra) -> Prepared:
    return Prepared(status=status, message=MESSAGES[status], steps=steps, **extra)


def _as_rgba(array: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1|3|4) array of 0-255 values -> float32 (H, W, 4); NaN -> 0."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    values = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    values = np.clip(values, 0.0, 255.0)
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    if values.shape[2] == 3:
        values = np.concatenate([values, np.full(values.shape[:2] + (1,), 255.0, np.float32)], axis=2)
    return values


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def ink_map(rgba: np.ndarray, invert: bool | None = None) -> tuple[np.ndarray, np.ndarray, bool, str]:
    """(grayscale, ink, inverted, source): the ink as white on black, background removed.

    A transparent background (most of the border has alpha < 128) makes the alpha channel the
    ink, whatever the stroke colour. Otherwise the luminance is used (alpha composited onto the
    background), inverted when the background is light (`invert=None` decides from the border;
    True/False force it), and the background level is subtracted so grey paper becomes black.
    """
    alpha = rgba[..., 3] / 255.0
    if np.median(_border(alpha)) < 0.5:
        gray = rgba[..., 3].copy()
        return gray, gray.copy(), False, "alpha"
    luminance = rgba[..., 0] * 0.299 + rgba[..., 1] * 0.587 + rgba[..., 2] * 0.114
    background = float(np.median(_border(luminance)))
    gray = luminance * alpha + background * (1.0 - alpha)
    if invert is None:
        inverted = background > 127.5
        background_ink = 255.0 - background if inverted else background
    else:  # the caller knows the canvas: no guess from a border that ink may cover
        inverted, background_ink = bool(invert), 0.0
    ink = 255.0 - gray if inverted else gray.copy()
    ink = np.clip(ink - background_ink, 0.0, None) if background_ink < 255.0 else np.zeros_like(ink)
    return gray, ink, inverted, "luminance"


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    # Shrinking averages the covered pixels (area filter: what "anti-aliased" means for a
    # digit); enlarging a small crop interpolates bilinearly.
    shrinking = width < image.shape[1] or height < image.shape[0]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize((width, height), resample=resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 255.0)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre; the image must hold some ink."""
    total = float(image.sum())
    rows = np.arange(image.shape[0], dtype=np.float64)
    columns = np.arange(image.shape[1], dtype=np.float64)
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ columns / total)


def ink_bbox(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), exclusive end, of the pixels above `threshold`; None when there are none."""
    mask = image > threshold
    if not mask.any():
        return None
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def prepare(canvas_rgba: np.ndarray, invert: bool | None = None) -> Prepared:
    """A drawing (any size; RGBA, RGB or gray; 0-255) -> the MNIST-style 28x28 digit and each step.

    `invert=None` detects a dark-on-light drawing from the border; pass False for a canvas known
    to be white on black (then a painted-over canvas reads as "too full", not as a digit).
    The result has `ok == False` and a user-facing `message` when there is nothing to read.
    """
    rgba = _as_rgba(canvas_rgba)
    steps = [Step("input", "The input as received", np.asarray(canvas_rgba))]
    height, width = rgba.shape[:2]
    if min(height, width) < MIN_SIDE:
        return _fail("image_too_small", steps)

    gray, ink, inverted, source = ink_map(rgba, invert)
    caption = "Ink from the alpha channel (transparent background)" if source == "alpha" else "Grayscale (alpha composited)"
    steps.append(Step("grayscale", caption, gray))
    extra = {"inverted": inverted, "ink_source": source}
    if float(gray.max() - gray.min()) < FLAT_RANGE:
        blank = source == "alpha" or (not inverted and gray.mean() < 127.5)  # nothing on a dark canvas
        return _fail("empty" if blank else "flat", steps, **extra)

    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        return _fail("empty" if strongest < FLAT_RANGE else "faint", steps, **extra)
    # Stretch so the strongest ink is white (photos of pencil on paper are grey), then drop what
    # is weaker than INK_THRESHOLD: noise, paper texture, JPEG ringing.
    ink = np.clip(ink * (255.0 / strongest), 0.0, 255.0)
    ink[ink < INK_THRESHOLD * 255.0] = 0.0
    caption = "White ink on black (inverted: it was drawn dark on light)" if inverted else "White ink on black, background removed"
    steps.append(Step("ink", caption, ink))

    coverage = float((ink > 127.5).mean())
    bbox = ink_bbox(ink)
    top, left, bottom, right = bbox
    touches = top < EDGE_MARGIN or left < EDGE_MARGIN or bottom > height - EDGE_MARGIN or right > width - EDGE_MARGIN
    extra.update(bbox=bbox, touches_edge=touches)
    if coverage > MAX_COVERAGE:
        return _fail("too_full", steps, **extra)
    if max(bottom - top, right - left) < MIN_EXTENT * min(height, width):
        return _fail("too_small", steps, **extra)

    cropped = ink[top:bottom, left:right]
    steps.append(Step("cropped", f"Cropped to the ink's bounding box ({right - left}x{bottom - top} px)", cropped))

    crop_height, crop_width = cropped.shape
    scale = BOX / max(crop_height, crop_width)
    new_height = min(BOX, max(1, round(crop_height * scale)))
    new_width = min(BOX, max(1, round(crop_width * scale)))
    scaled = _resize(cropped, new_width, new_height)
    if scaled.max() <= 0:
        return _fail("too_small", steps, **extra)
    # Thin strokes shrink to grey; MNIST ink peaks at white.
    scaled = np.clip(scaled * (255.0 / float(scaled.max())), 0.0, 255.0)
    steps.append(Step("scaled", f"Longest side scaled to {BOX} px, aspect kept ({new_width}x{new_height})", scaled))

    box_top, box_left = (FIELD - new_height) // 2, (FIELD - new_width) // 2
    pasted = np.zeros((FIELD, FIELD), np.float32)
    pasted[box_top : box_top + new_height, box_left : box_left + new_width] = scaled
    steps.append(Step("pasted", "Pasted in the middle of a 28x28 field (box centred)", pasted))

    mass_row, mass_column = centre_of_mass(scaled)
    wanted_top, wanted_left = round(CENTRE - mass_row), round(CENTRE - mass_column)
    # A very lopsided shape (a heavy bar with a thin arm, a "┐" seven) can have its mass more
    # than 4 px from its box centre; centring it exactly would push ink out of the field. MNIST
    # clipped such digits; here the shift stops at the field's edge and the inspector says so.
    target_top = min(max(wanted_top, 0), FIELD - new_height)
    target_left = min(max(wanted_left, 0), FIELD - new_width)
    clamped = (target_top, target_left) != (wanted_top, wanted_left)
    centred = np.zeros((FIELD, FIELD), np.float32)
    centred[target_top : target_top + new_height, target_left : target_left + new_width] = scaled
    shift = (target_top - box_top, target_left - box_left)
    caption = f"Shifted {shift[0]:+d} rows, {shift[1]:+d} columns: " + (
        "as far as the field allows towards centring the mass (a lopsided shape)" if clamped else "centre of mass at the centre"
    )
    steps.append(Step("centred", caption, centred))

    warnings = [EDGE_WARNING] if touches else []
    return Prepared(status="ok", image=centred, steps=steps, shift=shift, clamped=clamped, warnings=warnings, **extra)


def decode_upload(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes -> an RGBA uint8 array, checked before the pixels are decoded.

    Raises UploadError (message for the user) for files that are too big, not PNG/JPEG,
    unreadable, or whose header promises too many pixels (a decompression bomb).
    """
    if not data:
        raise UploadError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    try:
        # Image.open reads only the header; the size check below runs before any pixel is decoded.
        with Image.open(io.BytesIO(data), formats=list(UPLOAD_FORMATS)) as image:
            width, height = image.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise UploadError(
                    f"The image is {width}x{height} pixels; the limit is {MAX_UPLOAD_PIXELS / 1e6:.0f} million pixels."
                )
            if image.format == "JPEG":
                image.draft("RGB", (MAX_WORKING_SIDE, MAX_WORKING_SIDE))  # decode a big JPEG at reduced size
            image.thumbnail((MAX_WORKING_SIDE, MAX_WORKING_SIDE))
            rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    except UploadError:
        raise
    except Image.DecompressionBombError as error:
        raise UploadError("The image has too many pixels to open safely.") from error
    except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError) as error:
        raise UploadError("This file is not a readable PNG or JPEG image.") from error
    return rgba


def prepare_upload(data: bytes) -> Prepared:
    """An uploaded PNG/JPEG (any size, any background) through the same pipeline as a drawing."""
    return prepare(decode_upload(data), invert=None)
