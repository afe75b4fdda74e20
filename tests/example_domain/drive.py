"""Run by tests/integration/test_example_domain.py in a process of its own, with
MERITO_PLUGINS naming the installed domains plus `tests.example_domain.plugin`: everything the
example registers must work through the core's ordinary paths, and nothing else is set up."""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, func, select
from typer.testing import CliRunner

from backend import clock, i18n, jobs, plugins
from backend.app import create_app
from backend.audit import AuditEntry
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import load_reference_data


def main(url: str, data_dir: Path) -> None:
    assert plugins.installed()[-1].name == "example", plugins.installed()
    import backend.models  # noqa: F401 - the core imports every plugin's models
    from tests.example_domain.models import ExampleNote

    assert "example_note" in SQLModel.metadata.tables
    engine = make_engine(url)
    # A real domain ships a migration for its table; the example's is created here so that
    # the product's migration chain does not carry a test table.
    SQLModel.metadata.create_all(engine, tables=[ExampleNote.__table__])
    load_reference_data(engine)  # the plugin's reference-data hook: the welcome note
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=data_dir,
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        fast_password_hashing=True,
        scheduler=False,
        warm_caches=False,
    )
    assert "tests.example_domain" in i18n.catalogue_packages()
    client = TestClient(create_app(settings), base_url="http://testserver")

    page = client.get("/example", headers={"Accept-Language": "es"})
    assert page.status_code == 200, page.text
    assert "Notas de ejemplo" in page.text and "1 nota en el tablero." in page.text
    assert "Bienvenida" in page.text
    english = client.get("/example?lang=en")
    assert "Example notes" in english.text and "1 note on the board." in english.text

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = client.post("/example/notes", data={"csrf_token": token, "text": "   "})
    assert refused.status_code == 422 and "Escriba primero la nota." in refused.text
    added = client.post(
        "/example/notes", data={"csrf_token": token, "text": "Hola"}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == "/example", added.text
    assert "2 notas en el tablero." in client.get("/example").text

    missing = client.get("/example/notes/999", headers={"Accept-Language": "es"})
    assert missing.status_code == 404 and "Esta nota no existe." in missing.text
    api = client.get("/api/v1/example/notes/999", headers={"Accept-Language": "en"})
    assert api.status_code == 404
    assert api.json() == {
        "error": {"status": 404, "code": "not_found", "message": "This note does not exist."}
    }
    assert client.get("/api/v1/example/notes/1").json() == {"id": 1, "text": "Bienvenida"}

    with Session(engine) as session:
        audited = session.exec(
            select(func.count()).where(AuditEntry.action == "example.note_added")
        ).one()
    assert audited == 2, audited  # the subscriber saw the welcome note and "Hola"

    assert jobs.run_due(engine, settings, force=True)["example.tidy"] == "0 old notes removed"
    with clock.frozen(clock.now() + timedelta(days=31)):
        assert jobs.run_due(engine, settings, force=True)["example.tidy"] == "2 old notes removed"

    from backend.cli import app as cli

    result = CliRunner().invoke(cli, ["example", "count"], env={"MERITO_DATABASE_URL": url})
    assert result.exit_code == 0 and result.output.strip() == "0 notes", result.output
    print("example domain: ok")


if __name__ == "__main__":
    main(os.environ["EXAMPLE_DATABASE_URL"], Path(sys.argv[1]))
