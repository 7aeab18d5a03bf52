"""The Draw page (AppTest, a drawing injected the way the canvas stores it) and its charts."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from core import jobs
from core.config import RunConfig
from core.preprocess import prepare
from core.presets import PRESETS, Preset
from dashboard.charts import draw as charts
from tests.test_training_ui import finish, jobs_settle, progress_texts, stop_button  # noqa: F401 - jobs_settle is a fixture

PAGE = "../dashboard/app_pages/draw.py"
MLP = RunConfig(arch="mlp", layers=1, units=64, epochs=3, batch_size=128)
CNN = RunConfig(arch="cnn", layers=2, units=(4, 8), kernel_size=3, dense_units=0, epochs=2, batch_size=128)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_cache(tmp_path_factory):
    """A cache holding a tiny MLP and a tiny CNN (trained once for this module)."""
    import os

    from core import cache

    folder = tmp_path_factory.mktemp("draw-cache")
    previous = os.environ.get("NEURAL_LAB_CACHE_DIR")
    os.environ["NEURAL_LAB_CACHE_DIR"] = str(folder)
    try:
        for config in (MLP, CNN):
            cache.get_or_train(config)
    finally:
        if previous is None:
            os.environ.pop("NEURAL_LAB_CACHE_DIR", None)
        else:
            os.environ["NEURAL_LAB_CACHE_DIR"] = previous
    return folder


@pytest.fixture
def app_env(trained_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURAL_LAB_CACHE_DIR", str(trained_cache))
    digits = tmp_path / "digits"
    monkeypatch.setenv("NEURAL_LAB_USER_DIGITS_DIR", str(digits))
    return digits


def drawing(kind: str) -> np.ndarray:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    if kind == "one":
        pen.line([(140, 50), (140, 230)], fill="white", width=20)
    elif kind == "zero":
        pen.ellipse((80, 50, 200, 230), outline="white", width=20)
    elif kind == "dot":
        pen.ellipse((130, 130, 146, 146), fill="white")
    elif kind == "edge":
        pen.line([(140, 0), (140, 200)], fill="white", width=20)
    return np.asarray(image)


def canvas_state(rgba: np.ndarray) -> dict:
    """What streamlit-drawable-canvas 0.13 keeps in session state after a stroke: a PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}, "backgroundFit": None}


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at.run()


def draw_on(at: AppTest, kind: str) -> AppTest:
    at.session_state["draw_canvas_0"] = canvas_state(drawing(kind))
    return at.run()


def chart_keys(at: AppTest) -> list[str]:
    return [chart.key for chart in at.get("plotly_chart")]


def predicted_digit(at: AppTest) -> int | None:
    for block in at.markdown:
        if "draw-prediction" in block.value:
            return int(block.value.split(">")[1].split("<")[0])
    return None


def expected_digit(config: RunConfig, kind: str) -> int:
    from core import cache
    from core.models import predict_fn

    run = cache.load(config)
    return int(predict_fn(run.model)(prepare(drawing(kind), invert=False).image[None])[0].argmax())


# -- the page ---------------------------------------------------------------------------------


def test_without_a_cached_model_the_page_offers_to_train_one(cache_dir):
    at = open_page()
    assert not at.exception
    assert "No MNIST model is cached yet" in at.info[0].value
    assert at.button[0].label.startswith("Train seed001-cnn")
    assert predicted_digit(at) is None


@pytest.mark.usefixtures("jobs_settle")
def test_training_a_model_here_queues_a_job_and_the_page_then_reads_drawings(cache_dir, monkeypatch):
    tiny = RunConfig(arch="mlp", layers=1, units=16, epochs=2, batch_size=256)
    monkeypatch.setitem(PRESETS, "seed001-cnn", Preset("seed001-cnn", "test stand-in (trains in seconds)", tiny))
    at = open_page()
    button = at.button[0]
    assert button.label.startswith("Train seed001-cnn now (2 epochs")
    button.click().run()
    assert not at.exception, at.exception
    assert jobs.read_job(tiny.key()) is not None
    assert stop_button(at, tiny.key()) is not None and progress_texts(at)  # the job's panel, not a training in the run
    assert finish(tiny.key()).state == "done"
    at.run()  # what the panel does when its job ends
    assert not at.exception, at.exception
    assert not any("No MNIST model is cached yet" in info.value for info in at.info)
    assert at.selectbox(key="draw_model").value == tiny.key()
    at = draw_on(at, "one")
    assert predicted_digit(at) == expected_digit(tiny, "one")


def test_blank_canvas_says_draw_a_digit_and_shows_no_chart(app_env):
    at = open_page()
    assert not at.exception
    assert any("Draw a digit" in info.value for info in at.info)
    assert "draw_probabilities" not in chart_keys(at) and "draw_preview" not in chart_keys(at)
    assert predicted_digit(at) is None


def test_an_injected_drawing_gets_a_prediction_and_a_preview(app_env):
    at = draw_on(open_page(), "one")
    assert not at.exception
    assert {"draw_preview", "draw_probabilities"} <= set(chart_keys(at))
    chosen = at.selectbox(key="draw_model").value
    config = MLP if chosen == MLP.key() else CNN
    assert predicted_digit(at) == expected_digit(config, "one")
    at = draw_on(at, "zero")
    assert predicted_digit(at) == expected_digit(config, "zero")


@pytest.mark.parametrize(("kind", "message"), [("dot", "too small"), ("edge", "touches the edge")])
def test_bad_drawings_get_a_message_and_cannot_be_saved(app_env, kind, message):
    at = draw_on(open_page(), kind)
    at.session_state["draw_section"] = "Teach it"
    at.session_state["draw_label"] = 1
    at.run()
    assert not at.exception
    shown = [w.value for w in at.warning] + [i.value for i in at.info]
    assert any(message in text for text in shown), shown
    assert at.button(key="draw_save").disabled
    assert not app_env.exists() or not list(app_env.iterdir())


def test_teach_it_saves_drawings_and_the_saved_tab_scores_a_model(app_env):
    at = draw_on(open_page(), "one")
    at.session_state["draw_section"] = "Teach it"
    at.session_state["draw_label"] = 1
    at.run()
    at.button(key="draw_save").click().run()
    assert "Saved as a 1" in at.success[0].value
    at.button(key="draw_save").click().run()  # the same drawing again
    assert "already saved" in at.error[0].value
    at.session_state["draw_label"] = 0
    at = draw_on(at, "zero")
    at.button(key="draw_save_clear").click().run()
    assert at.session_state["draw_canvas_counter"] == 1  # a new, empty canvas
    assert len(list(app_env.glob("*.json"))) == 2

    at.session_state["draw_section"] = "Saved drawings"
    at.run()
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Saved drawings"] == "2"
    chosen = at.selectbox(key="draw_eval_model").value
    config = MLP if chosen == MLP.key() else CNN
    right = (expected_digit(config, "one") == 1) + (expected_digit(config, "zero") == 0)
    assert metrics["Read right"] == f"{right / 2:.0%}"
    assert "draw_confusion" in chart_keys(at)
    at.button(key=at.button[-1].key).click().run()  # delete one from the gallery
    assert len(list(app_env.glob("*.json"))) == 1


def test_compare_shows_every_picked_model(app_env):
    at = draw_on(open_page(), "zero")
    at.multiselect(key="draw_compare").set_value([MLP.key(), CNN.key()]).run()
    assert not at.exception
    assert len(at.metric) == 2
    assert [metric.value for metric in at.metric] == [str(expected_digit(MLP, "zero")), str(expected_digit(CNN, "zero"))]
    assert "draw_compare_chart" in chart_keys(at)


def test_why_shows_saliency_and_the_cnn_feature_maps(app_env):
    at = open_page({"run": CNN.key()})
    at = draw_on(at, "one")
    at.session_state["draw_section"] = "Why this answer"
    at.run()
    assert not at.exception
    keys = chart_keys(at)
    assert "draw_saliency" in keys
    assert {"draw_maps_0", "draw_maps_1", "draw_maps_2", "draw_maps_3"} <= set(keys)  # conv, pool, conv, pool
    at.selectbox(key="draw_model").set_value(MLP.key()).run()
    assert any("is an MLP" in info.value for info in at.info)


def test_the_model_comes_from_the_url_and_a_bad_one_is_reported(app_env):
    assert open_page({"run": CNN.key()}).selectbox(key="draw_model").value == CNN.key()
    at = open_page({"run": "not-a-key"})
    assert any("not a cached MNIST model" in warning.value for warning in at.warning)


@pytest.mark.parametrize("preferred", [MLP, CNN])
def test_the_default_model_is_the_best_preset_when_cached(app_env, monkeypatch, preferred):
    monkeypatch.setitem(PRESETS, "best", Preset("best", "test stand-in", preferred))
    at = open_page()
    assert at.selectbox(key="draw_model").value == preferred.key()
    assert at.query_params["run"] == preferred.key()


def test_without_an_address_it_opens_a_model_and_says_which(app_env):
    at = open_page()
    assert not at.exception
    chosen = at.selectbox(key="draw_model").value
    assert chosen in (MLP.key(), CNN.key())
    assert any("so this page opened" in caption.value for caption in at.caption)


def test_the_model_looked_at_last_on_any_page_is_the_default(app_env):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["neural_lab_recent_model"] = MLP.key()  # e.g. set by Misclassified digits
    at.run()
    assert at.selectbox(key="draw_model").value == MLP.key()
    assert any("the model you looked at last" in caption.value for caption in at.caption)


def test_the_timing_line_reports_what_the_student_waited_for(app_env):
    at = draw_on(open_page({"run": MLP.key()}), "one")
    lines = [caption.value for caption in at.caption if caption.value.startswith("Answered in")]
    assert len(lines) == 1 and "ms on the server after your stroke arrived" in lines[0]
    server_ms, network_ms = (float(number) for number in re.findall(r"([0-9.]+) ms", lines[0])[:2])
    assert server_ms >= network_ms  # the whole answer includes the network's part


# -- charts -----------------------------------------------------------------------------------


def test_verdict_reports_the_top_two_and_doubt():
    probabilities = np.array([0.05, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.45, 0.0, 0.0])
    result = charts.verdict(probabilities)
    assert (result.digit, result.runner_up) == (1, 7) and result.unsure
    assert not charts.verdict(np.eye(10)[3]).unsure


@pytest.mark.parametrize("shape", [(280, 280, 4), (30, 90), (20, 7), (600, 400, 3)])
def test_step_picture_is_a_square_png(shape):
    picture = Image.open(io.BytesIO(charts.step_picture(np.full(shape, 200, np.uint8), size=120)))
    assert picture.size == (120, 120)


def test_step_picture_rejects_other_shapes():
    with pytest.raises(ValueError, match="expected a 2-D image"):
        charts.step_picture(np.zeros((4, 4, 2)))


def test_preview_marks_the_box_and_the_centre_of_mass():
    image = prepare(drawing("one")).image
    figure = charts.preview_figure(image)
    names = [trace.name for trace in figure.data]
    assert names[1:] == ["field centre", "centre of mass"]
    box = figure.layout.shapes[0]
    assert box.y1 - box.y0 == 20  # the ink's 20 px box
    mass = figure.data[2]
    assert abs(mass.y[0] - 14) <= 0.5 and abs(mass.x[0] - 14) <= 0.5
    assert len(charts.preview_figure(image, guides=False).data) == 1


def test_compare_figure_has_one_bar_trace_per_model():
    figure = charts.compare_figure(["a", "b", "c"], np.eye(10)[:3])
    assert [trace.name for trace in figure.data] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        charts.compare_figure(["a"], np.eye(10)[:2])
