"""A new domain is its package plus one line in the plugin list (docs/adding-a-domain.md).

`tests/example_domain` registers a route (page, form and JSON), a table, an event subscriber,
a job, a command, a catalogue, templates and a reference-data hook. It is installed by naming
it in MERITO_PLUGINS after the built-in domains, in a process of its own so that its table and
routes never reach the rest of the suite, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend import plugins

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_domain_works_from_one_line_in_the_plugin_list(database_url, tmp_path):
    env = {
        **os.environ,
        "MERITO_PLUGINS": ",".join([*plugins.INSTALLED, "tests.example_domain.plugin"]),
        "EXAMPLE_DATABASE_URL": database_url,
    }
    run = subprocess.run(
        [sys.executable, "-m", "tests.example_domain.drive", str(tmp_path / "data")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "example domain: ok" in run.stdout
