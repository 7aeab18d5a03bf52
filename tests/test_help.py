"""Every widget on every page has a tooltip (`help=`) for the student (AppTest, through dashboard/app.py).

Each page is opened in the state where it shows the most controls: a tiny MNIST model and a tiny toy
model are cached first, the Explorer opens one digit, the Train page a cached run. A failure lists
every widget without help, page by page.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import element_tree as tree

from core.config import RunConfig
from core.presets import BOUNDARY_DEFAULTS
from dashboard import state
from tests.helpers import REPO

APP = str(REPO / "dashboard" / "app.py")
PAGES_DIR = REPO / "dashboard" / "app_pages"
TINY_MNIST = RunConfig(layers=1, units=16, epochs=2, batch_size=256)
TINY_TOY = BOUNDARY_DEFAULTS.replace(epochs=3)


def walk(node):
    """Every element under an AppTest node (blocks are opened, elements yielded)."""
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from walk(child)
    else:
        yield node


def widgets_without_help(at: AppTest) -> list[str]:
    """'kind "label"' of every widget whose proto has a help field left empty (custom components have none)."""
    missing = []
    for element in walk(at._tree):
        proto = getattr(element, "proto", None)
        if not isinstance(element, tree.Widget) or proto is None or "help" not in proto.DESCRIPTOR.fields_by_name:
            continue
        if not proto.help.strip():
            missing.append(f'{element.type} "{getattr(proto, "label", "")}"')
    return missing


@pytest.fixture(scope="module")
def trained_cache(tmp_path_factory):
    """A cache with one tiny MNIST and one tiny toy model (the pages then draw their result sections)."""
    folder = tmp_path_factory.mktemp("help-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_LAB_CACHE_DIR", str(folder))
        patch.setenv("NEURAL_LAB_JOB_WORKERS", "1")
        from core import cache

        cache.get_or_train(TINY_MNIST)
        cache.get_or_train(TINY_TOY)
        yield folder


PAGES = {
    "start": {},
    "training": state.link_params("training", TINY_MNIST),
    "boundary": state.link_params("boundary", TINY_TOY),
    "explorer": {**state.link_params("explorer", TINY_MNIST), "digit": "0"},
    "draw": {"run": TINY_MNIST.key()},
    "inside": state.link_params("training", TINY_MNIST),
    "robustness": {"models": TINY_MNIST.key()},
    "runs": {},
}


@pytest.mark.parametrize("page", list(PAGES))
def test_every_widget_on_the_page_has_help(page, trained_cache):
    if not (PAGES_DIR / f"{page}.py").is_file():
        pytest.skip(f"dashboard/app_pages/{page}.py does not exist yet")
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in PAGES[page].items():
        at.query_params[name] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    kinds = {element.type for element in walk(at._tree) if isinstance(element, tree.Widget)}
    assert kinds, f"the {page} page drew no widget at all: the test opened it wrong"
    missing = widgets_without_help(at)
    assert not missing, f"{len(missing)} widget(s) on the {page} page have no help=: " + "; ".join(missing)
