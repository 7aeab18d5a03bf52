"""The start page in a real browser: `/` shows the learning path; each card's link opens its page with
its configuration (the address and a visible value say so) and no exception; an old shared Train
address (`/?layers=3`) lands on /train with the same parameters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from core.learning_path import EXPERIMENTS
from dashboard.views import guide
from tests.helpers import OUTPUT_DIR, wait_for_app

pytestmark = pytest.mark.browser

URL_PATHS = {"training": "/train", "boundary": "/boundary", "explorer": "/explorer", "draw": "/draw", "robustness": "/robustness"}
TITLES = {
    "training": "Train a network", "boundary": "Decision boundaries", "explorer": "Misclassified digits",
    "draw": "Draw a digit", "robustness": "Robustness",
}
NO_MODEL = "No MNIST model has been trained yet"  # the Robustness page with an empty cache
MISSING_MODELS = "no cached MNIST model"  # ... with other models cached: it names the card's keys and shows those

# The Epochs slider in the sidebar form (an input[type=range]): its value is on every configuration page.
EPOCHS_JS = """() => {
  const slider = [...document.querySelectorAll('[data-testid=stSidebar] [data-testid=stSlider]')]
    .find(s => s.innerText.startsWith('Epochs'));
  const input = slider && slider.querySelector('input[type=range]');
  return input ? Number(input.value) : null;
}"""


def card_links(page):
    """The cards' "Open the experiment" links (each page link also has a hidden twin in the DOM)."""
    return page.locator("a[data-testid=stPageLink-NavLink]:visible", has_text=guide.OPEN_LABEL)


def open_start(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_text(EXPERIMENTS[-1].question).wait_for()
    card_links(page).nth(len(EXPERIMENTS) - 1).wait_for()  # page links are drawn a moment after the text


def test_each_card_opens_its_page_with_its_configuration(app_server, page):
    open_start(page, f"{app_server.url}/")
    page.screenshot(path=str(OUTPUT_DIR / "guide-start.png"), full_page=True)
    links = card_links(page)
    assert links.count() == len(EXPERIMENTS)
    # Every link is an ordinary address with the card's parameters: right-click, copy, share.
    for link, experiment in zip(links.all(), EXPERIMENTS, strict=True):
        href = urlparse(link.get_attribute("href"))
        assert href.path.lstrip("/") == URL_PATHS[experiment.page].lstrip("/"), experiment.slug
        assert {n: v[-1] for n, v in parse_qs(href.query, keep_blank_values=True).items()} == guide.experiment_params(experiment), experiment.slug
    for index, experiment in enumerate(EXPERIMENTS):
        if index:  # back to the start page in the same session (client-side, like a student would)
            page.go_back()
            wait_for_app(page)
            page.get_by_text(EXPERIMENTS[-1].question).wait_for()
            card_links(page).nth(len(EXPERIMENTS) - 1).wait_for()
        card_links(page).nth(index).click()
        page.wait_for_url(f"**{URL_PATHS[experiment.page]}?*")
        wait_for_app(page)
        page.get_by_role("heading", name=TITLES[experiment.page]).first.wait_for()
        address = urlparse(page.url)
        assert address.path == URL_PATHS[experiment.page], experiment.slug
        params = {name: values[-1] for name, values in parse_qs(address.query, keep_blank_values=True).items()}
        expected = guide.experiment_params(experiment)
        if experiment.page == "robustness":
            expected = check_robustness_page(page, experiment, expected)
        assert {name: params.get(name) for name in expected} == expected, experiment.slug
        if experiment.page in ("training", "boundary"):
            page.wait_for_function(f"() => ({EPOCHS_JS})() === {experiment.config.epochs}")
        assert page.locator("[data-testid=stException]").count() == 0, experiment.slug


def check_robustness_page(page, experiment, expected: dict[str, str]) -> dict[str, str]:
    """The Robustness card's visible value; returns the parameters the address must still hold.

    Without any cached MNIST model the page says so (like Explorer and Draw, whose cards offer to train the
    model); with other models cached but not the card's, it names the missing keys and compares those
    instead, so only the perturbation and strength stay as the card set them.
    """
    main = page.locator("[data-testid=stMain]")
    main.get_by_text(NO_MODEL).or_(main.locator("[data-testid=stRadio]")).first.wait_for()
    if main.get_by_text(NO_MODEL).count():
        return expected
    checked = main.locator("[data-testid=stRadio] label:has(input:checked)")
    assert checked.inner_text().strip() == "Rotation", experiment.slug
    if main.get_by_text(MISSING_MODELS).count():
        return {name: value for name, value in expected.items() if name != "models"}
    return expected


def test_an_old_train_address_lands_on_the_train_page(app_server, page):
    page.goto(f"{app_server.url}/?layers=3&epochs=4")
    page.wait_for_url("**/train?*")
    wait_for_app(page)
    page.get_by_role("heading", name="Train a network").first.wait_for()
    assert parse_qs(urlparse(page.url).query) == {"layers": ["3"], "epochs": ["4"]}
    page.wait_for_function(f"() => ({EPOCHS_JS})() === 4")
    assert page.locator("[data-testid=stException]").count() == 0
