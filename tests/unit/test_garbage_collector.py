"""The serving process's garbage collector settings (backend.app.settle_garbage_collector)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from backend.app import YOUNG_GENERATION_SIZE, settle_garbage_collector


class _Node:
    me: object = None


def test_settling_freezes_what_is_loaded_and_enlarges_the_young_generation():
    threshold = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 10_000  # the modules and objects loaded by now
        assert gc.get_threshold() == (YOUNG_GENERATION_SIZE, *threshold[1:])
        # A cycle made afterwards is still found and freed.
        node = _Node()
        node.me = node
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_the_served_app_settles_the_collector_once_loaded(tmp_path):
    """`uvicorn backend.asgi:app` loads the app, then settles the collector."""
    database = f"sqlite:///{tmp_path / 'merito.db'}"
    environment = {
        "MERITO_DATABASE_URL": database,
        "MERITO_DATA_DIR": str(tmp_path),
        "MERITO_SECRET_KEY": "x" * 48,
        "MERITO_SCHEDULER": "false",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "backend.cli", "migrate"], env=environment, check=True
    )
    probe = (
        "import gc; import backend.asgi as a; "
        "print(gc.get_freeze_count() > 10_000, gc.get_threshold()[0])"
    )
    shown = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-c", probe],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert shown == ["True", str(YOUNG_GENERATION_SIZE)]
