"""The notice pages: the list and its unread count, marking read (only one's own), mail
preferences, the administrators' delivery status with a retry, and the development outbox."""

from __future__ import annotations

from sqlmodel import select

from backend import mail, notices
from backend.notices import NoticeDelivery, delivery
from tests.conftest import login

FAILED = delivery.failed_kind.name


def test_the_notice_list_and_its_unread_count_are_ones_own(client, session, make_user):
    me, other = make_user("employee"), make_user("employee")
    notices.tell(session, to=[me.id, other.id], kind=FAILED, key="x", link="/admin/notices")
    session.commit()
    mine = session.exec(select(notices.Notice).where(notices.Notice.user_id == me.id)).one()
    theirs = session.exec(select(notices.Notice).where(notices.Notice.user_id == other.id)).one()
    csrf = login(client, me.email)
    page = client.get("/notifications")
    assert page.status_code == 200
    assert "Some notices could not be sent by mail" in page.text
    assert 'id="header-notices"' in page.text and "1 unread notice" in page.text
    # Another person's notice is never marked through mine.
    client.post("/notifications/read", data={"notification_id": str(theirs.id), "csrf_token": csrf})
    session.expire_all()
    assert session.get(notices.Notice, theirs.id).read_at is None
    assert session.get(notices.Notice, mine.id).read_at is None
    answer = client.post(
        "/notifications/read",
        data={"notification_id": str(mine.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    session.expire_all()
    assert session.get(notices.Notice, mine.id).read_at is not None
    assert "0 unread notices" in client.get("/notifications").text
    # A form without its token changes nothing.
    assert client.post("/notifications/read", data={}).status_code == 403
    spanish = client.get("/notifications?lang=es").text
    assert "Algunos avisos no se pudieron enviar por correo" in spanish


def test_mail_preferences_are_saved_per_person(client, session, make_user):
    notices.kind("test.pages.optional", subject="Avisos", body="Avisos", label="Notices")
    me = make_user("employee")
    csrf = login(client, me.email)
    page = client.get("/account/notices")
    assert page.status_code == 200 and 'value="test.pages.optional"' in page.text
    assert FAILED not in page.text  # mandatory kinds are not offered
    client.post("/account/notices", data={"daily_digest": "on", "csrf_token": csrf})
    chosen = notices.preferences_for(session, user_id=me.id)
    assert chosen.daily_digest and chosen.by_email["test.pages.optional"] is False
    client.post("/account/notices", data={"by_email": "test.pages.optional", "csrf_token": csrf})
    chosen = notices.preferences_for(session, user_id=me.id)
    assert not chosen.daily_digest and chosen.by_email["test.pages.optional"] is True


def test_administrators_see_failed_mail_and_send_it_again(client, session, settings, make_user):
    admin, person = make_user("admin"), make_user("employee")
    notices.tell(session, to=[person.id], kind=FAILED, key="y")
    session.commit()
    row = session.exec(select(NoticeDelivery)).one()
    row.status, row.attempts, row.last_error = "failed", delivery.MAX_ATTEMPTS, "refused: SMTP 550"
    session.add(row)
    session.commit()
    csrf = login(client, admin.email)
    page = client.get("/admin/notices")
    assert page.status_code == 200
    assert person.email in page.text and "The mail server refused it (reply 550)." in page.text
    assert "refused: SMTP" not in page.text
    client.post("/admin/notices/retry", data={"delivery_id": str(row.id), "csrf_token": csrf})
    session.expire_all()
    row = session.get(NoticeDelivery, row.id)
    assert (row.status, row.attempts) == ("pending", 0)
    again = client.post(
        "/admin/notices/retry", data={"delivery_id": str(row.id), "csrf_token": csrf}
    )
    assert again.status_code == 409  # only failed mail is sent again
    client.cookies.clear()
    login(client, person.email)
    assert client.get("/admin/notices").status_code == 403


def test_the_outbox_page_lists_development_mail_and_is_gone_in_production(
    client, settings, make_user
):
    admin = make_user("admin")
    mail.send(settings, to="someone@example.org", subject="Prueba de salida", body="Hola\nmundo")
    login(client, admin.email)
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    assert "Prueba de salida" in page.text and "someone@example.org" in page.text
    assert "mundo" in page.text
    client.app.state.settings.environment = "production"
    try:
        assert client.get("/admin/outbox").status_code == 404
    finally:
        client.app.state.settings.environment = "test"
