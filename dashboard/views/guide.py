"""Sections of the start page: what Neural Lab is, a picture per page, the learning path as cards.

Each card opens its page with its configuration through an ordinary link (st.page_link with query
parameters), so the same address can be shared. Which cards are done is kept in st.session_state
for this browser session only: no account, no cookie of our own. No TensorFlow here: the start page
must appear fast on a cold server.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from core.config import RunConfig
from core.learning_path import Experiment
from dashboard import state

REPO = Path(__file__).resolve().parents[2]
PAGES_DIR = REPO / "dashboard" / "app_pages"
DOCS = REPO / "docs"
URL_PATHS = {
    "training": "train", "boundary": "boundary", "explorer": "explorer", "draw": "draw", "inside": "inside",
    "robustness": "robustness", "runs": "runs",
}
OPEN_LABEL = "Open the experiment"
DONE_KEY = "learning_path_done"  # slugs of the cards checked as done in this session (a set)

# page file stem -> (title, icon, picture in docs/, what the page is for)
PAGE_TOUR: dict[str, tuple[str, str, str, str]] = {
    "training": ("Train", ":material/model_training:", "train.png",
                 "Pick hyperparameters, train on handwritten digits, watch the learning curves live."),
    "boundary": ("Decision boundaries", ":material/scatter_plot:", "boundary.png",
                 "A small network on 2-D points: see the boundary it draws form, neuron by neuron."),
    "explorer": ("Misclassified digits", ":material/search:", "explorer.png",
                 "Every mistake of a trained network, how sure it was, and which pixels misled it."),
    "draw": ("Draw a digit", ":material/draw:", "draw.png",
             "Draw with the mouse; the network reads it after every stroke."),
    "inside": ("Inside the network", ":material/hub:", "inside.png",
               "What each layer of a trained network does to one digit."),
    "robustness": ("Robustness", ":material/shield:", "robustness.png",
                   "Tilt, blur, move or attack the test digits: which trained model still reads them?"),
    "runs": ("Runs", ":material/table_view:", "runs.png",
             "Every model trained so far, by anyone: open, compare or delete them."),
}


def page_file(page: str) -> str:
    """The path st.page_link / st.switch_page take for a page (relative to dashboard/app.py)."""
    return f"app_pages/{page}.py"


def link_to_page(page_path: str, label: str, icon: str, **kwargs) -> None:
    """st.page_link to another page, drawn only where it resolves: a page run on its own (AppTest of one page
    file) has no navigation, and a missing link must not cost the page its message."""
    try:
        st.page_link(page_path, label=label, icon=icon, **kwargs)
    except Exception:  # noqa: BLE001 - Streamlit raises a plain exception for a page it does not know
        pass


def page_exists(page: str) -> bool:
    return (PAGES_DIR / f"{page}.py").is_file()


def experiment_params(experiment: Experiment) -> dict[str, str]:
    """The query parameters of an experiment's link."""
    return state.link_params(experiment.page, experiment.config, experiment.extras)


def needs_label(experiment: Experiment, needed: RunConfig) -> str:
    """The label of a card's link to train a model its page needs (naming the model when there are several)."""
    if len(experiment.needs) == 1:
        return "Its model not trained yet? Train it first"
    archs = [config.arch for config in experiment.needs]
    name = needed.arch.upper() if archs.count(needed.arch) == 1 else needed.describe()
    return f"Its {name} not trained yet? Train it first"


def render_intro() -> None:
    """What Neural Lab is, in three sentences."""
    st.title("Neural Lab")
    st.markdown(
        "Neural Lab is a laboratory for neural networks: you change a network's settings, train it in seconds, and see "
        "what it learnt. Everything runs on real handwritten digits (MNIST) and on small 2-D puzzles, and every model "
        "anyone trains is kept, so it loads at once the next time. Start with the learning path below: each card asks "
        "one question, opens the right page set up to answer it, and tells you what to look for."
    )


def render_page_tour(per_row: int = 3) -> None:
    """A picture and a link per page, `per_row` to a row."""
    st.subheader("The pages")
    pages = [page for page in PAGE_TOUR if page_exists(page)]
    for row_start in range(0, len(pages), per_row):
        columns = st.columns(per_row, gap="medium")
        for column, page in zip(columns, pages[row_start:row_start + per_row], strict=False):
            title, icon, picture, blurb = PAGE_TOUR[page]
            with column:
                if (DOCS / picture).is_file():
                    st.image(str(DOCS / picture), width="stretch")
                st.page_link(page_file(page), label=f"**{title}**", icon=icon, help=blurb)
                st.caption(blurb)


def app_address() -> str:
    """The app's own address as the browser sees it (scheme, host, base path), '' when unknown (AppTest)."""
    url = (st.context.url or "").split("?")[0].split("#")[0].rstrip("/")
    return url.removesuffix("/start")


def shareable_address(page: str, params: dict[str, str]) -> str:
    """The full address of a page with parameters, for a teacher to copy."""
    query = urlencode(params)
    return f"{app_address()}/{URL_PATHS[page]}{'?' + query if query else ''}"


def done() -> set[str]:
    """The slugs of the cards checked in this session (kept in st.session_state, which outlives page changes)."""
    return st.session_state.setdefault(DONE_KEY, set())


def _toggle(slug: str, widget_key: str) -> None:
    checked = st.session_state[widget_key]
    (done().add if checked else done().discard)(slug)


def render_progress(experiments: list[Experiment]) -> None:
    """How many cards are done, as a bar."""
    finished = len(done() & {experiment.slug for experiment in experiments})
    st.subheader("Learning path")
    st.progress(
        finished / len(experiments) if experiments else 0.0,
        text=f"{finished} of {len(experiments)} experiments done in this session (kept while this tab is open; nothing "
        "is stored about you).",
    )


def render_card(experiment: Experiment, number: int) -> None:
    """One experiment: question, the link that opens it, what to look for, the explanation to reveal, done."""
    with st.container(border=True):
        st.caption(f"Experiment {number} · {experiment.title}")
        st.markdown(f"#### {experiment.question}")
        title, icon, _, _ = PAGE_TOUR[experiment.page]
        params = experiment_params(experiment)
        links = st.columns([2, 1], vertical_alignment="center")
        links[0].page_link(
            page_file(experiment.page), label=f"**{OPEN_LABEL}**", icon=icon, query_params=params,
            help=f"Opens {title} with this experiment's settings (the address bar then holds them).",
        )
        with links[1].popover("Share", icon=":material/share:", help="The address of this experiment, to send to students."):
            st.caption("Students who open this address get the same page with the same settings:")
            st.code(shareable_address(experiment.page, params), language=None, wrap_lines=True)
        if page_exists("training"):
            for needed in experiment.needs:
                st.page_link(
                    page_file("training"), label=needs_label(experiment, needed), icon=":material/model_training:",
                    query_params=state.link_params("training", needed),
                    help=f"This page shows a trained model ({needed.describe()}) but does not train one. If it says the "
                    "model is missing, train it here (press Train / load), then come back. Try: train it, then open the "
                    "experiment again.",
                )
        st.markdown(f"**What to look for:** {experiment.look_for}")
        with st.expander("Explanation (read it after you tried)", icon=":material/lightbulb:"):
            st.markdown(experiment.explanation)
        widget_key = f"learning_path_done:{experiment.slug}"
        st.session_state[widget_key] = experiment.slug in done()  # seeded from the set: widget state dies with the page
        st.checkbox(
            "Done", key=widget_key, on_change=_toggle, args=(experiment.slug, widget_key),
            help="Tick it when you have tried this one; the bar above counts them. Kept for this browser session.",
        )


def render_path(experiments: list[Experiment]) -> None:
    """The cards, two per row."""
    for row_start in range(0, len(experiments), 2):
        columns = st.columns(2, gap="medium")
        for offset, (column, experiment) in enumerate(zip(columns, experiments[row_start:row_start + 2], strict=False)):
            with column:
                render_card(experiment, row_start + offset + 1)
