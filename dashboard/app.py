"""Neural Lab: `streamlit run dashboard/app.py`. Page setup and navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from core.jobs import runner

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
# (file, title, icon, url path); the first is the landing page.
PAGES = [
    ("start.py", "Start here", ":material/school:", ""),
    ("training.py", "Train", ":material/model_training:", "train"),
    ("boundary.py", "Decision boundaries", ":material/scatter_plot:", "boundary"),
    ("explorer.py", "Misclassified digits", ":material/search:", "explorer"),
    ("draw.py", "Draw a digit", ":material/draw:", "draw"),
    ("inside.py", "Inside the network", ":material/hub:", "inside"),
    ("robustness.py", "Robustness", ":material/shield:", "robustness"),
    ("runs.py", "Runs", ":material/table_view:", "runs"),
]

st.set_page_config(page_title="Neural Lab", page_icon="🧠", layout="wide")
# The first visit starts the training workers (they import TensorFlow while the user reads the page),
# so nobody's first training waits ~8 s for imports.
runner()  # before this process imports TensorFlow itself: the workers' imports and ours overlap
pages = [
    st.Page(str(PAGES_DIR / file), title=title, icon=icon, url_path=url_path or None, default=index == 0)
    for index, (file, title, icon, url_path) in enumerate(PAGES)
    if (PAGES_DIR / file).exists()
]
st.navigation(pages).run()


def _after_the_first_page() -> None:
    """Freeze the heap once a page has imported TensorFlow (the start page does not: it stays fast)."""
    if "tensorflow" not in sys.modules:
        return
    from dashboard.resources import freeze_heap

    freeze_heap()


_after_the_first_page()
