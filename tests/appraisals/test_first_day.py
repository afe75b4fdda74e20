"""Defects found walking the first day (issue #13): the stage badge once objectives are
proposed, and refused appraisal forms that left the browser on a URL only a POST can open."""

from __future__ import annotations

from sqlmodel import func, select

from assessments.appraisals.models import Objective
from tests.appraisals.helpers import (
    add_director,
    appraisal_of,
    open_cycle,
    plan,
    set_objectives,
)
from tests.competency.helpers import principal_for
from tests.conftest import login


def _world(session, org, make_user):
    add_director(session, org)
    head = make_user("employee", employee=org.head)
    officer = make_user("employee", employee=org.officer_a)
    hr = principal_for(session, make_user("hr_planner"))
    priority = plan(session, hr)
    cycle = open_cycle(session, hr)
    return head, officer, priority, appraisal_of(session, cycle, org.officer_a)


def test_the_badge_says_the_objectives_are_proposed_once_they_are(client, session, org, make_user):
    head, officer, priority, appraisal = _world(session, org, make_user)
    login(client, officer.email)
    assert "No objectives yet" in client.get(f"/appraisals/{appraisal.id}").text
    set_objectives(session, appraisal, principal_for(session, head), priority)
    for path in (f"/appraisals/{appraisal.id}", "/appraisals", "/"):
        page = client.get(path).text
        assert "Objectives awaiting agreement" in page, path
        assert "No objectives yet" not in page, path
    client.cookies.clear()
    login(client, head.email)
    # The team list: officer a's set is proposed, officer b's not yet.
    team = client.get("/appraisals").text
    assert team.count("Objectives awaiting agreement") == 1 and "No objectives yet" in team
    spanish = client.get(f"/appraisals/{appraisal.id}?lang=es").text
    assert "Objetivos por aceptar" in spanish and "Sin objetivos aún" not in spanish


def test_a_refused_objectives_form_comes_back_on_the_appraisal_page_as_typed(
    client, session, org, make_user
):
    head, _officer, priority, appraisal = _world(session, org, make_user)
    csrf = login(client, head.email)
    form = {
        "rows": "2",
        "title_0": "Tenders on time",
        "measure_0": "90 % within the legal terms",
        "link_0": f"p:{priority.id}",
        "weight_0": "70",
        "title_1": "Market research",
        "measure_1": "Three quotes per purchase",
        "link_1": f"p:{priority.id}",
        "weight_1": "20",
        "csrf_token": csrf,
    }
    response = client.post(
        f"/appraisals/{appraisal.id}/objectives", data=form, follow_redirects=False
    )
    # Back to the page a reload can open again (GET), never left on the POST-only URL.
    assert response.status_code == 303
    assert response.headers["location"] == f"/appraisals/{appraisal.id}#objectives"
    page = client.get(f"/appraisals/{appraisal.id}")
    assert page.status_code == 200
    assert "The weights must total 100; they total 90." in page.text
    assert 'value="Market research"' in page.text and 'value="20"' in page.text
    assert session.exec(select(func.count()).select_from(Objective)).one() == 0
    # Shown once: reloading the page again shows the plain form.
    again = client.get(f"/appraisals/{appraisal.id}").text
    assert "The weights must total 100" not in again and 'value="Market research"' not in again
    # A kept form never turns up as a message on another page.
    client.post(f"/appraisals/{appraisal.id}/objectives", data=form, follow_redirects=False)
    other = client.get("/appraisals").text
    assert "The weights must total 100" not in other
    assert "The weights must total 100" not in client.get(f"/appraisals/{appraisal.id}").text


def test_a_refused_signature_comes_back_on_the_appraisal_page(client, session, org, make_user):
    from tests.appraisals.helpers import agree, assess, record_dialogue, train

    head, officer, priority, appraisal = _world(session, org, make_user)
    head_p, officer_p = principal_for(session, head), principal_for(session, officer)
    set_objectives(session, appraisal, head_p, priority)
    agree(session, appraisal, officer_p)
    assess(session, appraisal, officer_p, 4)
    assess(session, appraisal, head_p, 3)
    hr = principal_for(session, make_user("hr_planner"))
    train(session, org.head, hr)
    record_dialogue(session, appraisal, head_p)
    from assessments.appraisals import service

    service.sign(session, appraisal=appraisal, actor=head_p, disagree=False, disagreement="")
    session.commit()
    csrf = login(client, officer.email)
    response = client.post(
        f"/appraisals/{appraisal.id}/sign",
        data={"decision": "disagree", "disagreement": "", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/appraisals/{appraisal.id}#sign"
    page = client.get(f"/appraisals/{appraisal.id}").text
    assert "Say what you disagree with." in page
    assert 'id="f-decision-disagree" checked' in page
