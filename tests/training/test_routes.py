"""Training over HTTP: rendering, authorization per object, bad input (translated, right status,
nothing written), imports and exports, certificates, calendars, supplier learners."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from backend.clock import now as utcnow
from backend.config import get_settings
from backend.events import subscribe, unsubscribe
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework import service as competency_service
from competency_framework.models import RatingEntry
from competency_framework.training import service
from competency_framework.training.models import (
    EnrolmentStatus,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlanItem,
)
from tests.competency.test_routes import table_rows
from tests.conftest import login
from tests.training.helpers import (
    activity,
    principal_for,
    rate,
    session_of,
    small_catalogue,
    train_and_validate,
)
from tests.training.test_service import OFFICER_LEVELS, PDF

YEAR = service.plan_year(get_settings())


@pytest.fixture
def setup(session, org, make_user):
    """Catalogue, the officer's ratings, accounts for the officer, the head and HR."""
    catalogue = small_catalogue(session)
    hr_user = make_user("hr_planner")
    hr = principal_for(session, hr_user)
    rate(session, org.officer_a, hr, OFFICER_LEVELS)
    return {
        "catalogue": catalogue,
        "officer": make_user("employee", employee=org.officer_a),
        "head": make_user("employee", employee=org.head),
        "outsider": make_user("employee", employee=org.outsider),
        "hr": hr_user,
        "hr_principal": hr,
    }


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


# --- plans ------------------------------------------------------------------------------------


def test_an_employee_proposes_their_plan_and_sees_it(client, session, org, setup):
    csrf = login(client, setup["officer"].email)
    response = client.post(
        f"/training/people/{org.officer_a.id}/plan/propose",
        data={"csrf_token": csrf, "year": YEAR},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/training/me"
    page = client.get("/training/me")
    assert page.status_code == 200
    assert "Course legal_basics" in page.text and "Course sfp_cert" in page.text
    assert "3 activities proposed from the gaps." in page.text


def test_a_colleague_cannot_see_or_change_someone_elses_plan(client, session, org, setup):
    csrf = login(client, setup["outsider"].email)
    assert client.get(f"/training/people/{org.officer_a.id}").status_code in (403, 404)
    response = client.post(
        f"/training/people/{org.officer_a.id}/plan/propose",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert count(session, TrainingPlanItem) == 0


def test_the_plan_page_offers_only_the_allowed_steps_and_the_routes_refuse_the_others(
    client, session, org, setup
):
    proposal = service.propose_plan(
        session, employee=org.officer_a, actor=setup["hr_principal"], year=YEAR
    )
    session.commit()
    item = proposal.items[0]
    remove, decline = f"/training/items/{item.id}/remove", f"/training/items/{item.id}/decline"
    csrf = login(client, setup["officer"].email)
    page = client.get("/training/me").text
    assert remove in page and decline not in page and "/plan/approve" not in page
    refused = client.post(decline, data={"csrf_token": csrf, "reason": "no"})
    assert refused.status_code == 403
    client.cookies.clear()
    csrf = login(client, setup["head"].email)
    page = client.get(f"/training/people/{org.officer_a.id}").text
    assert decline in page and remove not in page and "/plan/submit" not in page
    refused = client.post(
        f"/training/people/{org.officer_a.id}/plan/submit", data={"csrf_token": csrf}
    )
    assert refused.status_code == 403
    session.expire_all()
    assert session.get(TrainingPlanItem, item.id).status == ItemStatus.proposed


def test_over_budget_approval_without_reason_is_refused_with_a_translated_message(
    client, session, org, setup
):
    service.propose_plan(session, employee=org.officer_a, actor=setup["hr_principal"], year=YEAR)
    service.set_budget(
        session, unit=org.central, year=YEAR, amount=1000, actor=setup["hr_principal"]
    )
    session.commit()
    csrf = login(client, setup["head"].email)
    page = client.get(f"/training/people/{org.officer_a.id}")
    assert page.status_code == 200 and 'id="over-budget"' in page.text
    refused = client.post(
        f"/training/people/{org.officer_a.id}/plan/approve?lang=es",
        data={"csrf_token": csrf, "year": YEAR, "reason": ""},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert "presupuesto" in refused.text  # Spanish message, in the form fragment
    assert "<html" not in refused.text
    session.expire_all()
    assert {i.status for i in session.exec(select(TrainingPlanItem))} == {ItemStatus.proposed}
    approved = client.post(
        f"/training/people/{org.officer_a.id}/plan/approve",
        data={"csrf_token": csrf, "year": YEAR, "reason": "Certification required by law"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    session.expire_all()
    assert {i.status for i in session.exec(select(TrainingPlanItem))} == {ItemStatus.approved}


def test_declining_an_approved_item_without_reason_over_http_is_an_hr_event(
    client, session, org, setup
):
    seen = []

    def watch(_session, event):
        seen.append(event.payload)

    service.add_item(
        session,
        employee=org.officer_a,
        activity=setup["catalogue"]["negotiation"],
        actor=setup["hr_principal"],
        year=YEAR,
    )
    item = service.approve_plan(
        session, employee=org.officer_a, actor=setup["hr_principal"], year=YEAR
    )[0]
    session.commit()
    csrf = login(client, setup["head"].email)
    subscribe("training.request_refused")(watch)
    try:
        response = client.post(
            f"/training/items/{item.id}/decline",
            data={"csrf_token": csrf, "reason": ""},
            follow_redirects=False,
        )
    finally:
        unsubscribe("training.request_refused", watch)
    assert response.status_code == 303
    assert [(p["activity_code"], p["has_reason"]) for p in seen] == [("negotiation", False)]


# --- enrolment and completion -------------------------------------------------------------


@pytest.fixture
def enrolled(session, org, setup):
    """The officer, approved for sfp_cert (certificate required) and enrolled in a session."""
    seat = session_of(session, setup["catalogue"]["sfp_cert"])
    service.add_item(
        session,
        employee=org.officer_a,
        activity=setup["catalogue"]["sfp_cert"],
        actor=setup["hr_principal"],
        year=YEAR,
    )
    service.approve_plan(session, employee=org.officer_a, actor=setup["hr_principal"], year=YEAR)
    session.commit()
    return seat


def test_an_employee_enrols_from_their_plan(client, session, org, setup, enrolled):
    csrf = login(client, setup["officer"].email)
    page = client.get("/training/me")
    assert f'id="enrol-{enrolled.id}"' in page.text
    response = client.post(
        f"/training/sessions/{enrolled.id}/enrol",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    enrolment = session.exec(select(TrainingEnrolment)).one()
    assert enrolment.status == EnrolmentStatus.enrolled
    assert "Record completion" in client.get("/training/me").text


def test_completion_without_the_certificate_is_refused_and_nothing_is_written(
    client, session, settings, org, setup, enrolled
):
    enrolment = service.enrol_employee(
        session, training_session_id=enrolled.id, employee=org.officer_a, actor=None
    )
    session.commit()
    csrf = login(client, setup["officer"].email)
    form = client.get(f"/training/enrolments/{enrolment.id}/complete")
    assert form.status_code == 200 and 'name="certificate"' in form.text
    missing = client.post(
        f"/training/enrolments/{enrolment.id}/complete",
        data={"csrf_token": csrf, "score": "90"},
        files={"certificate": ("", b"", "application/octet-stream")},
    )
    assert missing.status_code == 422
    assert "needs the certificate" in missing.text
    disguised = client.post(
        f"/training/enrolments/{enrolment.id}/complete",
        data={"csrf_token": csrf},
        files={"certificate": ("constancia.pdf", b"<html>not a pdf</html>", "application/pdf")},
    )
    assert disguised.status_code == 422 and "PDF, PNG or JPEG" in disguised.text
    session.expire_all()
    assert session.get(TrainingEnrolment, enrolment.id).status == EnrolmentStatus.enrolled
    folder = service.evidence_dir(settings)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_certificate_is_kept_and_only_the_right_people_can_download_it(
    client, session, settings, org, setup, enrolled
):
    enrolment = service.enrol_employee(
        session, training_session_id=enrolled.id, employee=org.officer_a, actor=None
    )
    session.commit()
    csrf = login(client, setup["officer"].email)
    done = client.post(
        f"/training/enrolments/{enrolment.id}/complete",
        data={"csrf_token": csrf},
        files={"certificate": ("constancia.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    download = client.get(f"/training/enrolments/{enrolment.id}/certificate")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment")
    client.cookies.clear()
    login(client, setup["head"].email)  # the supervisor
    seen = client.get(f"/training/enrolments/{enrolment.id}/certificate")
    assert seen.status_code == 200 and seen.content == PDF
    assert seen.headers["content-type"] == "application/pdf"
    assert seen.headers["content-disposition"] == (
        f'attachment; filename="certificate-{enrolment.id}.pdf"'
    )
    assert "Levels to confirm after training" in client.get("/training/team").text
    client.cookies.clear()
    login(client, setup["outsider"].email)
    assert client.get(f"/training/enrolments/{enrolment.id}/certificate").status_code == 404
    # The web root never serves it.
    session.refresh(enrolment)
    path = service.certificate_path(settings, enrolment)
    assert client.get(f"/static/{path.name}").status_code == 404


def test_a_full_session_offers_the_waiting_list(client, session, org, setup):
    course = activity(session, "tiny", {"legal": (0, 2)}, capacity=1)
    seat = session_of(session, course, days_from_now=3)
    for person in (org.officer_b, org.officer_a):
        service.add_item(
            session, employee=person, activity=course, actor=setup["hr_principal"], year=YEAR
        )
        service.approve_plan(session, employee=person, actor=setup["hr_principal"], year=YEAR)
    service.enrol_employee(session, training_session_id=seat.id, employee=org.officer_b, actor=None)
    session.commit()
    csrf = login(client, setup["officer"].email)
    assert "Join the waiting list" in client.get("/training/catalogue/tiny").text
    response = client.post(
        f"/training/sessions/{seat.id}/enrol", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "waiting list" in response.text
    session.expire_all()
    mine = session.exec(
        select(TrainingEnrolment).where(TrainingEnrolment.employee_id == org.officer_a.id)
    ).one()
    assert mine.status == EnrolmentStatus.waitlisted


# --- catalogue: maintenance, import, export, calendars --------------------------------------


def test_hr_creates_an_activity_and_bad_input_keeps_what_was_typed(client, session, setup):
    csrf = login(client, setup["hr"].email)
    bad = client.post(
        "/training/manage/activities/new",
        data={
            "csrf_token": csrf,
            "code": "Bad Code!",
            "title_es": "Taller de especificaciones",
            "title_en": "",
            "modality": "workshop",
            "cost": "-5",
            "audience": "user_areas",
            "from_legal": "3",
            "to_legal": "2",
        },
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    assert "Taller de especificaciones" in bad.text
    for message in ("lowercase letters", "Enter a title.", "between 0 and", "above the starting"):
        assert message in bad.text
    assert count(session, TrainingActivity) == 4
    good = client.post(
        "/training/manage/activities/new",
        data={
            "csrf_token": csrf,
            "code": "specs",
            "title_es": "Taller de especificaciones",
            "title_en": "Specifications workshop",
            "modality": "workshop",
            "hours": "12",
            "cost": "2500",
            "capacity": "30",
            "audience": ["user_areas", "procurement_staff"],
            "evidence": "none",
            "is_active": "on",
            "from_procurement_process": "0",
            "to_procurement_process": "1",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/training/catalogue/specs"
    page = client.get("/training/catalogue/specs")
    assert "Specifications workshop" in page.text or "Taller de especificaciones" in page.text
    scheduled = client.post(
        "/training/manage/activities/specs/sessions",
        data={
            "csrf_token": csrf,
            "starts_at": "2030-02-03T09:00",
            "ends_at": "2030-02-03T08:00",
            "place": "",
        },
        headers={"HX-Request": "true"},
    )
    assert scheduled.status_code == 422 and "end after it starts" in scheduled.text


def test_catalogue_import_is_all_or_nothing_with_row_and_column(client, session, setup):
    csrf = login(client, setup["hr"].email)
    header = list(service.IMPORT_COLUMNS)
    sheet = xlsx(
        [
            header,
            ["compranet_suppliers", "CompraNet para proveedores", "CompraNet for suppliers",
             "workshop", "SFP", 6, 0, 40, "suppliers", "none", ""],
            ["bad_one", "Curso", "Course", "lecture", "", 8, "mucho", 10, "everyone", "none",
             "legal:4-2"],
        ]
    )  # fmt: skip
    refused = client.post(
        "/training/manage/import?lang=es",
        data={"csrf_token": csrf},
        files={"file": ("catalogue.xlsx", sheet, "application/octet-stream")},
    )
    assert refused.status_code == 422
    text = refused.text
    assert "Fila 3, columna D" in text  # modality
    assert "Fila 3, columna G" in text  # cost
    assert "Fila 3, columna I" in text  # audience
    assert "Fila 3, columna K" in text  # targets
    assert count(session, TrainingActivity) == 4  # nothing written, not even row 2
    good = xlsx(
        [
            header,
            ["compranet_suppliers", "CompraNet para proveedores", "CompraNet for suppliers",
             "workshop", "SFP", 6, 0, 40, "suppliers", "none", ""],
            ["negotiation", "Negociación", "Negotiation", "classroom", "INAP", 16, 5200, 20,
             "procurement_staff", "none", "negotiation:0-2"],
        ]
    )  # fmt: skip
    done = client.post(
        "/training/manage/import",
        data={"csrf_token": csrf},
        files={"file": ("catalogue.xlsx", good, "application/octet-stream")},
        follow_redirects=True,
    )
    assert "1 new, 1 updated" in done.text
    assert count(session, TrainingActivity) == 5
    exported = client.get("/training/catalogue?format=xlsx")
    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert list(rows[0][: len(header)]) == header
    negotiation = next(r for r in rows if r[0] == "negotiation")
    assert negotiation[10] == "negotiation:0-2" and negotiation[6] == 5200
    # The export imports back unchanged.
    again = client.post(
        "/training/manage/import",
        data={"csrf_token": csrf},
        files={"file": ("catalogue.xlsx", exported.content, "application/octet-stream")},
        follow_redirects=True,
    )
    assert "0 new, 5 updated" in again.text


def test_sessions_download_as_icalendar(client, session, setup):
    seat = session_of(session, setup["catalogue"]["sfp_cert"], place="Aula 2, CDMX")
    session.commit()
    login(client, setup["officer"].email)
    response = client.get(f"/training/sessions/{seat.id}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "LOCATION:Aula 2\\, CDMX" in body and "DTSTART;TZID=America/Mexico_City:" in body
    assert client.get("/training/sessions/99999.ics").status_code == 404


def vevents(body: bytes) -> list[dict[str, str]]:
    """Each VEVENT of an iCalendar body as {name with parameters: value}, lines unfolded."""
    lines = body.decode("utf-8").replace("\r\n ", "").split("\r\n")
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _colon, value = line.partition(":")
            current[name] = value
    return events


# --- supplier learners ------------------------------------------------------------------------


def test_a_supplier_learner_sees_only_their_own_enrolments(client, session, settings, setup):
    suppliers = activity(
        session, "compranet_suppliers", {}, modality="workshop", audience=("suppliers",)
    )
    seat = session_of(session, suppliers, days_from_now=5)
    session.commit()
    csrf = login(client, setup["hr"].email)
    weak = client.post(
        "/training/manage/learners",
        data={
            "csrf_token": csrf,
            "full_name": "Laura Ríos",
            "email": "laura@proveedora.example",
            "organisation": "Proveedora Médica del Norte",
            "password": "short",
        },
        headers={"HX-Request": "true"},
    )
    assert weak.status_code == 422 and "Laura Ríos" in weak.text
    created = client.post(
        "/training/manage/learners",
        data={
            "csrf_token": csrf,
            "full_name": "Laura Ríos",
            "email": "laura@proveedora.example",
            "organisation": "Proveedora Médica del Norte",
            "tax_id": "PMN010203AB1",
            "password": "un-proveedor-aprende-compranet",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    learner = service.list_learners(session)[0]
    other = service.create_supplier_learner(
        session,
        settings,
        full_name="Otro",
        email="otro@proveedor.example",
        organisation="Otra S.A.",
        password="otra-persona-de-proveedor",
        actor=setup["hr_principal"],
    )
    session.commit()
    others_seat = session_of(session, suppliers, days_from_now=12, place="Sala B")
    session.commit()
    for who, where in ((learner, seat), (other, others_seat)):
        response = client.post(
            f"/training/manage/sessions/{where.id}/enrol",
            data={"csrf_token": csrf, "learner_id": str(who.id)},
            follow_redirects=False,
        )
        assert response.status_code == 303
    client.cookies.clear()
    csrf = login(client, "laura@proveedora.example", "un-proveedor-aprende-compranet")
    mine = client.get("/training/me")
    assert mine.status_code == 200 and "Curso compranet_suppliers" in mine.text  # in Spanish
    assert "Otra S.A." not in mine.text
    assert client.get("/training/catalogue").status_code == 403
    calendar = client.get("/training/me/calendar.ics")
    assert calendar.headers["content-type"].startswith("text/calendar")
    zone = service.org_zone(settings)
    local = "%Y%m%dT%H%M%S"
    events = vevents(calendar.content)  # hers only, not the other supplier's session
    assert [e["UID"] for e in events] == [f"training-session-{seat.id}@testserver"]
    event = events[0]
    assert event["SUMMARY"] == "Curso compranet_suppliers"
    assert event["LOCATION"] == "Aula 1" and event["DESCRIPTION"] == "Proveedor: Proveedor"
    assert event["DTSTART;TZID=America/Mexico_City"] == seat.starts_at.astimezone(zone).strftime(
        local
    )
    assert event["DTEND;TZID=America/Mexico_City"] == seat.ends_at.astimezone(zone).strftime(local)
    others = session.exec(
        select(TrainingEnrolment).where(TrainingEnrolment.learner_id == other.id)
    ).one()
    refused = client.post(
        f"/training/enrolments/{others.id}/cancel",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    own = session.exec(
        select(TrainingEnrolment).where(TrainingEnrolment.learner_id == learner.id)
    ).one()
    cancelled = client.post(
        f"/training/enrolments/{own.id}/cancel", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert cancelled.status_code == 303


def test_supplier_enrolment_in_an_activity_not_open_to_suppliers_is_refused(
    client, session, settings, setup
):
    seat = session_of(session, setup["catalogue"]["negotiation"], days_from_now=5)
    learner = service.create_supplier_learner(
        session,
        settings,
        full_name="Otro",
        email="otro@proveedor.example",
        organisation="Otra S.A.",
        password="otra-persona-de-proveedor",
        actor=setup["hr_principal"],
    )
    session.commit()
    csrf = login(client, setup["hr"].email)
    refused = client.post(
        f"/training/manage/sessions/{seat.id}/enrol",
        data={"csrf_token": csrf, "learner_id": str(learner.id)},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "not open to suppliers" in refused.text
    assert count(session, TrainingEnrolment) == 0


# --- planners -----------------------------------------------------------------------------


def test_the_needs_page_and_api_give_the_ranked_list(client, session, org, setup):
    login(client, setup["hr"].email)
    page = client.get("/training/needs")
    assert page.status_code == 200 and 'id="headline"' in page.text
    data = client.get("/api/v1/training/needs?budget=0").json()
    assert data["budget"] == 0 and data["critical"] >= 1
    assert all(a["cost"] == 0 for a in data["activities"] if a["funded"])
    assert client.get("/training/needs?budget=lots").status_code == 422
    assert client.get("/training/effect?start=2026-12-01&end=2026-01-01").status_code == 422
    csv = client.get("/training/needs?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")


def _backdated_rating(session, employee, code: str, level: int, when) -> None:
    """A validated HR rating as it was written to the log on `when` (the service stamps every
    entry with the present, and the log refuses updates)."""
    session.add(
        RatingEntry(
            employee_id=employee.id,
            competency_id=competency_service.get_competency(session, code).id,
            level=level,
            source="hr",
            validated=True,
            recorded_at=when,
        )
    )


def test_the_effect_page_compares_trained_people_with_their_colleagues(
    client, session, settings, org, setup
):
    hr = setup["hr_principal"]
    head = principal_for(session, setup["head"])
    course = activity(session, "legal_course", {"legal": (0, 2)})
    seat = session_of(session, course)
    people = [
        org_service.create_employee(
            session,
            EmployeeInput(
                number=f"T{i:03d}",
                first_name="Persona",
                last_name=f"Prueba{i}",
                email=f"p{i}@example.org",
                unit_id=org.central.id,
                position_id=org.officer_position.id,
                supervisor_id=org.head.id,
                hire_date=date(2010, 1, 1),
            ),
        )
        for i in range(10)
    ]
    # Everyone stood at Legal 1 a month ago, before the period the page is asked about.
    for person in people:
        _backdated_rating(session, person, "legal", 1, utcnow() - timedelta(days=30))
    session.commit()
    # Five trained and reached 2; of the five who did not, two rose to 2 anyway.
    for person in people[:5]:
        train_and_validate(
            session, settings, person=person, course=course, seat=seat, hr=hr, head=head, year=YEAR
        )
    for person in people[5:7]:
        competency_service.record_rating(
            session,
            employee=person,
            competency=competency_service.get_competency(session, "legal"),
            level=2,
            source="supervisor",
            actor=head,
        )
    session.commit()
    today = datetime.now(service.org_zone(settings)).date()
    period = f"start={today - timedelta(days=7)}&end={today}"
    login(client, setup["hr"].email)
    page = client.get(f"/training/effect?{period}")
    assert page.status_code == 200
    assert f'name="start" type="date" value="{today - timedelta(days=7)}"' in page.text
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    # Trained: 1 → 2 for all five (+1.00); the others: +0.40 on average, so +0.60 from training.
    assert (
        "Across competencies, trained people's levels changed by 0.60 levels more than "
        "comparable colleagues'" in text
    )
    assert "5 people × competencies trained in the period; 0 left out" in text
    rows = table_rows(page.text)
    assert ["Legal", "5", "5", "0.60", "0"] in rows  # the summary per competency
    assert ["Legal", "1", "5", "1.00", "100%", "5", "0.40", "40%", "0.60"] in rows
    # The same page in Spanish, and a period before anyone trained.
    spanish = table_rows(client.get(f"/training/effect?{period}&lang=es").text)
    assert ["Marco jurídico", "1", "5", "1.00", "100%", "5", "0.40", "40%", "0.60"] in spanish
    before = client.get(
        f"/training/effect?start={today.replace(year=today.year - 2)}"
        f"&end={today - timedelta(days=20)}"
    )
    assert "Nobody completed training in this period." in before.text
    assert "Not enough people on both sides to compare yet." in before.text
    # By default the last year: nobody had a validated level at its start, so all are left out.
    default = client.get("/training/effect")
    assert f'name="start" type="date" value="{today - timedelta(days=365)}"' in default.text
    assert "5 people × competencies trained in the period; 5 left out" in default.text


def test_dashboards_show_training_panels(client, session, org, setup):
    service.propose_plan(session, employee=org.officer_a, actor=setup["hr_principal"], year=YEAR)
    session.commit()
    login(client, setup["officer"].email)
    assert "My training" in client.get("/").text
    client.cookies.clear()
    login(client, setup["head"].email)
    home = client.get("/").text
    assert "Team training" in home and org.officer_a.last_name in home
    client.cookies.clear()
    login(client, setup["hr"].email)
    assert "Training needs" in client.get("/").text


def test_pages_are_translated(client, session, org, setup):
    login(client, setup["officer"].email)
    page = client.get("/training/me?lang=es")
    assert "Mi plan de capacitación" in page.text
    catalogue = client.get("/training/catalogue?lang=es")
    assert "Catálogo de capacitación" in catalogue.text


# --- HR administration ----------------------------------------------------------------------


def test_hr_sets_budgets_proposes_for_everyone_and_follows_induction(client, session, org, setup):
    csrf = login(client, setup["hr"].email)
    bad = client.post(
        "/training/manage/budgets",
        data={"csrf_token": csrf, "unit": "NOPE", "amount": "5000", "year": YEAR},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "No unit has the code NOPE." in bad.text
    negative = client.post(
        "/training/manage/budgets",
        data={"csrf_token": csrf, "unit": "DA", "amount": "-1", "year": YEAR},
        headers={"HX-Request": "true"},
    )
    assert negative.status_code == 422
    assert service.budgets(session, year=YEAR) == {}
    saved = client.post(
        "/training/manage/budgets",
        data={"csrf_token": csrf, "unit": "DA", "amount": "25000", "year": YEAR},
        follow_redirects=True,
    )
    assert "saved" in saved.text and "$25,000" in saved.text
    proposed = client.post(
        "/training/manage/plans/propose",
        data={"csrf_token": csrf, "year": YEAR},
        follow_redirects=True,
    )
    assert "Plans proposed for" in proposed.text
    session.expire_all()
    view = service.plan_view(session, employee=org.officer_a, year=YEAR)
    assert view.lines and view.budget.pending <= 25000
    page = client.get("/training/manage/induction")
    assert page.status_code == 200 and "Induction of new staff" in page.text
    assigned = client.post(
        "/training/manage/induction/assign", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "Induction assigned to 0 new staff." in assigned.text


def test_the_api_adds_an_activity_with_structured_errors(client, session, setup):
    csrf = login(client, setup["hr"].email)
    bad = client.post(
        "/api/v1/training/activities",
        json={"code": "x", "title": {"es": "", "en": ""}, "modality": "nope"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["fields"]}
    assert {"code", "title_es", "modality"} <= fields
    good = client.post(
        "/api/v1/training/activities",
        json={
            "code": "cn_suppliers",
            "title": {"es": "CompraNet para proveedores", "en": "CompraNet for suppliers"},
            "modality": "workshop",
            "cost": 0,
            "capacity": 40,
            "audience": ["suppliers"],
            "targets": {},
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert good.status_code == 201 and good.json()["audience"] == ["suppliers"]
    listed = client.get("/api/v1/training/activities").json()
    assert "cn_suppliers" in {a["code"] for a in listed}
    plan = client.get(f"/api/v1/training/people/{setup['officer'].employee_id}/plan").json()
    assert plan["items"] == [] and plan["status"] is None
