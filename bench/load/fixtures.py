"""What the mixed load needs in the database, built through the project's own services.

`prepare` migrates an empty database, creates the demo organisation exactly as `merito demo`
does (organisation, demo accounts, training catalogue and plans), and adds the people and things
the load's simulated users work with:

- employee accounts linked to demo employees in post (their own competency pages and gaps);
- HR planner accounts (enrolled in two-step verification, as the role requires), and validated
  ratings for everyone in post (imported as HR would, so the heatmaps have numbers);
- investigators who signed in once and enrolled in two-step verification (their key pairs are
  created by that sign-in, as in production), receiving the "procurement fraud" channel, and a
  few reports already filed there with an attachment, each assigned to one of them;
- the reporting channel's recovery key (reports are refused without it);
- external candidates, registered and confirmed, who applied to several competitions whose
  knowledge test is open now.

The simulated users read what they need from a JSON file (accounts, the shared password, the
investigators' and HR planners' TOTP secrets and the step each last used). It lives in the run's
temporary data directory, readable by its owner only, and goes with it.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from backend import clock

# Competitions are dated this far back while candidates apply, so that by the real clock the
# application and review windows are over and the tests can open now.
APPLICATION_CLOCK_OFFSET = timedelta(days=40)
EMAIL_DOMAIN = "load.demo.merito.mx"
CHANNEL_CODE = "procurement_fraud"
# Questions per test and its time limit: a real test of 20 questions, in a limit no simulated
# candidate reaches.
TEST_QUESTIONS = 20
TEST_MINUTES = 90
# Seconds a simulated candidate spends on one test (20 answers at 1-3 s each, plus the pages):
# enough competitions are opened that nobody runs out before the load ends.
SECONDS_PER_TEST = 40


@dataclass
class LoadFixtures:
    """What the simulated users sign in as and work on (written to the fixtures file)."""

    password: str
    employees: list[str] = field(default_factory=list)
    planners: list[dict] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    investigators: list[dict] = field(default_factory=list)
    channel_id: int = 0
    competitions: int = 0
    seeded_reports: int = 0
    ratings: int = 0
    employees_in_demo: int = 0

    def write(self, path: Path) -> None:
        """Write the fixtures as JSON, readable by the owner only."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.__dict__, fh, indent=1)


def accounts_needed(users: int, weights: dict[str, int]) -> dict[str, int]:
    """Return how many accounts each user class needs so that no two simulated people share one.

    Locust hands out users in proportion to the weights, rounding; one spare per class covers
    the rounding.
    """
    total = sum(weights.values())
    return {name: math.ceil(users * weight / total) + 1 for name, weight in weights.items()}


def sample_attachment() -> tuple[str, bytes]:
    """Return a small PNG (a scanned-looking invoice) a reporter attaches to a report."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 460, 60), outline="black", width=2)
    draw.text((30, 32), "FACTURA A-1043  Guantes de nitrilo  caja x100", fill="black")
    for row in range(6):
        y = 80 + row * 34
        draw.line((20, y, 460, y), fill="gray")
        line = f"Partida {row + 1}   {120 * (row + 1)} cajas   $ {4350 * (row + 1):,}"
        draw.text((30, y + 8), line, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "factura-duplicada.png", buffer.getvalue()


class _ShiftedClock:
    """The competitions' clock, moved back while candidates apply."""

    def __init__(self, real_now, offset: timedelta) -> None:
        self.real_now = real_now  # the clock it replaces (calling clock.now here would recurse)
        self.offset = offset

    def __call__(self):
        return self.real_now() - self.offset


def prepare(
    engine: Engine,
    settings,
    *,
    employees: int,
    accounts: dict[str, int],
    duration: int,
    seed: int = 1,
) -> LoadFixtures:
    """Build everything the load needs in the (empty) database; return the fixtures."""
    from backend import demo
    from backend.migrate import upgrade
    from competency_framework.training import demo as training_demo

    upgrade(engine)
    summary = demo.generate(engine, employees=employees, seed=seed)
    with Session(engine, expire_on_commit=False) as session:
        session.info["settings"] = settings
        demo.create_demo_accounts(session, settings)
        session.commit()
    training_demo.seed(engine, settings)

    rng = random.Random(seed)
    fixtures = LoadFixtures(password=secrets.token_urlsafe(18), employees_in_demo=summary.employees)
    with Session(engine, expire_on_commit=False) as session:
        session.info["settings"] = settings
        hr = _demo_user(session, "hr_planner")
        admin = _demo_user(session, "admin")
        fixtures.planners = _planners(session, settings, fixtures.password, accounts["HRPlanner"])
        fixtures.employees = _employees(session, settings, fixtures.password, accounts["Employee"])
        session.commit()
        fixtures.ratings = _ratings(session, hr, rng)
        session.commit()
        fixtures.investigators, keys = _investigators(
            session, settings, fixtures.password, accounts["Investigator"]
        )
        session.commit()
        fixtures.channel_id, fixtures.seeded_reports = _reporting(session, settings, admin, keys)
        competitions = max(2, math.ceil(duration / SECONDS_PER_TEST) + 1)
        fixtures.candidates = _competitions(
            session,
            settings,
            fixtures.password,
            hr,
            candidates=accounts["Candidate"],
            competitions=competitions,
        )
        fixtures.competitions = competitions
    return fixtures


def _demo_user(session: Session, role: str):
    from backend import demo
    from backend.auth.models import User

    return session.exec(select(User).where(User.email == demo.demo_email(role))).one()


def _principal(session: Session, user):
    """Return `user` as the services' actor (what a signed-in request would carry)."""
    from backend.auth import service as auth_service
    from backend.auth.permissions import permissions_for

    roles = auth_service.roles_of(session, user)
    return auth_service.Principal(user, None, roles, permissions_for(roles))  # type: ignore[arg-type]


def _planners(session: Session, settings, password: str, count: int) -> list[dict]:
    """HR planners, enrolled in the second step as investigators are (`_enrolled`)."""
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role

    found = []
    for n in range(1, count + 1):
        user = auth_service.create_user(
            session,
            settings,
            email=f"planner{n}@{EMAIL_DOMAIN}",
            full_name=f"Planeación de personal {n} (carga)",
            password=password,
            roles=[Role.hr_planner],
            actor="bench.load",
        )
        session.flush()
        account, (_token, row) = _enrolled(session, settings, user, password)
        auth_service.end_session(session, row)
        found.append(account)
    return found


def _enrolled(session: Session, settings, user, password: str) -> tuple[dict, tuple[str, object]]:
    """Sign `user` in once through the service calls the sign-in form and the two-step page
    make (enrolling the authenticator); return the account for locust and (token, session)."""
    from backend.auth import second_factor
    from backend.auth import service as auth_service

    token, row = auth_service.start_session(session, settings, user=user, password=password)
    secret = second_factor.totp_draft_secret(session, settings, user=user)
    second_factor.verify_second_factor(
        session, settings, user=user, session_row=row, code=pyotp.TOTP(secret).now()
    )
    account = {"email": user.email, "totp_secret": secret, "last_step": user.totp_last_step}
    return account, (token, row)


def _employees(session: Session, settings, password: str, count: int) -> list[str]:
    """Give accounts to employees in post who have none, spread over the organisation."""
    from backend.auth import service as auth_service
    from backend.auth.models import User
    from backend.auth.permissions import Role
    from backend.org.models import Employee, EmployeeStatus

    linked = sa_select(User.employee_id).where(col(User.employee_id).is_not(None))
    people = list(
        session.exec(
            select(Employee)
            .where(
                Employee.status == EmployeeStatus.active,
                col(Employee.position_id).is_not(None),
                col(Employee.id).not_in(linked),
            )
            .order_by(col(Employee.number))
        )
    )
    if len(people) < count:
        raise RuntimeError(
            f"The demo organisation has {len(people)} employees in post without an account; "
            f"the load needs {count}: use more --employees."
        )
    stride = len(people) / count
    emails = []
    for n in range(count):
        employee = people[int(n * stride)]
        user = auth_service.create_user(
            session,
            settings,
            email=employee.email,
            full_name=employee.full_name,
            password=password,
            roles=[Role.employee],
            employee_id=employee.id,
            actor="bench.load",
        )
        emails.append(user.email)
    return emails


def _ratings(session: Session, hr, rng: random.Random) -> int:
    """Import validated ratings for everyone in post, as HR does with a spreadsheet."""
    from openpyxl import Workbook

    from backend.org.models import Employee, EmployeeStatus
    from competency_framework import service as competency_service

    competencies = [c.code for c in competency_service.list_competencies(session)]
    numbers = session.exec(
        select(Employee.number)
        .where(Employee.status == EmployeeStatus.active, col(Employee.position_id).is_not(None))
        .order_by(col(Employee.number))
    ).all()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["employee_number", "competency", "level", "source"])
    for number in numbers:
        for code in competencies:
            # Most people sit around "proficient" (3), with a tail below.
            level = min(4, max(0, round(rng.gauss(2.6, 1.0))))
            sheet.append([number, code, level, "assessment"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return competency_service.import_ratings(
        session, content=buffer.getvalue(), actor=_principal(session, hr)
    )


def _investigators(
    session: Session, settings, password: str, count: int
) -> tuple[list[dict], dict[int, bytes]]:
    """Create investigators who signed in once: key pair made, TOTP enrolled (confirmed).

    The sign-in goes through the same service calls as the sign-in form and the two-step page:
    `start_session` with the password (its hook creates and unlocks the key pair),
    `totp_draft_secret` (what the enrolment page shows) and `verify_second_factor`.
    Returns the fixtures and each investigator's unlocked private key, which the setup uses to
    assign the seeded cases.
    """
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from whistleblowing import service as reporting

    found, keys = [], {}
    for n in range(1, count + 1):
        user = auth_service.create_user(
            session,
            settings,
            email=f"investigator{n}@{EMAIL_DOMAIN}",
            full_name=f"Investigación {n} (carga)",
            password=password,
            roles=[Role.investigator],
            actor="bench.load",
        )
        session.flush()
        account, (token, row) = _enrolled(session, settings, user, password)
        keys[user.id] = reporting.session_private_key(row, token)
        auth_service.end_session(session, row)
        found.append(account)
    return found, keys


def _reporting(session: Session, settings, admin, keys: dict[int, bytes]) -> tuple[int, int]:
    """Recovery key, the channel's recipients, and a few reports already waiting, assigned."""
    from backend.auth.models import User
    from whistleblowing import service as cases
    from whistleblowing import service as reporting
    from whistleblowing.models import ReportChannel

    if not reporting.recovery_ready(session):
        reporting.init_recovery(session, settings)
    channel = session.exec(select(ReportChannel).where(ReportChannel.code == CHANNEL_CODE)).one()
    reporting.set_channel_recipients(session, actor=admin, channel=channel, user_ids=list(keys))
    session.commit()
    name, data = sample_attachment()
    investigators = [session.get(User, user_id) for user_id in keys]
    seeded = 2 * len(investigators)
    for n in range(seeded):
        result = reporting.submit_report(
            session,
            settings,
            submission=reporting.Submission(
                channel_id=channel.id,
                what=f"Facturas de guantes pagadas dos veces al mismo proveedor (caso {n + 1}).",
                when="Marzo y abril",
                where="Almacén delegacional",
                red_flags=["duplicate_invoices"],
                others_know="unsure",
                files=[reporting.Upload(name, data)],
                good_faith=True,
                form_token=reporting.new_form_token(),
            ),
        )
        session.commit()
        handler = investigators[n % len(investigators)]
        access = reporting.open_case(
            session,
            user=handler,
            holder_private=keys[handler.id],
            reference=result.report.reference,
            audit_read=True,
        )
        cases.assign(
            session,
            access=access,
            actor=handler,
            assignee=handler,
            today=clock.today(settings),
        )
        session.commit()
    return channel.id, seeded


def _competitions(
    session: Session, settings, password: str, hr, *, candidates: int, competitions: int
) -> list[str]:
    """Competitions with the test open now, every candidate applied to each; return emails."""
    from assessments.vacancies import service
    from assessments.vacancies.service import ApplicationInput
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from backend.org.models import Position

    position = session.exec(
        select(Position)
        .where(Position.role_code == "procurement_officer")
        .order_by(col(Position.code))
    ).first()
    approver = auth_service.create_user(
        session,
        settings,
        email=f"approver@{EMAIL_DOMAIN}",
        full_name="Autorización de convocatorias (carga)",
        password=password,
        roles=[Role.hr_planner],
        actor="bench.load",
    )
    panel = [_demo_user(session, "panel_member")]
    for n in (1, 2):
        panel.append(
            auth_service.create_user(
                session,
                settings,
                email=f"panel{n}@{EMAIL_DOMAIN}",
                full_name=f"Integrante de comité {n} (carga)",
                password=password,
                roles=[Role.panel_member],
                actor="bench.load",
            )
        )
    for code, name_es, name_en, count in (
        ("ley_adquisiciones", "Ley de Adquisiciones", "Procurement law", 12),
        ("finanzas_publicas", "Finanzas públicas", "Public finance", 8),
    ):
        service.create_domain(session, code=code, name_es=name_es, name_en=name_en, actor=hr)
        for level in (1, 2, 3):
            for n in range(count):
                service.add_question(
                    session,
                    data=service.QuestionInput(
                        domain=code,
                        difficulty=str(level),
                        stem=f"{name_es}, nivel {level}: pregunta {n + 1} del banco de carga.",
                        options=["Opción A", "Opción B", "Opción C", "Opción D"],
                        correct=str(1 + n % 4),
                    ),
                    actor=hr,
                )
    session.commit()

    real_now = clock.now
    clock.now = _ShiftedClock(real_now, APPLICATION_CLOCK_OFFSET)
    try:
        vacancies = []
        for n in range(competitions):
            vacancy = service.create_vacancy(session, settings, position=position, actor=hr)
            service.update_draft(
                session,
                settings,
                vacancy=vacancy,
                data=service.NoticeInput(
                    title=f"Analista de adquisiciones ({n + 1})",
                    criteria={"procurement_process": "3", "legal": "3", "communication": "3"},
                    knowledge_domains=["ley_adquisiciones", "finanzas_publicas"],
                    blueprint=[("ley_adquisiciones", "", "12"), ("finanzas_publicas", "", "8")],
                    test_minutes=str(TEST_MINUTES),
                    eligibility=[("¿Cuenta con título profesional?", "yes")],
                ),
                actor=hr,
            )
            service.submit_for_approval(session, settings, vacancy=vacancy, actor=hr)
            service.approve(session, settings, vacancy=vacancy, actor=approver)
            service.publish(session, settings, vacancy=vacancy, actor=hr)
            for member in panel:
                service.appoint_panel_member(session, vacancy=vacancy, user=member, actor=hr)
            vacancies.append(vacancy)
        session.commit()
        emails = []
        for n in range(1, candidates + 1):
            registration = service.register(
                session,
                settings,
                email=f"candidate{n}@{EMAIL_DOMAIN}",
                first_name=f"Persona candidata {n}",
                last_names="Carga Prueba",
                password=password,
            )
            user = registration.user
            service.verify(session, token=registration.token)
            for vacancy in vacancies:
                service.apply(
                    session,
                    settings,
                    vacancy=vacancy,
                    user=user,
                    data=ApplicationInput(
                        {"q1": "yes"},
                        {
                            c["competency"]: "Conduje licitaciones públicas de insumos médicos."
                            for c in vacancy.criteria
                        },
                    ),
                )
            emails.append(user.email)
        session.commit()
    finally:
        clock.now = real_now
    for vacancy in vacancies:
        service.open_test(session, settings, vacancy=vacancy, actor=hr)
    session.commit()
    return emails
