"""`merito serve --port N` (and `merito up --port N`): mail links follow the address served on."""

from __future__ import annotations

from backend import cli
from backend.config import Settings, get_settings


def test_the_port_given_on_the_command_line_is_the_one_mail_links_use(monkeypatch, tmp_path):
    database = tmp_path / "merito.db"
    monkeypatch.setenv("MERITO_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MERITO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MERITO_PUBLIC_URL", raising=False)
    # Set through monkeypatch so that what `serve` writes there is undone after the test.
    monkeypatch.setenv("MERITO_HOST", "127.0.0.1")
    monkeypatch.setenv("MERITO_PORT", "8000")
    get_settings.cache_clear()
    served: dict = {}
    monkeypatch.setattr("backend.migrate.ensure_migrated", lambda engine: None)
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options))
    try:
        cli.serve(host="127.0.0.1", port=8123, workers=1)
        # What a worker process reads when it builds its settings from the environment.
        assert Settings().public_base_url() == "http://127.0.0.1:8123"
        assert served["port"] == 8123
    finally:
        get_settings.cache_clear()
