"""README's two set-up commands stay true: CI runs the test command, the app command runs the app."""

from __future__ import annotations

from tests.helpers import REPO


def _first_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_starts_with_the_app_and_test_commands():
    app, test = _first_block()[:2]
    assert app.endswith("streamlit run dashboard/app.py") and "pip install -r requirements.txt" in app
    assert test == "bash scripts/test.sh"


def test_ci_runs_the_readme_test_command():
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert _first_block()[1] in ci


def test_test_script_lints_and_runs_pytest():
    script = (REPO / "scripts" / "test.sh").read_text()
    assert "ruff check ." in script and "pytest" in script and "apt-get install" in script
