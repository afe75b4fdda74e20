"""Reasonable adjustments and equal-opportunity answers never reach the panel or the sift.

Two proofs: the panel's and the sift's modules and templates do not reach the fairness code
(a module boundary, checked on the source), and the pages a panel member opens, walked after a
candidate's adjustment was granted and monitoring answered, show none of it. The candidate's
and HR's pages, through the forms, are checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

from assessments.vacancies import service
from assessments.vacancies.models import Stage
from tests.vacancies import helpers
from tests.vacancies.test_routes import sign_in

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "assessments" / "vacancies"
TEMPLATES = ROOT / "frontend" / "templates" / "vacancies"
# What the panel and the sift run on: none may reach adjustments or monitoring.
PANEL_SIDE = [
    PACKAGE / "routes" / "panel.py",
    PACKAGE / "routes" / "api.py",
    PACKAGE / "service" / "panel.py",
    PACKAGE / "service" / "scoring.py",
    PACKAGE / "service" / "conflicts.py",
    PACKAGE / "service" / "merit.py",
    *TEMPLATES.glob("panel_*.html"),
    TEMPLATES / "score.html",
    TEMPLATES / "declarations.html",
]
FAIRNESS_WORDS = re.compile(
    r"adjustment|monitoring|MonitoringResponse|granted_minutes|test_format", re.I
)
DETAILS = "Marker-7731: I have low vision since 2019."
REASON = "Marker-8842 granted on the ophthalmologist's report."


def test_the_panel_side_does_not_reach_the_fairness_code():
    for path in PANEL_SIDE:
        assert path.exists(), path
        assert not FAIRNESS_WORDS.search(path.read_text(encoding="utf-8")), path
    # Only the monitoring service reads the monitoring table.
    readers = [
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "MonitoringResponse" in p.read_text(encoding="utf-8")
    ]
    assert sorted(readers) == [
        "assessments/vacancies/models.py",
        "assessments/vacancies/service/monitoring.py",
    ]
    readers = [
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "AdjustmentRequest" in p.read_text(encoding="utf-8")
    ]
    # And the domain's privacy part: the person's data export, and blanking what the
    # candidate wrote when an unsuccessful application is anonymised.
    assert sorted(readers) == [
        "assessments/vacancies/models.py",
        "assessments/vacancies/privacy.py",
        "assessments/vacancies/service/adjustments.py",
    ]


def test_the_forms_work_and_the_panel_pages_show_none_of_it(
    client, session, settings, fake_clock, published, org
):
    comp = published
    vacancy = comp.vacancy
    x = helpers.external_candidate(session, settings)
    y = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    apps = {}
    for name, user in (("x", x), ("y", y)):
        apps[name] = helpers.apply(session, settings, vacancy, user)
        comp.candidates[name] = (user, apps[name])

    # The candidate asks through the form; a bad value keeps what was typed.
    csrf = sign_in(client, x.email, helpers.TEST_PASSWORD + "x")
    page = f"/applications/{apps['x'].id}/adjustments"
    assert "Ask for reasonable adjustments" in client.get(f"/applications/{apps['x'].id}").text
    bad = client.post(
        page,
        data={"csrf_token": csrf, "kinds": ["extra_time"], "extra_minutes": "9999"},
        follow_redirects=False,
    )
    assert bad.status_code == 303
    shown = client.get(page).text
    assert "Give between 1 and 600 minutes." in shown and 'value="9999"' in shown
    sent = client.post(
        page,
        data={
            "csrf_token": csrf,
            "kinds": ["extra_time", "large_print", "screen_reader"],
            "extra_minutes": "20",
            "details": DETAILS,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    answered = client.post(
        f"/applications/{apps['x'].id}/monitoring",
        data={"csrf_token": csrf, "sex": "woman", "age_band": "from_40", "disability": "yes"},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert (
        "you answered the optional questionnaire" in client.get(answered.headers["location"]).text
    )
    # Someone else's application is not found.
    assert client.get(f"/applications/{apps['y'].id}/adjustments").status_code == 404

    # HR decides through the form.
    csrf = sign_in(client, comp.hr.email)
    listing = client.get(f"/competitions/{vacancy.id}/adjustments")
    assert DETAILS in listing.text
    request = service.adjustment_of(session, apps["x"])
    decided = client.post(
        f"/competitions/{vacancy.id}/adjustments/{request.id}/decide",
        data={"csrf_token": csrf, "decision": "granted", "reason": REASON},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    session.expire_all()
    assert service.granted_minutes(session, apps["x"]) == 20
    stats = client.get(f"/competitions/{vacancy.id}/statistics")
    assert stats.status_code == 200 and "Larger print" in stats.text
    assert "fewer than 5" in stats.text  # two applicants: every row is suppressed

    # The test runs with the granted format; then the panel works on the sift.
    helpers.close_window(session, settings, fake_clock, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=comp.hr)
    session.commit()
    csrf = sign_in(client, x.email, helpers.TEST_PASSWORD + "x")
    client.post(f"/applications/{apps['x'].id}/test/start", data={"csrf_token": csrf})
    test_page = client.get(f"/applications/{apps['x'].id}/test").text
    assert "test-large-print" in test_page and "20 extra minutes" in test_page
    # The screen-reader format: questions one after another, no answer-by-answer announcements.
    assert "test-screen-reader" in test_page and "hx-post" not in test_page
    session.expire_all()
    helpers.take_test(session, apps["y"], y, 5)
    attempt = service.attempt_of(session, apps["x"])
    answers = dict.fromkeys(attempt.question_ids, 0)  # every answer right (option 0 in the bank)
    service.submit(session, attempt=attempt, user=x, answers=answers)
    fake_clock.advance(minutes=60)
    service.close_test(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    for seat in comp.panel.members:
        helpers.declare_none(session, vacancy, seat)
    helpers.score_all(session, vacancy, Stage.sift, comp.panel.members[1], apps["y"], 3)
    member = comp.panel.members[1]
    sign_in(client, member.email)
    pages = [
        "/panel",
        f"/panel/{vacancy.id}",
        f"/panel/{vacancy.id}/declarations",
        f"/panel/{vacancy.id}/{Stage.sift}/{apps['x'].id}",
        f"/panel/{vacancy.id}/{Stage.sift}/{apps['y'].id}",
    ]
    seen = 0
    for path in pages:
        response = client.get(path)
        if response.status_code == 200:
            seen += 1
        for secret in (DETAILS, REASON, "Marker-", "Larger print", "extra minutes", "adjust"):
            assert secret not in response.text, (path, secret)
    assert seen >= 4
    for path in (
        f"/competitions/{vacancy.id}/adjustments",
        f"/competitions/{vacancy.id}/statistics",
    ):
        assert client.get(path).status_code == 403
