"""360° feedback over HTTP: answering once (also when posted at once), who reads the results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from assessments.appraisals.models import FeedbackAnswer, FeedbackInvitation
from backend.auth import service as auth_service
from backend.deps import SESSION_COOKIE, cookie_name
from tests.appraisals.feedback_helpers import ITEMS, answer, row_of, world_fixture  # noqa: F401
from tests.browser.conftest import LiveServer

SIMULTANEOUS = 10


def _signed_in(app, session, settings, principal) -> tuple[dict[str, str], str]:
    """Return the headers of a signed-in session of `principal` and its CSRF token."""
    token, row = auth_service.start_session(session, settings, user=principal.user)
    row.pending_second_factor = False  # HR passed its second factor (tested elsewhere)
    session.add(row)
    session.commit()
    name = cookie_name(settings, SESSION_COOKIE)
    return {"Cookie": f"{name}={token}"}, row.csrf_token


def _client(app, session, settings, principal) -> tuple[TestClient, str]:
    headers, csrf = _signed_in(app, session, settings, principal)
    client = TestClient(app, base_url="http://testserver", headers=headers)
    return client, csrf


def _answers(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(FeedbackAnswer)).one()


def test_a_rater_answers_through_the_form_once(app, session, settings, world):
    rater = world.raters[0]
    invitation = row_of(session, world, rater).invitation
    client, csrf = _client(app, session, settings, rater)
    listing = client.get("/appraisals/feedback")
    assert listing.status_code == 200 and "Lucia Mendez" in listing.text
    page = f"/appraisals/feedback/{invitation.id}"
    assert client.get(page).status_code == 200
    half = {"csrf_token": csrf, f"item_{ITEMS[0]}": "4", "comment": "Clear priorities"}
    refused = client.post(page, data=half, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == page
    again = client.get(page).text
    assert f'id="e-item_{ITEMS[1]}"' in again and "Clear priorities" in again
    assert _answers(session) == 0
    whole = {**half, f"item_{ITEMS[1]}": "5"}
    assert client.post(page, data=whole, follow_redirects=False).status_code == 303
    assert client.post(page, data=whole, follow_redirects=False).status_code == 409
    assert _answers(session) == 1


def test_nobody_reads_another_persons_feedback(app, session, settings, world):
    appraisal = world.head_appraisal.id
    api = f"/api/v1/appraisals/{appraisal}/feedback"
    rater, _csrf = _client(app, session, settings, world.raters[0])
    assert rater.get(f"/appraisals/{appraisal}").status_code == 404
    assert rater.get(api).status_code == 404
    hr, _csrf = _client(app, session, settings, world.hr)
    refused = hr.get(api)
    assert refused.status_code == 403 and refused.json()["error"]["status"] == 403
    assert "feedback-results" not in hr.get(f"/appraisals/{appraisal}").text
    mine = row_of(session, world, world.raters[0]).invitation.id
    for intruder in (world.raters[1], world.head, world.outsider):
        other, _csrf = _client(app, session, settings, intruder)
        assert other.get(f"/appraisals/feedback/{mine}").status_code == 404
    # The appraisee reads nothing at four answers and the pooled view at five.
    head, _csrf = _client(app, session, settings, world.head)
    for principal in world.raters[:4]:
        answer(session, world, principal)
    assert head.get(api).json()["shown"] == 0
    assert "feedback-results" not in head.get(f"/appraisals/{appraisal}").text
    answer(session, world, world.raters[4])
    body = head.get(api).json()
    assert body["shown"] == 5 and body["items"][0]["count"] == 5
    assert "feedback-results" in head.get(f"/appraisals/{appraisal}").text


@pytest.mark.races
def test_simultaneous_answers_at_a_live_server_are_counted_once(app, session, settings, world):
    rater = world.raters[0]
    invitation = row_of(session, world, rater).invitation
    headers, csrf = _signed_in(app, session, settings, rater)
    data = {"csrf_token": csrf, **{f"item_{code}": "3" for code in ITEMS}}
    server = LiveServer(app)
    server.start()
    try:

        def post(_n: int) -> int:
            return httpx.post(
                f"{server.url}/appraisals/feedback/{invitation.id}",
                data=data,
                headers=headers,
                timeout=30,
            ).status_code

        with ThreadPoolExecutor(max_workers=SIMULTANEOUS) as pool:
            statuses = list(pool.map(post, range(SIMULTANEOUS)))
    finally:
        server.stop()
    assert sorted(statuses) == [303] + [409] * (SIMULTANEOUS - 1)
    assert _answers(session) == 1
    assert session.get(FeedbackInvitation, invitation.id).answered
