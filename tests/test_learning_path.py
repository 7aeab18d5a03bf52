"""The learning path (core/learning_path.py): every card opens an existing page with a configuration
that survives the trip through its link, and the path covers the tutorials' lessons."""

from __future__ import annotations

import ast
import re

import pytest

from core.learning_path import BY_SLUG, EXPERIMENTS, PAGES
from core.presets import PRESETS
from core.robustness import PERTURBATIONS
from dashboard import state
from tests.helpers import REPO


def test_the_path_has_eight_to_fourteen_distinct_cards():
    assert 8 <= len(EXPERIMENTS) <= 14
    assert len(BY_SLUG) == len(EXPERIMENTS)
    for experiment in EXPERIMENTS:
        assert experiment.question.endswith("?"), experiment.slug
        assert experiment.look_for and experiment.explanation and experiment.title


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.slug)
def test_each_link_opens_its_page_with_its_configuration(experiment):
    assert experiment.page in PAGES and (REPO / "dashboard" / "app_pages" / f"{experiment.page}.py").is_file()
    params = state.link_params(experiment.page, experiment.config, experiment.extras)
    defaults = state.page_defaults(experiment.page)
    if defaults is not None:
        config, warnings = state.decode(params, defaults, extra=state.PAGE_EXTRAS[experiment.page])
        assert warnings == [] and config == experiment.config
    else:  # Draw and Robustness take no configuration: their links name the models, which the card offers to train
        assert params == experiment.extras
        named = [key for name in ("run", "models") if name in params for key in params[name].split(",")]
        assert named == [needed.key() for needed in experiment.needs]
    assert set(params) <= {*state.full_params(experiment.config), *state.PAGE_EXTRAS[experiment.page]}


def test_pages_that_show_a_model_without_training_it_say_which_model_to_train():
    for experiment in EXPERIMENTS:
        if experiment.page in ("explorer", "draw", "robustness"):
            assert experiment.needs and all(needed.task == "mnist" for needed in experiment.needs), experiment.slug
            assert experiment.needs[0] == experiment.config  # the card's configuration is the (first) model shown
        else:  # Train and Decision boundaries train what they show
            assert experiment.needs == (), experiment.slug


def test_the_tutorial_lessons_are_on_the_path():
    configs = [experiment.config for experiment in EXPERIMENTS]
    assert PRESETS["seed001-cnn"].config in configs and PRESETS["seed001-cnn-regularized"].config in configs
    rates = {c.learning_rate for c in configs if c.task == "mnist"}
    assert max(rates) >= 0.3 and min(rates) <= 1e-4  # too high and too low
    assert any(c.task == "toy" and c.dataset == "xor" and c.layers == 0 for c in configs)
    assert any(c.task == "toy" and c.dataset == "blocks" for c in configs)
    assert {"training", "boundary", "explorer", "draw", "robustness"} == {experiment.page for experiment in EXPERIMENTS}


def test_the_robustness_card_compares_a_cnn_and_an_mlp_at_a_strength_the_page_accepts():
    experiment = next(experiment for experiment in EXPERIMENTS if experiment.page == "robustness")
    assert {needed.arch for needed in experiment.needs} == {"cnn", "mlp"}
    kind = PERTURBATIONS[experiment.extras["perturbation"]]  # an unknown name would be a warning on the page
    assert kind.minimum <= kind.check(experiment.extras["strength"]) <= kind.maximum
    assert set(experiment.extras) == set(state.PAGE_EXTRAS["robustness"])


def _page_sources(page: str) -> str:
    """The text of a page's script and of every project module it imports, directly or not."""
    seen, todo, texts = set(), [REPO / "dashboard" / "app_pages" / f"{page}.py"], []
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        text = path.read_text()
        texts.append(text)
        for node in ast.walk(ast.parse(text)):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            todo += [REPO / (name.replace(".", "/") + ".py") for name in names if name.split(".")[0] in ("core", "dashboard")]
    return "\n".join(texts)


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.slug)
def test_what_a_card_tells_the_student_to_press_is_on_its_page(experiment):
    """Every **bold** name in "what to look for" (a button, section, control or tab) is in the opened page's code;
    a number in it may be a placeholder there ("Train the 5 missing size(s)" is "Train the {count} missing size(s)")."""
    sources = _page_sources(experiment.page)
    for phrase in re.findall(r"\*\*(.+?)\*\*", experiment.look_for):
        pattern = re.sub(r"\d+", r"(\\d+|\\{\\w+\\})", re.escape(phrase))
        assert re.search(pattern, sources), f"{experiment.slug}: {phrase!r} is not on the {experiment.page} page"


def test_the_what_if_labs_on_the_train_page_have_cards():
    told = {phrase for experiment in EXPERIMENTS if experiment.page == "training"
            for phrase in re.findall(r"\*\*(.+?)\*\*", experiment.look_for)}
    assert {"Find a learning rate", "More data?"} <= told


def test_an_old_train_address_is_recognised_and_the_start_page_address_is_not():
    assert state.is_config_link({"layers": "3"}) and state.is_config_link({"compare": "0123456789abcdef"})
    assert not state.is_config_link({}) and not state.is_config_link({"utm": "x"})


def test_a_link_for_the_page_defaults_carries_every_field():
    params = state.link_params("training", state.page_defaults("training"))
    assert params == state.full_params(state.page_defaults("training"))
