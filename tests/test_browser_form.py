"""The sidebar form in Chromium: two changes in a row both reach the URL (the second one used to be
dropped), and the Train page keeps its settings after a visit to another page."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for_app

pytestmark = pytest.mark.browser

START = "layers=1&units=8&epochs=1&batch_size=256"
RESULT_TIMEOUT = 120_000  # a tiny MLP, but the machine is shared and the first training imports TensorFlow


def _slider(page, label: str):
    """The slider's thumb: in Streamlit 1.67 an input[type=range] (implicit role slider), value in aria-valuetext."""
    return page.locator("[data-testid=stSidebar] [data-testid=stSlider]").filter(has_text=label).locator("input[type=range]")


def _wait_for_param(page, name: str, value: str) -> None:
    page.wait_for_function(
        "([name, value]) => new URLSearchParams(window.location.search).get(name) === value",
        arg=[name, value], timeout=RESULT_TIMEOUT,
    )


def _params(page) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(new URLSearchParams(window.location.search))")


def _wait_for_slider(page, label: str, value: str) -> None:
    _slider(page, label).and_(page.locator(f"[aria-valuetext='{value}']")).wait_for(state="attached", timeout=RESULT_TIMEOUT)


def _train_to(page, epochs: int) -> None:
    """Epochs one step up with the keyboard, then Train / load; wait for the URL and the slider."""
    slider = _slider(page, "Epochs")
    assert slider.get_attribute("aria-valuetext") == str(epochs - 1)
    slider.focus()
    slider.press("ArrowRight")
    _wait_for_slider(page, "Epochs", str(epochs))
    page.locator("[data-testid=stSidebar]").get_by_role("button", name="Train / load").click()
    _wait_for_param(page, "epochs", str(epochs))
    wait_for_app(page, timeout=RESULT_TIMEOUT)
    _wait_for_slider(page, "Epochs", str(epochs))


def test_every_change_is_kept_and_the_train_page_keeps_its_settings_after_another_page(app_server, page):
    page.goto(f"{app_server.url}/train?{START}")
    wait_for_app(page)
    _wait_for_slider(page, "Epochs", "1")

    _train_to(page, 2)
    _train_to(page, 3)  # the change that used to be dropped: the slider jumped back to 2
    assert _params(page)["epochs"] == "3"
    page.get_by_text("Test accuracy").first.wait_for(timeout=RESULT_TIMEOUT)  # a result for 3 epochs is shown

    nav = page.locator("[data-testid=stSidebarNav]")
    nav.get_by_role("link", name="Decision boundaries").click()
    page.wait_for_function("() => window.location.pathname.endsWith('/boundary')")
    page.get_by_role("heading", name="Decision boundaries").wait_for(timeout=RESULT_TIMEOUT)
    wait_for_app(page, timeout=RESULT_TIMEOUT)

    nav.get_by_role("link", name="Train").click()
    page.wait_for_function("() => !window.location.pathname.endsWith('/boundary')")
    _wait_for_param(page, "epochs", "3")
    wait_for_app(page, timeout=RESULT_TIMEOUT)
    params = _params(page)
    assert (params.get("epochs"), params.get("layers"), params.get("units"), params.get("batch_size")) == ("3", "1", "8", "256")
    _wait_for_slider(page, "Epochs", "3")
    assert _slider(page, "Conv blocks").get_attribute("aria-valuetext") == "1"
