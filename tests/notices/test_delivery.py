"""The notice service's mail: a real SMTP server (aiosmtpd), languages, preferences, digests,
retries with backoff, no duplicate after a restart, several workers at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from backend import audit, clock, notices
from backend.i18n import N_
from backend.notices import delivery
from backend.notices.models import NoticeDelivery
from tests.smtp_helpers import local_smtp, use_smtp

PUBLIC = "https://merito.example.org"
FAILED = delivery.failed_kind.name  # mandatory, translated into both languages

notices.kind(
    "test.optional",
    subject=N_("Some notices could not be sent by mail"),
    body=N_("Sign in to see them:"),
    label=N_("Mail that could not be delivered"),
)


@pytest.fixture
def smtp(settings):
    settings.public_url = PUBLIC
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)
        yield inbox


def _statuses(session) -> list[tuple[str, int]]:
    session.expire_all()
    rows = session.exec(select(NoticeDelivery).order_by(NoticeDelivery.id)).all()
    return [(row.status, row.attempts) for row in rows]


def test_a_notice_is_mailed_once_in_each_recipients_language(session, settings, smtp, make_user):
    english = make_user(locale="en")
    spanish = make_user(locale="es")
    gone = make_user(locale="en")
    gone.is_active = False
    session.add(gone)
    session.commit()
    told = notices.tell(
        session,
        to=[english.id, spanish.id, gone.id, 999999],
        kind=FAILED,
        key="k1",
        link="/admin/notices",
    )
    assert told == 2
    # The same (kind, key, person) is told once, however often the caller says it.
    assert notices.tell(session, to=[english.id, spanish.id], kind=FAILED, key="k1") == 0
    session.commit()
    run = notices.deliver(session, settings)
    assert (run.sent, run.failed) == (2, 0)
    by_address = {str(m["To"]): m for m in smtp.messages}
    en, es = by_address[english.email], by_address[spanish.email]
    assert en["Subject"] == "Some notices could not be sent by mail"
    assert es["Subject"] == "Algunos avisos no se pudieron enviar por correo"
    assert f"{PUBLIC}/admin/notices" in en.get_content()
    assert "Ábralo en Mérito" in es.get_content()
    assert notices.deliver(session, settings).sent == 0  # nothing is sent twice
    assert len(smtp.messages) == 2
    actions = session.exec(select(audit.AuditEntry.action)).all()
    assert actions.count("notice.mailed") == 2
    # In-app: each person's list and unread count.
    assert notices.unread_count(session, user_id=english.id) == 1
    assert notices.mark_read(session, user_id=spanish.id, notice_id=None) == 1
    assert notices.unread_count(session, user_id=english.id) == 1
    # What the notices were about is deleted: they go, with their mail.
    assert notices.forget(session, link="/admin") == 2
    assert session.exec(select(NoticeDelivery)).all() == []


def test_preferences_and_the_daily_digest(session, settings, smtp, make_user):
    quiet, digest, plain = make_user(), make_user(), make_user()
    notices.set_preferences(session, user_id=quiet.id, by_email=set(), daily_digest=False)
    notices.set_preferences(
        session, user_id=digest.id, by_email={"test.optional", "test.secret"}, daily_digest=True
    )
    assert notices.preferences_for(session, user_id=quiet.id).by_email["test.optional"] is False
    everyone = [quiet.id, digest.id, plain.id]
    notices.tell(session, to=everyone, kind="test.optional", key="a")
    notices.tell(session, to=everyone, kind="test.optional", key="b")
    notices.tell(session, to=everyone, kind=FAILED, key="c")  # mandatory: ignores preferences
    notices.tell(session, to=[digest.id], kind="test.secret", key="d")  # in the digest: no content
    session.commit()
    notices.deliver(session, settings)
    to = sorted(str(m["To"]) for m in smtp.messages)
    # plain: a, b, c; quiet: c only; digest: c now, a and b in the digest.
    assert to == sorted([plain.email] * 3 + [quiet.email, digest.email])
    assert notices.send_digests(session, settings).sent == 3
    summary = smtp.messages[-1]
    assert str(summary["To"]) == digest.email
    assert "You have 3 new notices in Mérito" in summary.get_content()
    assert "Something in Mérito needs your attention" in summary.get_content()
    assert "Gloves" not in summary.as_string()
    assert notices.unread_count(session, user_id=quiet.id) == 3  # in-app always


notices.kind(
    "test.secret",
    subject="Gloves invoiced twice",
    body="Gloves invoiced twice",
    confidential=True,
    label="Gloves",
)


class Refusing:
    """An SMTP handler that refuses the first `refusals` messages (451), then accepts."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Try again later"
        self.accepted.append(envelope)
        return "250 OK"


def test_a_refused_mail_is_retried_with_backoff(session, settings, make_user):
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    handler = Refusing(refusals=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller)
        person = make_user()
        notices.tell(session, to=[person.id], kind=FAILED, key="retry")
        session.commit()
        start = clock.now()
        with clock.frozen(start):
            run = notices.deliver(session, settings)
            assert (run.sent, run.retried) == (0, 1)
            row = session.exec(select(NoticeDelivery)).one()
            assert row.status == "pending" and row.attempts == 1
            assert row.last_error == "refused: SMTP 451"  # what failed, never what it said
            assert notices.deliver(session, settings).sent == 0  # not due yet
        with clock.frozen(start + delivery.backoff(1)):
            assert notices.deliver(session, settings).retried == 1
        assert delivery.backoff(2) == 2 * delivery.backoff(1)
        with clock.frozen(start + delivery.backoff(1) + delivery.backoff(2)):
            assert notices.deliver(session, settings).sent == 1
        assert len(handler.accepted) == 1
        assert _statuses(session) == [("sent", 2)]
    finally:
        controller.stop()


def test_a_server_that_is_down_leaves_the_mail_queued(session, settings, make_user):
    from tests.conftest import free_port

    settings.smtp_host, settings.smtp_port, settings.smtp_starttls = "127.0.0.1", free_port(), False
    person = make_user()
    notices.tell(session, to=[person.id], kind=FAILED, key="down")
    session.commit()
    run = notices.deliver(session, settings)
    assert run.retried == 1
    row = session.exec(select(NoticeDelivery)).one()
    assert row.status == "pending" and row.last_error.startswith("connection failed")


def test_no_duplicate_after_a_worker_restart(engine, session, settings, smtp, make_user):
    people = [make_user() for _ in range(3)]
    notices.tell(session, to=[p.id for p in people], kind=FAILED, key="restart")
    session.commit()
    start = clock.now()
    with clock.frozen(start):
        # A worker claims the batch and dies before sending anything.
        with Session(engine) as dying:
            token, ids = delivery.claim(dying, digest=False)
        assert len(ids) == 3
        # Another worker finds nothing to do while the claim holds.
        assert notices.deliver(session, settings).sent == 0
    with clock.frozen(start + delivery.LEASE + timedelta(seconds=1)):
        assert notices.deliver(session, settings).sent == 3
    # A restarted worker (a new engine, new sessions) sends nothing again.
    from backend.db import make_engine

    fresh = make_engine(settings.database_url)
    try:
        with Session(fresh) as again:
            assert notices.deliver(again, settings).sent == 0
    finally:
        fresh.dispose()
    assert len(smtp.messages) == 3


def test_several_workers_send_each_notice_once(engine, session, settings, smtp, make_user):
    people = [make_user() for _ in range(12)]
    for n in range(5):
        notices.tell(session, to=[p.id for p in people], kind=FAILED, key=f"many:{n}")
    session.commit()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker() -> None:
        try:
            with Session(engine) as own:
                barrier.wait(timeout=10)
                own_run = delivery.Run()
                while True:  # small batches, so the workers interleave
                    token, ids = delivery.claim(own, digest=False, limit=5)
                    if not ids:
                        break
                    delivery._send_batch(own, settings, token, ids, own_run)
                results.append(own_run.sent)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(results) == 60
    ids = [str(m["Message-ID"]) for m in smtp.messages]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert {status for status, _n in _statuses(session)} == {"sent"}


def test_merito_notices_send_mails_what_is_due(monkeypatch, session, settings, smtp, make_user):
    from typer.testing import CliRunner

    from backend.cli import app as cli
    from backend.config import get_settings

    for name, value in {
        "MERITO_DATABASE_URL": settings.database_url,
        "MERITO_DATA_DIR": str(settings.data_dir),
        "MERITO_SECRET_KEY": settings.secret_key.get_secret_value(),
        "MERITO_ENVIRONMENT": "test",
        "MERITO_SMTP_HOST": settings.smtp_host,
        "MERITO_SMTP_PORT": str(settings.smtp_port),
        "MERITO_SMTP_STARTTLS": "false",
        "MERITO_PUBLIC_URL": PUBLIC,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        person = make_user()
        notices.tell(session, to=[person.id], kind=FAILED, key="cli")
        session.commit()
        result = CliRunner().invoke(cli, ["notices", "send", "--digest"])
        assert result.exit_code == 0, result.output
        assert "Mail: 1 sent" in result.output and "Digests: 0 sent" in result.output
        assert [str(m["To"]) for m in smtp.messages] == [person.email]
    finally:
        get_settings.cache_clear()
