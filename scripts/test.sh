#!/usr/bin/env bash
# Installs what the tests need (venv, Python packages, Debian chromium), then lints and runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests…"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements-dev.txt
# Ray (the distributed sweep engine) is optional for users but tested for real here.
if [ -f requirements-ray.txt ]; then .venv/bin/pip install -q -r requirements-ray.txt; fi
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
