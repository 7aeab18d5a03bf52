"""The sidebar form keeps every change a user submits, follows the URL and presets, and a page
opened again in the same session (st.navigation clears the URL) gets its configuration back.

Most tests drive a tiny app that only holds the form and the URL glue, so nothing trains; one
drives the real decision-boundary page with a tiny toy network (the reported reproduction).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from core.presets import PRESETS

BOUNDARY_PAGE = str(Path(__file__).resolve().parent.parent / "dashboard" / "app_pages" / "boundary.py")
TINY = {"layers": "1", "units": "8", "epochs": "1", "batch_size": "256"}


def form_app() -> None:
    """A page reduced to what the form needs: URL -> form -> URL (no training)."""
    import streamlit as st

    from core.config import RunConfig
    from dashboard import state
    from dashboard.controls import hyperparameter_form, preset_picker

    defaults = RunConfig()
    config = state.config_from_url(defaults)
    with st.sidebar:
        picked = preset_picker(["base", "seed001-dnn"], config)
        if picked is not None:
            state.write_url(picked, defaults)
            st.rerun()
        submitted = hyperparameter_form(config, form_key="test-form")
    if submitted is not None and not st.session_state.get("keep_url"):  # keep_url: a test skips the write
        state.write_url(submitted, defaults)
    if submitted is not None:
        st.session_state.setdefault("submissions", []).append(submitted)


def open_form(params: dict[str, str]) -> AppTest:
    at = AppTest.from_function(form_app, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def widget(at: AppTest, kind: str, label: str):
    return next(w for w in getattr(at, kind) if w.label.startswith(label))


def submit(at: AppTest, label: str = "Train / load") -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def submissions(at: AppTest) -> list[RunConfig]:
    return at.session_state["submissions"] if "submissions" in at.session_state else []


def test_two_changes_in_a_row_are_both_submitted():
    at = open_form(TINY)
    widget(at, "slider", "Epochs").set_value(2)
    submit(at)
    assert [c.epochs for c in submissions(at)] == [2]
    assert at.query_params["epochs"] == "2"

    widget(at, "slider", "Epochs").set_value(3)  # the second change was the one lost
    submit(at)
    assert [c.epochs for c in submissions(at)] == [2, 3]
    assert at.query_params["epochs"] == "3"
    assert widget(at, "slider", "Epochs").value == 3

    widget(at, "slider", "Epochs").set_value(4)
    widget(at, "select_slider", "Units").set_value(16)
    submit(at)
    assert (submissions(at)[-1].epochs, submissions(at)[-1].units) == (4, 16)
    assert (at.query_params["epochs"], at.query_params["units"]) == ("4", "16")


def test_toy_dataset_choice_is_kept_every_time():
    at = open_form({"task": "toy", "dataset": "xor", "epochs": "3"})
    for dataset in ("blocks", "spiral", "three_class"):
        widget(at, "selectbox", "Dataset").set_value(dataset)
        submit(at)
        assert submissions(at)[-1].dataset == dataset
        assert at.query_params["dataset"] == dataset
        assert widget(at, "selectbox", "Dataset").value == dataset


def test_a_url_change_and_a_preset_update_the_widgets(monkeypatch):
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    at = open_form(TINY)
    widget(at, "slider", "Epochs").set_value(2)
    submit(at)

    # The address changes from outside (back button, an edited link): the widgets follow it,
    # also back to a value they showed before.
    at.query_params["epochs"] = "1"
    at.run()
    assert widget(at, "slider", "Epochs").value == 1
    at.query_params["epochs"] = "7"
    at.query_params["units"] = "24"
    at.run()
    assert widget(at, "slider", "Epochs").value == 7
    assert widget(at, "select_slider", "Units").value == 24
    submit(at)  # and submitting unchanged widgets submits what they show
    assert (submissions(at)[-1].epochs, submissions(at)[-1].units) == (7, 24)

    # A preset loaded from the picker replaces every widget.
    widget(at, "selectbox", "Tutorial preset").set_value("seed001-dnn")
    at.run()
    next(b for b in at.button if b.label == "Load preset").click().run()
    preset = PRESETS["seed001-dnn"].config
    assert widget(at, "slider", "Epochs").value == preset.epochs
    assert widget(at, "slider", "Dropout").value == pytest.approx(preset.dropout)
    submit(at)
    assert submissions(at)[-1] == preset
    # Widgets got their values through st.session_state only, never also through `value=`.
    assert policies._shown_default_value_warning is False


def test_a_submission_is_kept_even_when_the_url_did_not_follow_the_last_one():
    """A page may not write a submission into the URL (a run cut short): the next one still counts."""
    at = open_form(TINY)
    at.session_state["keep_url"] = True
    widget(at, "slider", "Epochs").set_value(2)
    submit(at)
    assert at.query_params["epochs"] == "1"
    widget(at, "slider", "Epochs").set_value(3)
    submit(at)
    assert [c.epochs for c in submissions(at)] == [2, 3]


def test_an_impossible_combination_names_the_field_and_keeps_the_users_edits():
    at = open_form({"arch": "cnn", "layers": "2", "epochs": "1"})
    widget(at, "slider", "Conv blocks").set_value(0)
    widget(at, "slider", "Epochs").set_value(5)
    submit(at)
    assert submissions(at) == []
    assert any("layers=0" in e.value for e in at.error)
    assert widget(at, "slider", "Conv blocks").value == 0  # still there to fix
    widget(at, "slider", "Conv blocks").set_value(1)
    submit(at)
    assert (submissions(at)[-1].layers, submissions(at)[-1].epochs) == (1, 5)


def test_per_layer_text_is_read_by_the_url_decoder_with_a_readable_error():
    at = open_form(TINY)
    widget(at, "text_input", "Units per layer").set_value("64, 16")
    widget(at, "slider", "Conv blocks").set_value(2)
    submit(at)
    assert submissions(at)[-1].units == (64, 16)
    assert at.query_params["units"] == "64,16"
    widget(at, "text_input", "Units per layer").set_value("64;16")
    submit(at)
    assert len(submissions(at)) == 1
    assert any("per-layer units must be a comma-separated list, e.g. 64,16" in e.value for e in at.error)
    assert not any("invalid literal" in e.value for e in at.error)


def test_boundary_page_keeps_each_chosen_dataset_at_the_first_try(cache_dir):
    """The reported reproduction on the real page (blocks / spiral needed two tries). Training
    runs in the background there; what matters here is which config the page was given."""
    at = AppTest.from_file(BOUNDARY_PAGE, default_timeout=180)
    for name, value in {"dataset": "xor", "n_samples": "40", "epochs": "2", "batch_size": "20", "units": "3"}.items():
        at.query_params[name] = value
    at.run()
    for dataset in ("blocks", "spiral", "three_class"):
        widget(at, "selectbox", "Dataset").set_value(dataset)
        submit(at, "Train / load")
        assert at.query_params["dataset"] == dataset
        assert widget(at, "selectbox", "Dataset").value == dataset


# -- coming back to a page in the same session ----------------------------------------------------


def test_a_page_opened_again_without_parameters_gets_its_configuration_back():
    at = open_form(TINY)
    widget(at, "slider", "Epochs").set_value(2)
    submit(at)
    widget(at, "slider", "Epochs").set_value(3)
    submit(at)
    assert at.query_params["epochs"] == "3"

    at.query_params.clear()  # what st.navigation does when the user leaves the page and comes back
    at.run()
    assert not at.exception
    assert (at.query_params["epochs"], at.query_params["layers"], at.query_params["units"]) == ("3", "1", "8")
    assert widget(at, "slider", "Epochs").value == 3
    assert widget(at, "slider", "Conv blocks").value == 1
    submit(at)
    assert submissions(at)[-1] == RunConfig(layers=1, units=8, epochs=3, batch_size=256)


def test_a_new_session_without_parameters_gets_the_defaults():
    open_form(TINY)
    at = open_form({})
    assert at.query_params == {}
    assert widget(at, "slider", "Epochs").value == RunConfig().epochs
    assert widget(at, "slider", "Conv blocks").value == RunConfig().layers


def test_each_page_remembers_its_own_parameters(tmp_path):
    """Two pages under st.navigation: each gets back its own address, not the other page's."""
    page_code = (
        "from core.config import RunConfig\n"
        "from dashboard import state\n"
        "import streamlit as st\n"
        "config = state.config_from_url(RunConfig())\n"
        "st.markdown(f'epochs={config.epochs}')\n"
        "if st.button('more epochs'):\n"
        "    state.write_url(config.replace(epochs=config.epochs + 1), RunConfig())\n"
        "    st.rerun()\n"
    )
    (tmp_path / "first.py").write_text(page_code)
    (tmp_path / "second.py").write_text(page_code)
    (tmp_path / "app.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('first.py', url_path='first'), st.Page('second.py', url_path='second')]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=60)
    at.query_params["epochs"] = "4"
    at.run()
    at.button[0].click().run()
    assert at.query_params == {"epochs": "5"}

    at.query_params.clear()
    at.switch_page("second.py").run()
    assert at.query_params == {} and at.markdown[0].value == "epochs=10"
    at.button[0].click().run()
    assert at.query_params == {"epochs": "11"}

    at.query_params.clear()
    at.switch_page("first.py").run()
    assert at.query_params == {"epochs": "5"} and at.markdown[0].value == "epochs=5"
    at.query_params.clear()
    at.switch_page("second.py").run()
    assert at.query_params == {"epochs": "11"} and at.markdown[0].value == "epochs=11"

