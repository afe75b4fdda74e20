"""Object-level authorization, table-driven: one person's records are not another's to read or
change by putting a different id or reference in the address (issue #9, "Hostile input").

The route × role matrix (test_authorization_matrix.py) proves that each role reaches only the
routes its permissions allow. This file proves the next layer: among the people who may use a
route, each reaches only their own objects. Every row says what is tried, whose object it is,
who tries, and the answer expected:

- 404 where the intruder may not see the object at all (someone else's appraisal, profile,
  plan, enrolment, application, a case or complaint not given to them): the answer is the one
  an unknown id gets, so ids and references cannot be probed;
- 403 where the intruder legitimately knows the object but this act is not theirs (a panel
  member and a published competition they do not sit on, a candidate they declared a conflict
  with, the other side of a blind assessment, a role that the route does not admit).

Every row is proved able to fail: the owner (or the person entitled to it) opens the object
first and must get 200, so a wrong address cannot pass as a refusal. A refused request must
write nothing: the number of rows of every table is the same before and after it. The rules are
listed in docs/security.md, "Object-level access rules".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from backend import clock
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from tests.conftest import TEST_PASSWORD, login

# --- the runner -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intrusion:
    """One row of a table: what is tried, whose it is, who tries, what they must get."""

    what: str
    owner: str
    intruder: str
    method: str
    url: str
    expected: int
    form: dict[str, Any] | None = None
    json: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    # A GET that `proof_by` (default: the owner) must open with 200: the object exists and the
    # address is right, so the refusal is about who asks.
    proof: str | None = None
    proof_by: str | None = None
    # Text that must not appear in the intruder's answer (whatever its status).
    hidden: str | None = None

    def __str__(self) -> str:
        return f"{self.what} (owner {self.owner}, intruder {self.intruder})"


@dataclass
class Persona:
    cookies: dict[str, str]
    csrf: str
    # The CSRF token goes in a header (JSON, anonymous reporter pages) or a form field.
    reporter: bool = False


@dataclass
class Personas:
    client: Any
    people: dict[str, Persona] = field(default_factory=dict)

    def sign_in(self, name: str, email: str, password: str = TEST_PASSWORD) -> None:
        self.client.cookies.clear()
        csrf = login(self.client, email, password)
        self.people[name] = Persona(dict(self.client.cookies), csrf)

    def reporter(self, name: str, receipt: str) -> None:
        """Open a receipt session (the anonymous side of the reporting channel)."""
        from tests.reporting_helpers import anon_token

        self.client.cookies.clear()
        response = self.client.post(
            "/report/follow-up",
            data={"receipt": receipt, "csrf_token": anon_token(self.client)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.people[name] = Persona(
            dict(self.client.cookies), anon_token(self.client), reporter=True
        )

    def use(self, name: str) -> Persona:
        persona = self.people[name]
        self.client.cookies.clear()
        self.client.cookies.update(persona.cookies)
        return persona


def table_sizes(engine) -> dict[str, int]:
    """Return the number of rows of every table (a refused request must change none)."""
    import backend.models  # noqa: F401 - every model module, so metadata knows every table

    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def attempt(personas: Personas, row: Intrusion):
    persona = personas.use(row.intruder)
    client = personas.client
    if row.method == "GET":
        return client.get(row.url, follow_redirects=False)
    headers = {"Accept-Language": "en"}
    if row.json is not None:
        headers["X-CSRF-Token"] = persona.csrf
        return client.request(
            row.method, row.url, json=row.json, headers=headers, follow_redirects=False
        )
    data = {**(row.form or {}), "csrf_token": persona.csrf}
    return client.request(
        row.method,
        row.url,
        data=data,
        files=row.files,
        headers=headers,
        follow_redirects=False,
    )


def said(response) -> str:
    """Return what an answer says, briefly: the JSON error's message or the page's lead."""
    import re

    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json().get("error", response.json()))[:200]
    lead = re.search(r'<p class="lead">(.*?)</p>', response.text, re.S)
    return (lead.group(1).strip() if lead else response.text[:120]).replace("\n", " ")


def run(personas: Personas, rows: list[Intrusion]) -> None:
    """Try every row; fail with the list of rows whose answer was not the expected one."""
    engine = personas.client.app.state.engine
    failures: list[str] = []
    for row in rows:
        proof = row.proof or (row.url if row.method == "GET" else None)
        if proof is not None:
            personas.use(row.proof_by or row.owner)
            shown = personas.client.get(proof, follow_redirects=False)
            if shown.status_code != 200:
                failures.append(f"{row}: proof GET {proof} gave {shown.status_code}, not 200")
                continue
        before = table_sizes(engine)
        response = attempt(personas, row)
        if response.status_code != row.expected:
            failures.append(
                f"{row}: {row.method} {row.url} gave {response.status_code}, "
                f"not {row.expected}: {said(response)!r}"
            )
        if row.hidden and row.hidden in response.text:
            failures.append(f"{row}: the answer shows {row.hidden!r}")
        after = table_sizes(engine)
        changed = {
            name: (before[name], after[name]) for name in before if before[name] != after[name]
        }
        # A refusal writes nothing; a page shown (a case read) may be audited.
        if changed and row.expected >= 400:
            failures.append(f"{row}: rows were written: {changed}")
    personas.client.cookies.clear()
    assert failures == [], "\n".join(failures)
    assert rows


# --- shared builders --------------------------------------------------------------------------


def report_to(session, org, number: str, first: str, last: str, supervisor) -> object:
    """Create an employee in the delegation reporting to `supervisor` (and commit)."""
    employee = org_service.create_employee(
        session,
        EmployeeInput(
            number=number,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}@example.org",
            unit_id=org.delegation.id,
            supervisor_id=supervisor.id,
            hire_date=date(2018, 5, 2),
        ),
    )
    session.commit()
    return employee


@pytest.fixture
def staff(session, org, make_user):
    """Accounts around the `org` fixture; the outsider supervises Carla, so they hold the
    supervisor role, for someone who is not officer a or b."""
    carla = report_to(session, org, "E005", "Carla", "Nunez", org.outsider)
    return {
        "a": make_user("employee", employee=org.officer_a),
        "b": make_user("employee", employee=org.officer_b),
        "head": make_user("employee", employee=org.head),
        "outsider": make_user("employee", employee=org.outsider),
        "hr": make_user("hr_planner"),
        "carla": carla,
    }


def sign_in_all(client, accounts: dict[str, Any]) -> Personas:
    """Sign in every account of `accounts` (other entries, like employees, are skipped)."""
    from backend.auth.models import User

    personas = Personas(client)
    for name, user in accounts.items():
        if isinstance(user, User):
            personas.sign_in(name, user.email)
    return personas


# --- appraisals -------------------------------------------------------------------------------


def test_appraisals_are_for_the_person_and_their_supervisors_only(client, session, org, staff):
    from assessments.appraisals import service
    from tests.appraisals.helpers import (
        agree,
        appraisal_of,
        assess,
        open_cycle,
        plan,
        set_objectives,
    )
    from tests.competency.helpers import principal_for

    hr, head, a = (principal_for(session, staff[k]) for k in ("hr", "head", "a"))
    priority = plan(session, hr)
    cycle = open_cycle(session, hr)
    appraisal = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, appraisal, head, priority)
    agree(session, appraisal, a)
    assess(session, appraisal, a, 4, submit=False)  # drafts on both sides: still blind
    assess(session, appraisal, head, 3, submit=False)
    objective = service.objectives_of(session, appraisal)[0]
    team, _joined = service.add_team_objective(
        session,
        cycle=cycle,
        unit_id=org.central.id,
        link=f"p:{priority.id}",
        title="Halve the tender backlog",
        measure="Open tenders at year end",
        weight=20,
        actor=head,
    )
    session.commit()
    personas = sign_in_all(client, staff)
    page = f"/appraisals/{appraisal.id}"
    api = f"/api/v1/appraisals/{appraisal.id}"
    rows = [
        Intrusion("read another employee's appraisal", "a", "b", "GET", page, 404),
        Intrusion("read it through the API", "a", "b", "GET", api, 404),
        Intrusion(
            "read another employee's self-assessment",
            "a",
            "b",
            "GET",
            f"{api}/assessments/self",
            404,
        ),
        Intrusion(
            "write another employee's self-assessment",
            "a",
            "b",
            "POST",
            f"{page}/assessment",
            404,
            form={"achievements": "Mine now", f"rating_{objective.id}": "5", "action": "save"},
            proof=page,
        ),
        Intrusion(
            "agree to another employee's objectives",
            "a",
            "b",
            "POST",
            f"{page}/objectives/agree",
            404,
            proof=page,
        ),
        Intrusion(
            "record progress on another employee's objective",
            "a",
            "b",
            "POST",
            f"{page}/progress",
            404,
            form={"objective_id": objective.id, "percent": "90", "note": "done"},
            proof=page,
        ),
        Intrusion(
            "sign another employee's appraisal", "a", "b", "POST", f"{page}/sign", 404, proof=page
        ),
        Intrusion(
            "read the appraisal of someone who is not one's report",
            "a",
            "outsider",
            "GET",
            page,
            404,
        ),
        Intrusion(
            "set objectives for someone who is not one's report",
            "a",
            "outsider",
            "POST",
            f"{page}/objectives",
            404,
            form={
                "title_0": "Obey",
                "measure_0": "Always",
                "weight_0": "100",
                "link_0": f"p:{priority.id}",
            },
            proof=page,
        ),
        Intrusion(
            "hold the dialogue with someone who is not one's report",
            "a",
            "outsider",
            "POST",
            f"{page}/dialogue",
            404,
            form={"held_on": "2026-11-20", "rating": "1", "reasons": "Because"},
            proof=page,
        ),
        Intrusion(
            "review an appraisal escalated to someone else",
            "a",
            "outsider",
            "POST",
            f"{page}/review",
            404,
            form={"rating": "1", "reasons": "Because"},
            proof=page,
        ),
        Intrusion(
            "read the supervisor's assessment before both are submitted (blind)",
            "a",
            "a",
            "GET",
            f"{api}/assessments/supervisor",
            403,
            proof=f"{api}/assessments/supervisor",
            proof_by="head",
        ),
        Intrusion(
            "read the employee's draft self-assessment as their supervisor (blind)",
            "a",
            "head",
            "GET",
            f"{api}/assessments/self",
            403,
            proof=f"{api}/assessments/self",
            proof_by="a",
        ),
        Intrusion(
            "record progress on a team objective of another unit",
            "head",
            "outsider",
            "POST",
            f"/appraisals/team-objectives/{team.id}/progress",
            404,
            form={"percent": "50", "note": "half"},
            proof="/appraisals/team",
            proof_by="head",
        ),
    ]
    run(personas, rows)


# --- competencies -----------------------------------------------------------------------------


def test_competency_records_are_for_the_person_their_supervisor_and_hr_only(
    client, session, org, staff
):
    from competency_framework import service
    from tests.competency.helpers import principal_for, self_assess

    self_assess(session, org.officer_a, principal_for(session, staff["a"]), {"legal": 2})
    entry = next(iter(service.pending_self_entries(session, employee_id=org.officer_a.id).values()))
    personas = sign_in_all(client, staff)
    person = f"/competencies/people/{org.officer_a.id}"
    api = f"/api/v1/competencies/people/{org.officer_a.id}"
    validation = f"/competencies/validation/{org.officer_a.id}"
    rating = {"competency": "legal", "level": "4", "source": "supervisor", "note": "Trust me"}
    rows = [
        Intrusion("read another employee's gap profile", "a", "b", "GET", person, 404),
        Intrusion("export it", "a", "b", "GET", f"{person}?format=csv", 404),
        Intrusion("read it through the API", "a", "b", "GET", api, 404),
        Intrusion(
            "read another employee's rating timeline",
            "a",
            "b",
            "GET",
            f"{person}/history/legal",
            404,
        ),
        Intrusion("read the rating log through the API", "a", "b", "GET", f"{api}/ratings", 404),
        Intrusion(
            "read the gap profile of someone who is not one's report",
            "a",
            "outsider",
            "GET",
            person,
            404,
        ),
        Intrusion(
            "open the validation form of someone who is not one's report",
            "a",
            "outsider",
            "GET",
            validation,
            404,
            proof_by="head",
        ),
        Intrusion(
            "validate the self-assessment of someone who is not one's report",
            "a",
            "outsider",
            "POST",
            validation,
            404,
            form={f"decision_{entry.id}": "agree", f"self_{entry.id}": "2"},
            proof=validation,
            proof_by="head",
        ),
        Intrusion(
            "validate it through the API",
            "a",
            "outsider",
            "POST",
            f"/api/v1/competencies/validation/{org.officer_a.id}",
            404,
            json={"decisions": [{"entry_id": entry.id, "level": 2}]},
            proof=validation,
            proof_by="head",
        ),
        Intrusion(
            "rate someone who is not one's report",
            "a",
            "outsider",
            "POST",
            f"{person}/ratings",
            404,
            form=rating,
            proof=person,
        ),
        Intrusion(
            "rate them through the API",
            "a",
            "outsider",
            "POST",
            f"{api}/ratings",
            404,
            json={**rating, "level": 4},
            proof=person,
        ),
        Intrusion(
            "record an assessment-centre rating of one's own report (HR's to record)",
            "a",
            "head",
            "POST",
            f"{api}/ratings",
            403,
            json={**rating, "level": 4, "source": "assessment"},
            proof=person,
        ),
    ]
    run(personas, rows)


# --- training ---------------------------------------------------------------------------------


def test_training_plans_and_evidence_are_for_the_learner_their_supervisor_and_hr_only(
    client, session, settings, org, staff, make_user
):
    from competency_framework.training import service
    from tests.training.helpers import activity, principal_for, rate, session_of, small_catalogue
    from tests.training.test_service import OFFICER_LEVELS, PDF

    catalogue = small_catalogue(session)
    hr = principal_for(session, staff["hr"])
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    year = service.plan_year(session.info["settings"])
    service.propose_plan(session, employee=org.officer_a, actor=hr, year=year)
    session.commit()
    item = service.plan_view(session, employee=org.officer_a, year=year).lines[0].item
    course = activity(session, "records", {"legal": (0, 2)}, evidence="certificate")
    seat = session_of(session, course, capacity=10)
    later = session_of(session, catalogue["negotiation"], capacity=10)
    done = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=None
    )
    session.commit()
    service.complete(
        session,
        settings,
        enrolment=done,
        actor=principal_for(session, staff["a"]),
        certificate=service.Certificate("constancia.pdf", "application/pdf", PDF),
    )
    service.forget_written_files(session)
    open_seat = service.enrol_employee(
        session, training_session_id=later.id, employee=org.officer_a, actor=None
    )
    session.commit()
    supplier = service.create_supplier_learner(
        session,
        settings,
        full_name="Laura Rios",
        email="laura@proveedora.example",
        organisation="Proveedora Medica del Norte",
        password="un-proveedor-aprende-compranet",
        actor=hr,
    )
    session.commit()
    personas = sign_in_all(client, staff)
    personas.sign_in("supplier", supplier.email, "un-proveedor-aprende-compranet")
    plan_api = f"/api/v1/training/people/{org.officer_a.id}/plan"
    person = f"/training/people/{org.officer_a.id}"
    certificate = f"/training/enrolments/{done.id}/certificate"
    completion = f"/training/enrolments/{open_seat.id}/complete"
    rows = [
        Intrusion("read another employee's training plan", "a", "b", "GET", plan_api, 404),
        Intrusion(
            "propose a plan for another employee",
            "a",
            "b",
            "POST",
            f"{person}/plan/propose",
            404,
            form={"year": year},
            proof=plan_api,
        ),
        Intrusion(
            "add an activity to another employee's plan",
            "a",
            "b",
            "POST",
            f"{person}/plan/items",
            404,
            form={"activity": "negotiation", "year": year},
            proof=plan_api,
        ),
        Intrusion(
            "submit another employee's plan",
            "a",
            "b",
            "POST",
            f"{person}/plan/submit",
            404,
            form={"year": year},
            proof=plan_api,
        ),
        Intrusion(
            "take an activity out of another employee's plan",
            "a",
            "b",
            "POST",
            f"/training/items/{item.id}/remove",
            404,
            proof=plan_api,
        ),
        Intrusion(
            "enrol another employee in a session",
            "a",
            "b",
            "POST",
            f"/training/sessions/{later.id}/enrol",
            404,
            form={"employee_id": org.officer_a.id},
            proof=plan_api,
        ),
        Intrusion(
            "open the plan of someone who is not one's report",
            "a",
            "outsider",
            "GET",
            person,
            404,
            proof_by="head",
        ),
        Intrusion(
            "approve the plan of someone who is not one's report",
            "a",
            "outsider",
            "POST",
            f"{person}/plan/approve",
            404,
            form={"year": year},
            proof=person,
            proof_by="head",
        ),
        Intrusion(
            "decline an activity of someone who is not one's report",
            "a",
            "outsider",
            "POST",
            f"/training/items/{item.id}/decline",
            404,
            form={"reason": "No"},
            proof=person,
            proof_by="head",
        ),
        Intrusion(
            "look for mentors for someone who is not one's report",
            "a",
            "outsider",
            "GET",
            f"{person}/mentors",
            404,
            proof_by="head",
        ),
        Intrusion(
            "cancel another employee's enrolment",
            "a",
            "b",
            "POST",
            f"/training/enrolments/{open_seat.id}/cancel",
            404,
            proof=completion,
        ),
        Intrusion("open another employee's completion form", "a", "b", "GET", completion, 404),
        Intrusion(
            "record another employee's completion with one's own evidence",
            "a",
            "b",
            "POST",
            completion,
            404,
            form={"score": "100"},
            files={"certificate": ("mine.pdf", PDF, "application/pdf")},
            proof=completion,
        ),
        Intrusion("download another employee's certificate", "a", "b", "GET", certificate, 404),
        Intrusion("download it as a supplier's learner", "a", "supplier", "GET", certificate, 404),
        Intrusion(
            "download it as a supervisor of someone else",
            "a",
            "outsider",
            "GET",
            certificate,
            404,
        ),
    ]
    run(personas, rows)


# --- vacancy competitions ---------------------------------------------------------------------


def test_candidates_and_panel_members_reach_only_their_own_part_of_a_competition(
    client, session, settings, org, monkeypatch
):
    from assessments.vacancies import service
    from tests.vacancies import helpers

    clock = helpers.set_clock(monkeypatch, helpers.FakeClock())
    hr = helpers.staff_user(session, settings, "hr_planner")
    approver = helpers.staff_user(session, settings, "hr_planner")
    helpers.seed_bank(session, hr)
    vacancy = helpers.draft(session, settings, hr, org.officer_position)
    helpers.publish(session, settings, hr, approver, vacancy)
    panel = helpers.seat_panel(session, settings, hr, vacancy, org)
    stranger = helpers.staff_user(session, settings, "panel_member")
    rosa = helpers.external_candidate(session, settings)
    pablo = helpers.external_candidate(session, settings, "Pablo", "Ortiz Ramos")
    rosas = helpers.apply(session, settings, vacancy, rosa)
    pablos = helpers.apply(session, settings, vacancy, pablo)
    helpers.close_window(session, settings, clock, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=hr)
    session.commit()
    for user, application in ((rosa, rosas), (pablo, pablos)):
        helpers.take_test(session, application, user, 6)
    service.close_test(session, vacancy=vacancy, actor=hr)
    session.commit()
    first, conflicted, expert = panel.members
    for member in (first, expert):
        helpers.declare_none(session, vacancy, member)
    service.declare(
        session,
        vacancy=vacancy,
        user=conflicted,
        decisions={
            rosas.id: (True, "She was my colleague for six years."),
            pablos.id: (False, "No personal or working relationship."),
        },
    )
    session.commit()
    attempt = service.attempt_of(session, rosas)
    personas = Personas(client)
    candidate_password = TEST_PASSWORD + "x"
    personas.sign_in("rosa", rosa.email, candidate_password)
    personas.sign_in("pablo", pablo.email, candidate_password)
    for name, user in (("first", first), ("conflicted", conflicted), ("stranger", stranger)):
        personas.sign_in(name, user.email)
    mine = f"/applications/{rosas.id}"
    board = f"/panel/{vacancy.id}"
    sheet = f"{board}/sift/{rosas.id}"
    scores = {f"score_{c['competency']}": "5" for c in vacancy.criteria}
    rows = [
        Intrusion("read another candidate's application", "rosa", "pablo", "GET", mine, 404),
        Intrusion("read another candidate's test", "rosa", "pablo", "GET", f"{mine}/test", 404),
        Intrusion(
            "answer on another candidate's test",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/test/answer",
            404,
            form={"question_id": attempt.question_ids[0], "chosen": "1"},
            proof=mine,
        ),
        Intrusion(
            "start another candidate's test",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/test/start",
            404,
            proof=mine,
        ),
        Intrusion(
            "hand in another candidate's test",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/test/submit",
            404,
            proof=mine,
        ),
        Intrusion(
            "withdraw another candidate's application",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/withdraw",
            404,
            proof=mine,
        ),
        Intrusion(
            "ask for a review of another candidate's application",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/review",
            404,
            form={"grounds": "My rival deserves a second look."},
            proof=mine,
        ),
        Intrusion(
            "appeal for another candidate",
            "rosa",
            "pablo",
            "POST",
            f"{mine}/appeal",
            404,
            form={"grounds": "Appealing on her behalf."},
            proof=mine,
        ),
        Intrusion(
            "open a competition one does not sit on",
            "first",
            "stranger",
            "GET",
            board,
            403,
        ),
        Intrusion(
            "declare conflicts on a competition one does not sit on",
            "first",
            "stranger",
            "POST",
            f"{board}/declarations",
            403,
            form={f"conflict_{rosas.id}": "no", f"note_{rosas.id}": "None."},
            proof=board,
        ),
        Intrusion(
            "read an application of a competition one does not sit on",
            "first",
            "stranger",
            "GET",
            sheet,
            403,
        ),
        Intrusion(
            "score a candidate of a competition one does not sit on",
            "first",
            "stranger",
            "POST",
            f"{sheet}/scores",
            403,
            form=scores,
            proof=sheet,
        ),
        Intrusion(
            "read the application of a candidate one declared a conflict with",
            "first",
            "conflicted",
            "GET",
            sheet,
            403,
        ),
        Intrusion(
            "score a candidate one declared a conflict with",
            "first",
            "conflicted",
            "POST",
            f"{sheet}/scores",
            403,
            form=scores,
            proof=sheet,
        ),
        Intrusion(
            "record the consensus on a candidate one declared a conflict with",
            "first",
            "conflicted",
            "POST",
            f"{sheet}/consensus",
            403,
            form={"accept": "1"},
            proof=sheet,
        ),
    ]
    run(personas, rows)


# --- the reporting channel --------------------------------------------------------------------


def test_cases_complaints_and_receipts_open_only_for_those_they_were_given_to(
    client, session, settings, org, make_user
):
    from tests.reporting_helpers import (
        add_holder,
        file_report,
        open_as,
        ready_channel,
        reporter_of,
    )
    from whistleblowing import service as cases
    from whistleblowing import service as reporting
    from whistleblowing.models import ComplaintAttachment, ReportAttachment
    from whistleblowing.service import retaliation
    from whistleblowing.service.retaliation import AllegedAct, ComplaintInput

    ready = ready_channel(session, settings, make_user)
    given = ready.investigator  # a recipient of the channel
    excluded = add_holder(session, settings, make_user, "investigator")  # a recipient, excluded
    elsewhere = add_holder(session, settings, make_user, "investigator")  # not a recipient
    officer = add_holder(session, settings, make_user, "protection_officer")
    admin = make_user("admin")
    reporting.set_channel_recipients(
        session, actor=admin, channel=ready.channel, user_ids=[given.id, excluded.id]
    )
    session.commit()
    secret_name = "Nombre Secreto Perez"
    filed = file_report(
        session,
        settings,
        ready.channel.id,
        what="Tender 2026-114 was steered to one supplier",
        identity=secret_name,
        excluded_user_ids=[excluded.id],
        files=[reporting.Upload("facturas.txt", b"Invoice 114: 2,300,000 MXN, twice.")],
    )
    report = filed.report
    other = file_report(session, settings, ready.channel.id, what="A different matter entirely")
    # A case the first investigator does not hold: its reporter excluded them.
    kept_from_given = file_report(
        session, settings, ready.channel.id, what="Third case", excluded_user_ids=[given.id]
    ).report
    access = open_as(session, given, report.reference)
    # Someone both investigator and protection officer, given the case: kept out of complaints.
    both = add_holder(session, settings, make_user, "investigator", "protection_officer")
    reporting.grant_access(session, access=access, actor=given, grantee=both)
    identity_request = reporting.request_identity(
        session, access=access, actor=given, reason="We need to interview the witness."
    )
    today = clock.today(settings)
    reminder = cases.add_reminder(
        session,
        access=access,
        actor=given,
        remind_on=today + timedelta(days=3),
        note="Call the warehouse",
        today=today,
    )
    absence = cases.record_absence(
        session,
        user=given,
        holder_private=None,
        starts_on=today + timedelta(days=30),
        ends_on=today + timedelta(days=40),
        hand_over_cases=False,
        today=today,
    ).absence
    session.commit()
    complaint = retaliation.file_by_receipt(
        session,
        settings,
        access=reporter_of(session, settings, filed.receipt),
        data=ComplaintInput(
            acts=[AllegedAct("transfer", today - timedelta(days=2), "Moved to the night shift")],
            narrative="The week after my report I was moved.",
            keep_early_acts=True,  # the report was made today: an earlier act is kept knowingly
            evidence=[reporting.Upload("oficio.txt", b"Transfer order 77/2026")],
        ),
    )
    employee = make_user("employee", employee=org.officer_a)
    colleague = make_user("employee", employee=org.officer_b)
    identified = retaliation.file_identified(
        session,
        settings,
        user=employee,
        data=ComplaintInput(
            acts=[AllegedAct("demotion", today - timedelta(days=5), "")],
            narrative="Demoted after my report.",
            keep_early_acts=True,
            report_reference=report.reference,
        ),
    )
    session.commit()
    # An officer who came after the report: without the identity key it was sealed to.
    late_officer = add_holder(session, settings, make_user, "protection_officer")
    attachment = session.exec(
        select(ReportAttachment.uid).where(ReportAttachment.report_id == report.id)
    ).one()
    evidence = session.exec(
        select(ComplaintAttachment.uid).where(ComplaintAttachment.complaint_id == complaint.id)
    ).one()
    personas = Personas(client)
    for name, user in (
        ("given", given),
        ("excluded", excluded),
        ("elsewhere", elsewhere),
        ("both", both),
        ("officer", officer),
        ("late officer", late_officer),
        ("employee", employee),
        ("colleague", colleague),
    ):
        personas.sign_in(name, user.email)
    personas.reporter("reporter", filed.receipt)
    personas.reporter("another reporter", other.receipt)
    case = f"/cases/{report.reference}"
    file_url = f"{case}/attachments/{attachment}"
    complaint_page = f"/retaliation/{complaint.reference}"
    complaint_file = f"{complaint_page}/attachments/{evidence}"
    decision = f"/cases/identity-requests/{identity_request.id}"
    reporter_complaint = f"/report/case/retaliation/{complaint.reference}"
    rows = [
        Intrusion("open a case not routed to one", "given", "elsewhere", "GET", case, 404),
        Intrusion("open a case one was excluded from", "given", "excluded", "GET", case, 404),
        Intrusion(
            "download an attachment of a case not routed to one",
            "given",
            "elsewhere",
            "GET",
            file_url,
            404,
        ),
        Intrusion(
            "download an attachment of a case one was excluded from",
            "given",
            "excluded",
            "GET",
            file_url,
            404,
        ),
        Intrusion(
            "write a note in a case not routed to one",
            "given",
            "elsewhere",
            "POST",
            f"{case}/items",
            404,
            form={"kind": "note", "text": "Close it."},
            proof=case,
        ),
        Intrusion(
            "change the status of a case one was excluded from",
            "given",
            "excluded",
            "POST",
            f"{case}/status",
            404,
            form={"status": "closed", "outcome": "unsubstantiated", "reason": "Nothing."},
            proof=case,
        ),
        Intrusion(
            "grant oneself a case not routed to one",
            "given",
            "elsewhere",
            "POST",
            f"{case}/grants",
            404,
            form={"user_id": str(elsewhere.id)},
            proof=case,
        ),
        Intrusion(
            "withdraw a holder's access to a case one was excluded from",
            "given",
            "excluded",
            "POST",
            f"{case}/grants/{given.id}/revoke",
            404,
            proof=case,
        ),
        Intrusion(
            "ask for the reporter's identity on a case not routed to one",
            "given",
            "elsewhere",
            "POST",
            f"{case}/identity-requests",
            404,
            form={"reason": "Curious."},
            proof=case,
        ),
        Intrusion(
            "link one's case to a case one does not hold",
            "excluded",
            "given",
            "POST",
            f"{case}/links",
            422,
            form={"other_reference": kept_from_given.reference},
            proof=f"/cases/{kept_from_given.reference}",
        ),
        Intrusion(
            "read the reporter's sealed identity without an approved request",
            "reporter",
            "given",
            "GET",
            case,
            200,
            proof=case,
            proof_by="given",
            hidden=secret_name,
        ),
        Intrusion(
            "delete another holder's reminder on a shared case",
            "given",
            "both",
            "POST",
            f"{case}/reminders/{reminder.id}/delete",
            404,
            proof=case,
        ),
        Intrusion(
            "end another investigator's absence",
            "given",
            "elsewhere",
            "POST",
            f"/cases/absence/{absence.id}/end",
            404,
            proof="/cases/absence",
        ),
        Intrusion(
            "decide an identity request without the report's identity key",
            "officer",
            "late officer",
            "POST",
            decision,
            404,
            form={"decision": "approve", "note": "Fine."},
            proof="/cases/identity-requests",
        ),
        Intrusion(
            "send the reporter the notice of a decision one could not take",
            "officer",
            "late officer",
            "POST",
            f"{decision}/notify",
            404,
            proof="/cases/identity-requests",
        ),
        Intrusion(
            "open a retaliation complaint as an investigator",
            "officer",
            "given",
            "GET",
            complaint_page,
            403,
        ),
        Intrusion(
            "assess a retaliation complaint as an investigator",
            "officer",
            "given",
            "POST",
            f"{complaint_page}/assess",
            403,
            form={"protected_report": "yes", "detriment": "yes", "timing": "yes", "reason": "x"},
            proof=complaint_page,
        ),
        Intrusion(
            "download a complaint's evidence as an investigator",
            "officer",
            "given",
            "GET",
            complaint_file,
            403,
        ),
        Intrusion(
            "open a complaint about a report one investigates (as an officer too)",
            "officer",
            "both",
            "GET",
            complaint_page,
            404,
        ),
        Intrusion(
            "assess a complaint about a report one investigates",
            "officer",
            "both",
            "POST",
            f"{complaint_page}/assess",
            404,
            form={"protected_report": "yes", "detriment": "no", "timing": "no", "reason": "x"},
            proof=complaint_page,
        ),
        Intrusion(
            "write in a complaint about a report one investigates",
            "officer",
            "both",
            "POST",
            f"{complaint_page}/items",
            404,
            form={"kind": "note", "text": "Nothing to see."},
            proof=complaint_page,
        ),
        Intrusion(
            "download the evidence of a complaint about a report one investigates",
            "officer",
            "both",
            "GET",
            complaint_file,
            404,
        ),
        Intrusion(
            "take the burden-of-proof pack of a complaint about a report one investigates",
            "officer",
            "both",
            "POST",
            f"{complaint_page}/pack",
            404,
            proof=complaint_page,
        ),
        Intrusion(
            "add a message to another employee's complaint",
            "employee",
            "colleague",
            "POST",
            f"/retaliation/mine/{identified.reference}/messages",
            404,
            form={"text": "Withdrawn, sorry."},
            proof="/retaliation/mine",
        ),
        Intrusion(
            "read another report through one's receipt session",
            "reporter",
            "another reporter",
            "GET",
            "/report/case",
            200,
            proof="/report/case",
            hidden="Tender 2026-114",
        ),
        Intrusion(
            "download another report's attachment with one's receipt session",
            "reporter",
            "another reporter",
            "GET",
            f"/report/case/attachments/{attachment}",
            404,
        ),
        Intrusion(
            "download the evidence of another reporter's complaint",
            "reporter",
            "another reporter",
            "GET",
            f"{reporter_complaint}/attachments/{evidence}",
            404,
        ),
        Intrusion(
            "add a message to another reporter's complaint",
            "reporter",
            "another reporter",
            "POST",
            f"{reporter_complaint}/messages",
            404,
            form={"text": "I withdraw this."},
            proof="/report/case/retaliation",
        ),
    ]
    run(personas, rows)
