"""The learning path (core/learning_path.py): every card opens an existing page with a configuration
that survives the trip through its link, and the path covers the tutorials' lessons."""

from __future__ import annotations

import pytest

from core.learning_path import BY_SLUG, EXPERIMENTS, PAGES
from core.presets import PRESETS
from dashboard import state
from tests.helpers import REPO


def test_the_path_has_eight_to_twelve_distinct_cards():
    assert 8 <= len(EXPERIMENTS) <= 12
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
    else:  # the Draw page takes no configuration: its link names the model
        assert params == {"run": experiment.needs.key()}
    assert set(params) <= {*state.full_params(experiment.config), *state.PAGE_EXTRAS[experiment.page]}


def test_pages_that_show_a_model_without_training_it_say_which_model_to_train():
    for experiment in EXPERIMENTS:
        if experiment.page in ("explorer", "draw"):
            assert experiment.needs is not None and experiment.needs.task == "mnist", experiment.slug
            if experiment.page == "explorer":
                assert experiment.needs == experiment.config  # the Explorer opens the model the card trains


def test_the_tutorial_lessons_are_on_the_path():
    configs = [experiment.config for experiment in EXPERIMENTS]
    assert PRESETS["seed001-cnn"].config in configs and PRESETS["seed001-cnn-regularized"].config in configs
    rates = {c.learning_rate for c in configs if c.task == "mnist"}
    assert max(rates) >= 0.3 and min(rates) <= 1e-4  # too high and too low
    assert any(c.task == "toy" and c.dataset == "xor" and c.layers == 0 for c in configs)
    assert any(c.task == "toy" and c.dataset == "blocks" for c in configs)
    assert {"training", "boundary", "explorer", "draw"} == {experiment.page for experiment in EXPERIMENTS}


def test_an_old_train_address_is_recognised_and_the_start_page_address_is_not():
    assert state.is_config_link({"layers": "3"}) and state.is_config_link({"compare": "0123456789abcdef"})
    assert not state.is_config_link({}) and not state.is_config_link({"utm": "x"})


def test_a_link_for_the_page_defaults_carries_every_field():
    params = state.link_params("training", state.page_defaults("training"))
    assert params == state.full_params(state.page_defaults("training"))
