"""core/audit.py: one JSON line per destructive action, safe with concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core import audit
from tests.helpers import REPO


def test_a_line_has_time_action_keys_session_and_mode(cache_dir):
    assert audit.tail() == []
    audit.record("delete-runs", ["0123456789abcdef"], session="s1", mode="shared", role="admin")
    audit.record("restore", ["run--0123456789abcdef--1700000000000"], session="s1", mode="shared", role="admin")
    (line,) = audit.tail(1)
    assert line["action"] == "restore"
    first = json.loads((cache_dir / "audit.log").read_text().splitlines()[0])
    assert set(first) == {"time", "action", "keys", "session", "mode", "role"}
    assert first["keys"] == ["0123456789abcdef"] and first["mode"] == "shared" and first["session"] == "s1"
    assert [line["action"] for line in audit.tail(5)] == ["restore", "delete-runs"]


def test_a_torn_line_is_skipped(cache_dir):
    audit.record("delete-runs", ["a"], session="s", mode="personal")
    with open(cache_dir / "audit.log", "a") as handle:
        handle.write('{"action": "half')
    audit.record("delete-runs", ["b"], session="s", mode="personal")
    assert [line["keys"] for line in audit.tail(5)] == [["b"], ["a"]]


# The writers import core.audit only (not TensorFlow): they start fast and really overlap.
WRITER = """
import sys
from core import audit
for index in range(int(sys.argv[2])):
    audit.record("delete-runs", [f"{sys.argv[1]}-{index}"], session=sys.argv[1], mode="shared", detail="x" * 200, root=sys.argv[3])
"""


def test_the_log_survives_concurrent_writers(cache_dir):
    writers, lines_each = 4, 150
    env = dict(os.environ, NEURAL_LAB_CACHE_DIR=str(cache_dir))
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}", str(lines_each), str(cache_dir)], cwd=REPO, env=env)
                 for n in range(writers)]
    for process in processes:
        assert process.wait(300) == 0
    lines = [json.loads(raw) for raw in (cache_dir / "audit.log").read_text().splitlines()]  # every line parses
    assert len(lines) == writers * lines_each
    for n in range(writers):
        mine = [line["keys"][0] for line in lines if line["session"] == f"w{n}"]
        assert mine == [f"w{n}-{index}" for index in range(lines_each)]  # each writer's lines whole and in order
