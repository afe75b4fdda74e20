"""Appraisal pages and JSON: the journey over HTTP, authorization, bad input, panels."""

import pytest
from sqlmodel import func, select

from assessments.appraisals import service
from assessments.appraisals.models import (
    Appraisal,
    AppraisalAssessment,
    AppraisalDialogue,
    ManagerTraining,
    Objective,
    PlanPriority,
    Stage,
)
from tests.appraisals.helpers import (
    add_director,
    agree,
    appraisal_of,
    assess,
    open_cycle,
    plan,
    set_objectives,
    through_to_sign_off,
    train,
)
from tests.competency.helpers import principal_for
from tests.conftest import login


@pytest.fixture
def accounts(session, org, make_user):
    director = add_director(session, org)
    return {
        "director": make_user("employee", employee=director),
        "head": make_user("employee", employee=org.head),
        "a": make_user("employee", employee=org.officer_a),
        "b": make_user("employee", employee=org.officer_b),
        "outsider": make_user("employee", employee=org.outsider),
        "hr": make_user("hr_planner"),
        "admin": make_user("admin"),
        "director_employee": director,
    }


@pytest.fixture
def principals(session, accounts):
    return {k: principal_for(session, v) for k, v in accounts.items() if k != "director_employee"}


class People:
    def __init__(self, p, director):
        self.director, self.head, self.a, self.b = p["director"], p["head"], p["a"], p["b"]
        self.outsider, self.hr, self.director_employee = p["outsider"], p["hr"], director


@pytest.fixture
def people(principals, accounts):
    return People(principals, accounts["director_employee"])


@pytest.fixture
def priority(session, people):
    return plan(session, people.hr)


@pytest.fixture
def cycle(session, people, priority):
    return open_cycle(session, people.hr)


def sign_in(client, user) -> str:
    client.cookies.clear()
    return login(client, user.email)


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --- HR: plan, cycles, reminders ------------------------------------------------------------------


def test_hr_records_the_plan_and_opens_a_cycle_through_the_forms(client, session, org, accounts):
    csrf = sign_in(client, accounts["hr"])
    page = client.get("/appraisals/plan?year=2026")
    assert page.status_code == 200 and "No priorities recorded for this year." in page.text
    response = client.post(
        "/appraisals/plan/priorities",
        data={
            "year": "2026",
            "title": "Consolidated purchasing",
            "target": "80 % consolidated",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    priority = session.exec(select(PlanPriority)).one()
    response = client.post(
        "/appraisals/plan/unit-objectives",
        data={
            "unit_id": str(org.central.id),
            "priority_id": str(priority.id),
            "title": "Framework agreements",
            "target": "Five signed",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Framework agreements" in client.get("/appraisals/plan?year=2026").text
    form = {
        "name": "Annual 2026",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "plan_year": "2026",
        "subunits": "1",
        "trained": "1",
        "csrf_token": csrf,
    }
    response = client.post("/appraisals/cycles", data=form, follow_redirects=False)
    assert response.status_code == 303
    cycle_page = client.get(response.headers["location"])
    assert cycle_page.status_code == 200
    assert "Progress per unit (live)" in cycle_page.text and "No objectives yet" in cycle_page.text
    assert count(session, Appraisal) == 5
    # The same people again for an overlapping period: the form comes back with why and what
    # was typed, and nothing is created.
    clash = client.post("/appraisals/cycles", data={**form, "name": "Second 2026"})
    assert clash.status_code == 422
    assert "already have an appraisal in an open cycle" in clash.text
    assert 'value="Second 2026"' in clash.text
    assert count(session, Appraisal) == 5
    cycle = service.list_cycles(session)[0]
    response = client.post(
        f"/appraisals/cycles/{cycle.id}/remind", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "Reminders recorded" in response.text
    progress = client.get(f"/api/v1/appraisals/cycles/{cycle.id}/progress").json()
    assert progress["total"]["counts"]["objectives"] == 5


def test_a_priority_without_a_target_is_refused_with_the_form_kept(client, session, accounts):
    csrf = sign_in(client, accounts["hr"])
    response = client.post(
        "/appraisals/plan/priorities",
        data={"year": "2026", "title": "Faster tenders", "target": "", "csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "Give the priority a measurable target." in response.text
    assert 'value="Faster tenders"' in response.text
    assert count(session, PlanPriority) == 0


@pytest.mark.parametrize("year", ["1999", "not a year", "99999999", ""])
def test_a_refused_unit_objective_names_its_field_whatever_the_hidden_year(
    client, session, accounts, priority, year
):
    # The form's hidden `year` only says which plan to show again: a refusal shows the form
    # again (the priority's year, or the form itself when that year has no plan), by field.
    csrf = sign_in(client, accounts["hr"])
    response = client.post(
        "/appraisals/plan/unit-objectives",
        data={
            "unit_id": "",
            "priority_id": str(priority.id),
            "title": "Faster tenders",
            "target": "",
            "year": year,
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422
    assert 'href="#f-target"' in response.text and 'href="#f-unit_id"' in response.text
    assert 'value="Faster tenders"' in response.text


@pytest.mark.parametrize("number", ["8941794072092", str(2**63), "²", "٣"])
def test_ids_beyond_any_record_are_refused_by_field_not_by_the_database(
    client, session, accounts, priority, number
):
    # An id no record can have (beyond the 32-bit keys, or not ASCII digits) names no record:
    # the form says so by field, on both databases, instead of a database error's page.
    csrf = sign_in(client, accounts["hr"])
    response = client.post(
        "/appraisals/plan/unit-objectives",
        data={
            "unit_id": number,
            "priority_id": number,
            "title": "Faster tenders",
            "target": "Under 90 days",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422
    assert 'href="#f-unit_id"' in response.text and 'href="#f-priority_id"' in response.text
    response = client.post(
        "/appraisals/training",
        data={
            "employee_id": number,
            "completed_on": "2026-01-15",
            "evidence": "Cert",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422 and "Choose the supervisor who completed" in response.text


def test_a_cycle_without_a_plan_is_refused_in_spanish_too(client, session, accounts):
    csrf = sign_in(client, accounts["hr"])
    form = {
        "name": "2026",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "plan_year": "2026",
        "csrf_token": csrf,
    }
    response = client.post("/appraisals/cycles?lang=es", data=form)
    assert response.status_code == 422
    assert "no tiene prioridades" in response.text
    assert count(session, Appraisal) == 0


def test_an_employee_cannot_open_cycles_or_calibrate(client, session, accounts, priority):
    csrf = sign_in(client, accounts["a"])
    assert client.get("/appraisals/cycles").status_code == 403
    assert client.get("/appraisals/calibration").status_code == 403
    response = client.post(
        "/appraisals/cycles", data={"name": "x", "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 403
    assert count(session, Appraisal) == 0


# --- the journey over HTTP ------------------------------------------------------------------------


def test_objectives_weights_not_totalling_100_are_refused_and_nothing_changes(
    client, session, org, accounts, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    csrf = sign_in(client, accounts["head"])
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
    response = client.post(f"/appraisals/{appraisal.id}/objectives", data=form)
    # Refused: back on the appraisal page (a GET), the form as typed with its errors.
    assert response.status_code == 200 and response.url.path == f"/appraisals/{appraisal.id}"
    assert "The weights must total 100; they total 90." in response.text
    assert 'value="Market research"' in response.text
    assert count(session, Objective) == 0
    form["weight_1"] = "30"
    response = client.post(
        f"/appraisals/{appraisal.id}/objectives", data=form, follow_redirects=False
    )
    assert response.status_code == 303
    assert count(session, Objective) == 2


def test_a_supervisor_cannot_appraise_someone_outside_their_team(
    client, session, org, accounts, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.outsider)
    csrf = sign_in(client, accounts["head"])
    # The page is not found for them; posting is refused the same way, and nothing is written.
    assert client.get(f"/appraisals/{appraisal.id}").status_code == 404
    response = client.post(
        f"/appraisals/{appraisal.id}/objectives",
        data={
            "rows": "1",
            "title_0": "x",
            "measure_0": "y",
            "link_0": f"p:{priority.id}",
            "weight_0": "100",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 404
    assert count(session, Objective) == 0


def test_a_colleague_cannot_read_an_appraisal_by_changing_the_id(
    client, session, org, accounts, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    sign_in(client, accounts["b"])
    assert client.get(f"/appraisals/{appraisal.id}").status_code == 404
    assert client.get(f"/api/v1/appraisals/{appraisal.id}").status_code == 404
    assert client.get(f"/api/v1/appraisals/{appraisal.id}/assessments/self").status_code == 404
    own = appraisal_of(session, cycle, org.officer_b)
    page = client.get(f"/appraisals/{own.id}")
    assert page.status_code == 200
    assert f"<h1>Appraisal of {org.officer_b.full_name} <span" in page.text
    assert org.officer_a.full_name not in page.text


def test_the_other_sides_assessment_is_refused_before_both_are_in(
    client, session, org, accounts, people, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    assess(session, appraisal, people.head, 2)
    sign_in(client, accounts["a"])
    response = client.get(f"/api/v1/appraisals/{appraisal.id}/assessments/supervisor")
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("The two assessments are written blind")
    page = client.get(f"/appraisals/{appraisal.id}")
    assert "Both assessments, side by side" not in page.text
    assert "Earlier market research" not in page.text  # the supervisor's words stay hidden
    assert client.get(f"/api/v1/appraisals/{appraisal.id}/assessments/self").status_code == 200
    # Spanish error message too.
    response = client.get(f"/api/v1/appraisals/{appraisal.id}/assessments/supervisor?lang=es")
    assert "a ciegas" in response.json()["error"]["message"]


def test_the_whole_dialogue_over_http(client, session, org, accounts, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    # The employee agrees and submits the self-assessment through the forms.
    csrf = sign_in(client, accounts["a"])
    page = client.get(f"/appraisals/{appraisal.id}")
    assert "I agree to these objectives" in page.text
    assert (
        client.post(
            f"/appraisals/{appraisal.id}/objectives/agree",
            data={"csrf_token": csrf},
            follow_redirects=False,
        ).status_code
        == 303
    )
    objectives = service.objectives_of(session, appraisal)
    form = {f"rating_{o.id}": "4" for o in objectives} | {
        "achievements": "Closed the year's tenders",
        "to_improve": "Plan earlier",
        "action": "submit",
        "csrf_token": csrf,
    }
    response = client.post(
        f"/appraisals/{appraisal.id}/assessment", data=form, follow_redirects=False
    )
    assert response.status_code == 303
    # Submitted: a second submission is a conflict and changes nothing.
    form["achievements"] = "Changed my mind"
    assert client.post(f"/appraisals/{appraisal.id}/assessment", data=form).status_code == 409
    # The supervisor assesses; untrained, the dialogue is refused.
    csrf = sign_in(client, accounts["head"])
    form = {f"rating_{o.id}": "3" for o in objectives} | {
        "achievements": "Solid year",
        "action": "submit",
        "csrf_token": csrf,
    }
    client.post(f"/appraisals/{appraisal.id}/assessment", data=form, follow_redirects=False)
    page = client.get(f"/appraisals/{appraisal.id}")
    assert "Both assessments, side by side" in page.text
    assert "complete the appraisal-dialogue training" in page.text
    dialogue = {
        "held_on": "2026-11-20",
        "achievements": "Tenders closed",
        "barriers": "Platform outage",
        "support_needed": "Legal advice",
        "next_objectives": "Consolidated purchase",
        "action_rows": "1",
        "action_0": "Contract law course",
        "action_competency_0": "legal",
        "rating": "3",
        "reasons": "Met the objectives",
        "csrf_token": csrf,
    }
    response = client.post(f"/appraisals/{appraisal.id}/dialogue", data=dialogue)
    assert response.status_code == 403
    assert session.get(AppraisalDialogue, appraisal.id) is None
    train(session, org.head, people.hr)
    response = client.post(
        f"/appraisals/{appraisal.id}/dialogue", data=dialogue, follow_redirects=False
    )
    assert response.status_code == 303
    assert (
        client.post(
            f"/appraisals/{appraisal.id}/sign", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    # Signed: editing the record is a conflict.
    assert client.post(f"/appraisals/{appraisal.id}/dialogue", data=dialogue).status_code == 409
    # The employee disagrees without saying why: 422; then with a reason.
    csrf = sign_in(client, accounts["a"])
    response = client.post(
        f"/appraisals/{appraisal.id}/sign", data={"decision": "disagree", "csrf_token": csrf}
    )
    assert response.url.path == f"/appraisals/{appraisal.id}"
    assert "Say what you disagree with." in response.text
    response = client.post(
        f"/appraisals/{appraisal.id}/sign",
        data={"decision": "disagree", "disagreement": "The outage", "csrf_token": csrf},
        follow_redirects=True,
    )
    assert "sent to the second-level manager" in response.text
    session.refresh(appraisal)
    assert appraisal.stage == Stage.escalated
    # The director reviews.
    csrf = sign_in(client, accounts["director"])
    assert "Escalated to me" in client.get("/appraisals").text
    response = client.post(
        f"/appraisals/{appraisal.id}/review",
        data={"rating": "4", "reasons": "The outage explains it", "csrf_token": csrf},
        follow_redirects=True,
    )
    assert "the appraisal is completed" in response.text
    data = client.get(f"/api/v1/appraisals/{appraisal.id}").json()
    assert data["completed"] and data["final_rating"] == 4


def test_hr_sees_calibration_and_sends_an_appraisal_back(
    client, session, org, accounts, people, priority, cycle
):
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=5)
    csrf = sign_in(client, accounts["hr"])
    page = client.get(f"/appraisals/calibration?cycle={cycle.id}&supervisor={org.head.id}")
    assert page.status_code == 200
    assert org.officer_a.full_name in page.text and "Per supervisor" in page.text
    data = client.get(f"/api/v1/appraisals/calibration?cycle_id={cycle.id}").json()
    assert data["organisation"]["counts"]["5"] == 1
    response = client.post(
        f"/appraisals/{appraisal.id}/send-back", data={"reason": "", "csrf_token": csrf}
    )
    assert response.url.path == f"/appraisals/{appraisal.id}"
    assert "Say why the appraisal is sent back." in response.text
    response = client.post(
        f"/appraisals/{appraisal.id}/send-back",
        data={"reason": "Evidence for a 5?", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(appraisal)
    assert appraisal.sent_back_reason == "Evidence for a 5?"
    sign_in(client, accounts["head"])
    assert "Evidence for a 5?" in client.get(f"/appraisals/{appraisal.id}").text


def test_hr_records_a_supervisors_training(client, session, org, accounts, cycle):
    csrf = sign_in(client, accounts["hr"])
    page = client.get("/appraisals/training")
    assert org.head.full_name in page.text
    response = client.post(
        "/appraisals/training",
        data={
            "employee_id": str(org.head.id),
            "completed_on": "2026-02-01",
            "evidence": "",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422
    assert count(session, ManagerTraining) == 0
    response = client.post(
        "/appraisals/training",
        data={
            "employee_id": str(org.head.id),
            "completed_on": "2026-02-01",
            "evidence": "Certificate 118",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert service.is_trained(session, employee_id=org.head.id)


def test_a_locked_cycle_refuses_changes(client, session, org, accounts, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    service.complete_cycle(session, cycle=cycle, actor=people.hr)
    session.commit()
    csrf = sign_in(client, accounts["head"])
    page = client.get(f"/appraisals/{appraisal.id}")
    assert "completed and locked" in page.text and "Propose these objectives" not in page.text
    response = client.post(
        f"/appraisals/{appraisal.id}/objectives",
        data={
            "rows": "1",
            "title_0": "x",
            "measure_0": "y",
            "link_0": f"p:{priority.id}",
            "weight_0": "100",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 409
    assert count(session, Objective) == 0


def test_team_objectives_page_adds_one_for_the_unit(
    client, session, org, accounts, priority, cycle
):
    csrf = sign_in(client, accounts["head"])
    page = client.get("/appraisals/team")
    assert page.status_code == 200 and org.central.name in page.text
    response = client.post(
        "/appraisals/team-objectives",
        data={
            "cycle_id": str(cycle.id),
            "unit_id": str(org.central.id),
            "link": "",
            "title": "Annual plan on time",
            "measure": "By 31 January",
            "weight": "20",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422 and "Choose the unit or organisation objective" in (
        response.text
    )
    response = client.post(
        "/appraisals/team-objectives",
        data={
            "cycle_id": str(cycle.id),
            "unit_id": str(org.central.id),
            "link": f"p:{priority.id}",
            "title": "Annual plan on time",
            "measure": "By 31 January",
            "weight": "20",
            "csrf_token": csrf,
        },
        follow_redirects=True,
    )
    assert "Annual plan on time" in response.text
    assert count(session, Objective) == 4
    # A supervisor elsewhere cannot add one to this unit.
    csrf = sign_in(client, accounts["outsider"])
    response = client.post(
        "/appraisals/team-objectives",
        data={
            "cycle_id": str(cycle.id),
            "unit_id": str(org.central.id),
            "link": f"p:{priority.id}",
            "title": "x",
            "measure": "y",
            "weight": "20",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 403


# --- dashboard panels -----------------------------------------------------------------------------


def test_dashboard_panels_for_employee_supervisor_and_hr(
    client, session, org, accounts, people, priority, cycle
):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    service.remind(session, cycle=cycle, actor=people.hr)
    session.commit()
    sign_in(client, accounts["a"])
    home = client.get("/")
    assert "My appraisal" in home.text
    assert "Read the proposed objectives and agree to them." in home.text
    assert "Agree your objectives" in home.text  # HR's reminder, shown in the app
    sign_in(client, accounts["head"])
    home = client.get("/")
    assert "Agree objectives with the people who report to you" in home.text
    assert "My team&#39;s appraisals" in home.text or "My team's appraisals" in home.text
    assert "Complete the appraisal-dialogue training" in home.text
    sign_in(client, accounts["hr"])
    home = client.get("/")
    assert "Appraisal cycles" in home.text and "0 of 5 completed" in home.text


def test_pages_render_in_spanish(client, session, org, accounts, people, priority, cycle):
    appraisal = through_to_sign_off(session, cycle, people, org, priority)
    sign_in(client, accounts["head"])
    page = client.get(f"/appraisals/{appraisal.id}?lang=es")
    assert page.status_code == 200 and "Diálogo" in page.text
    sign_in(client, accounts["hr"])
    # Each HR page: its Spanish heading, and Spanish in what it lists.
    spanish = {
        "/appraisals/cycles": ("<h1>Ciclos de evaluación</h1>", ">Abrir un ciclo</h2>"),
        f"/appraisals/cycles/{cycle.id}": (
            "<h1>2026</h1>",
            '<th scope="col" class="num">Autoevaluación pendiente</th>',
        ),
        "/appraisals/calibration": ("<h1>Calibración</h1>", 'title="Supera lo esperado"'),
        "/appraisals/training": (
            "<h1>Mandos capacitados</h1>",
            ">Superiores sin la capacitación</h2>",
        ),
        "/appraisals/plan": (
            "<h1>El plan de la organización para 2026</h1>",
            ">Prioridades y metas</h2>",
        ),
        "/appraisals": ("<h1>Evaluaciones</h1>", '<html lang="es"'),
    }
    for path, needles in spanish.items():
        page = client.get(path + "?lang=es")
        assert page.status_code == 200, path
        for needle in needles:
            assert needle in page.text, (path, needle)


def test_the_scale_and_promotion_evidence_over_the_api(
    client, session, org, accounts, people, priority, cycle
):
    sign_in(client, accounts["a"])
    scale = client.get("/api/v1/appraisals/scale").json()
    assert [r["rating"] for r in scale] == [1, 2, 3, 4, 5]
    assert scale[0]["label"]["en"] == "Does not meet expectations"
    assert scale[0]["label"]["es"] != scale[0]["label"]["en"]
    evidence_url = f"/api/v1/appraisals/employees/{org.officer_a.id}/promotion-evidence"
    assert client.get(evidence_url).status_code == 403
    appraisal = through_to_sign_off(session, cycle, people, org, priority, rating=4)
    service.sign(session, appraisal=appraisal, actor=people.head)
    service.sign(session, appraisal=appraisal, actor=people.a)
    session.commit()
    sign_in(client, accounts["hr"])
    data = client.get(evidence_url).json()
    assert data["latest_rating"] == 4 and len(data["competencies"]) == 13
    assert client.get("/api/v1/appraisals/employees/999999/promotion-evidence").status_code == 404


def test_assessment_drafts_stay_private(client, session, org, accounts, people, priority, cycle):
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, people.head, priority)
    agree(session, appraisal, people.a)
    csrf = sign_in(client, accounts["a"])
    objectives = service.objectives_of(session, appraisal)
    response = client.post(
        f"/appraisals/{appraisal.id}/assessment",
        data={
            f"rating_{objectives[0].id}": "5",
            "achievements": "Draft words",
            "action": "draft",
            "csrf_token": csrf,
        },
        follow_redirects=True,
    )
    assert "Your draft was saved" in response.text
    row = session.exec(select(AppraisalAssessment)).one()
    assert row.submitted_at is None
    sign_in(client, accounts["head"])
    assert "Draft words" not in client.get(f"/appraisals/{appraisal.id}").text
    assert client.get(f"/api/v1/appraisals/{appraisal.id}/assessments/self").status_code == 403
