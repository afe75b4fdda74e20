"""The competitions of the demo: one at every stage, ready on the first `merito up`.

`prepare` (the `demo.accounts` hook, plugin.py) gives the demo what a visitor needs to
walk a competition from both sides without configuring anything:

- a question bank with questions on each of the framework's 13 competencies
  (`data/question_bank.yaml`);
- the demo candidate as a confirmed external candidate (its candidate record, address
  confirmed), so it can apply at once;
- five competitions, each run through the same service functions HR, candidates and the panel
  use, with the clock set back (`backend.clock.frozen`) so their earlier stages happened in the
  past weeks: one accepting applications; one whose knowledge test is open, where the
  demo candidate has applied and can take it (and choose one of its two test sittings); one in
  interviews, where the other two members of the panel have scored the interviews held
  yesterday, the demo candidate's interview is booked for tomorrow (with free places the day
  after, to move to) and the demo panel member has every candidate still to score; one with
  a published merit list inside its appeal window, the demo candidate on it; one appointed.
- fairness: in the competition accepting applications, an invented external candidate has asked
  for reasonable adjustments (extra time and larger print), awaiting HR's decision; in the one
  in interviews, every applicant has answered the optional equal-opportunity questionnaire, so
  HR's statistics page shows figures, and small counts suppressed.

The panel of each competition is the three demo panel members. The other candidates are
invented: three employees of the demo organisation and three external candidates, with accounts
nobody can sign in to (random passwords). The content is fixed; only the dates follow the day
the demo is created, so the windows are open when it is used.

Idempotent: the bank skips questions it holds, and competitions are only created in a database
that has none (a real organisation's competitions are never mixed with invented ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol

import yaml
from sqlmodel import Session, col, select

from backend import clock, crypto, demo
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.org.models import Employee, EmployeeStatus, Position, Unit, UnitKind

from . import service
from .models import Application, BankQuestion, CandidateAccount, Stage, Vacancy
from .schemas import AdjustmentInput, ApplicationInput, NoticeInput, QuestionInput

BANK_FILE = Path(__file__).parent / "data" / "question_bank.yaml"
PANEL = ("panel_member", "panel_member2", "panel_member3")
# The demo candidate's names as a candidate record holds them (given names, surnames).
CANDIDATE_NAMES = ("Persona candidata", "Externa Demo")
# Invented external candidates: (given names, surnames, email).
EXTERNALS = [
    ("Mariana", "Ortega Salinas", "mariana.ortega@correo.example"),
    ("Tomás", "Villanueva Reyes", "tomas.villanueva@correo.example"),
    ("Daniela", "Cruz Ibarra", "daniela.cruz@correo.example"),
]
INTERNALS = 3
BLUEPRINT = [
    ("procurement_law", "", "3"),
    ("markets_negotiation", "", "2"),
    ("public_management", "", "3"),
]
CRITERIA_PER_VACANCY = 3
ELIGIBILITY = [
    ("¿Cuenta con título de licenciatura?", "yes"),
    ("¿Tiene al menos dos años de experiencia en contrataciones públicas?", "yes"),
]
# Where the demo's interviews and test sittings take place (demo data, in the installation's
# language like the rest of the demo competitions).
INTERVIEW_ROOM = "Sala de juntas 2, Delegación Regional, piso 3"
INTERVIEW_LINK = "https://videollamadas.demo.merito.mx/entrevistas"
SITTING_ROOM = "Aula de capacitación 1, planta baja"

# One structured-interview question per competency (the same for every candidate).
INTERVIEW_QUESTIONS = {
    "procurement_process": "Describa un procedimiento de contratación que condujo de principio "
    "a fin: ¿cómo eligió el procedimiento y el criterio de evaluación?",
    "negotiation": "Cuente una negociación con un proveedor en la que obtuvo mejores condiciones "
    "sin salirse del procedimiento.",
    "strategy_market_analysis": "¿Cómo hizo la última investigación de mercado a su cargo y qué "
    "decisión cambió gracias a ella?",
    "financial": "Háblenos de una ocasión en que detectó un riesgo presupuestario en una compra. "
    "¿Qué hizo?",
    "legal": "Describa una situación en que la normativa le impidió hacer lo que le pedían. "
    "¿Cómo lo resolvió?",
    "results_focus": "¿Qué indicador de su trabajo mejoró en el último año y cómo lo logró?",
    "systems_capability": "¿Qué sistemas de contratación o de abasto usa y qué problema resolvió "
    "con ellos?",
    "inventory_logistics_supply_chain": "Cuente cómo evitó o resolvió un desabasto de un insumo.",
    "organisational_awareness": "¿Cómo se asegura de entender lo que necesita el área médica "
    "antes de comprar?",
    "self_management": "Describa una semana con varios plazos legales a la vez: ¿cómo se organizó?",
    "leadership": "Cuente cómo desarrolló a una persona de su equipo.",
    "communication": "Explique un fallo difícil que tuvo que comunicar y cómo lo hizo.",
    "relationship_management": "¿Cómo mantiene una relación profesional e íntegra con los "
    "proveedores?",
}
SUMMARIES = {
    "open": "Conduce procedimientos de contratación de medicamentos e insumos médicos, integra "
    "los expedientes y da seguimiento a los contratos. Convocatoria abierta a personal del "
    "Instituto y a personas externas.",
    "testing": "Realiza investigaciones de mercado y análisis de precios que sustentan la "
    "elección del procedimiento y los precios de referencia.",
    "interview": "Administra contratos de servicios y suministro: vigila entregas y niveles de "
    "servicio, aplica penas convencionales y gestiona modificaciones.",
    "results": "Conduce procedimientos complejos y de alto valor (licitaciones consolidadas e "
    "internacionales) y asesora a sus colegas.",
    "appointed": "Apoya los procedimientos de contratación: prepara documentos, revisa "
    "proposiciones y registra la información en los sistemas.",
}
# The role each competition's position plays, in the order the competitions are built.
ROLES = {
    "open": "procurement_officer",
    "testing": "market_research_analyst",
    "interview": "contract_manager",
    "results": "procurement_specialist",
    "appointed": "technical_support",
}
FALLBACK_ROLES = ["procurement_officer", "technical_support", "administrative_support"]


class DemoAccount(Protocol):
    role: str
    email: str
    password: str


def _by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def prepare(session: Session, settings: Settings, accounts: Sequence[DemoAccount]) -> None:
    """Load the demo bank, confirm the demo candidate and build the demo competitions (the
    caller commits)."""
    session.info.setdefault("settings", settings)
    hr = _by_email(session, demo.demo_email("hr_planner"))
    candidate = _by_email(session, demo.demo_email("candidate"))
    if candidate is not None:
        confirm_candidate(session, candidate)
    if hr is None:
        return
    load_bank(session, hr, locale=settings.default_locale)
    panel = [_by_email(session, demo.demo_email(account)) for account in PANEL]
    if candidate is None or None in panel:
        return
    if session.exec(select(Vacancy.id)).first() is not None:
        return
    positions = _positions(session)
    if len(positions) < len(ROLES):
        return  # an organisation too small for the demo competitions
    session.flush()
    Builder(session, settings, hr, candidate, panel, positions).build()


# --- the bank and the demo candidate ------------------------------------------------------------


@dataclass(frozen=True)
class DemoQuestion:
    competency: str
    domain: str
    difficulty: int
    es: tuple[str, tuple[str, ...]]  # (stem, options: the right one first)
    en: tuple[str, tuple[str, ...]]

    def text(self, locale: str) -> tuple[str, tuple[str, ...]]:
        return self.en if locale == "en" else self.es


@cache
def demo_bank() -> tuple[list[tuple[str, str, str]], list[DemoQuestion]]:
    """Return the demo bank's knowledge domains (code, Spanish name, English name) and
    questions (data/question_bank.yaml)."""
    data = yaml.safe_load(BANK_FILE.read_text(encoding="utf-8"))
    domains = [(d["code"], d["name_es"], d["name_en"]) for d in data["domains"]]
    questions = [
        DemoQuestion(
            q["competency"],
            q["domain"],
            int(q["difficulty"]),
            (q["es"]["stem"], tuple(q["es"]["options"])),
            (q["en"]["stem"], tuple(q["en"]["options"])),
        )
        for q in data["questions"]
    ]
    return domains, questions


def options_in_order(question: DemoQuestion, index: int, locale: str) -> tuple[list[str], int]:
    """Return the question's options in display order and the right one's position (from 0):
    the bank file lists the right one first; here it moves to a different place per question,
    the same in both languages, so the answer key is not "always A"."""
    _stem, options = question.text(locale)
    shift = index % len(options)
    ordered = list(options[shift:] + options[:shift])
    return ordered, (len(options) - shift) % len(options)


def load_bank(session: Session, actor: User, *, locale: str) -> int:
    """Add the demo's knowledge domains and questions that are missing; return how many
    questions were added."""
    domains, questions = demo_bank()
    have = {d.code for d in service.domains(session)}
    for code, name_es, name_en in domains:
        if code not in have:
            service.create_domain(session, code=code, name_es=name_es, name_en=name_en, actor=actor)
    stems = set(session.exec(select(BankQuestion.stem)).all())
    added = 0
    for index, question in enumerate(questions):
        stem, _options = question.text(locale)
        if stem in stems:
            continue
        options, correct = options_in_order(question, index, locale)
        service.add_question(
            session,
            data=QuestionInput(
                domain=question.domain,
                competency=question.competency,
                difficulty=str(question.difficulty),
                stem=stem,
                options=options,
                correct=str(correct + 1),
            ),
            actor=actor,
        )
        added += 1
    return added


def confirm_candidate(session: Session, user: User) -> CandidateAccount:
    """Give the demo candidate its candidate record, with its address confirmed."""
    account = session.get(CandidateAccount, user.id)
    if account is None:
        first, last = CANDIDATE_NAMES
        account = CandidateAccount(user_id=user.id, first_name=first, last_names=last)
    if account.email_verified_at is None:
        account.email_verified_at = clock.now()
        account.token_hash = ""
        account.token_expires_at = None
        session.add(account)
        session.flush()
    return account


# --- the competitions ---------------------------------------------------------------------------


def _positions(session: Session) -> dict[str, Position]:
    """Return a distinct position of a procurement unit for each demo competition."""
    chosen: dict[str, Position] = {}
    used: set[int] = {-1}
    for stage, role in ROLES.items():
        # The role's own post where the organisation has one (a small demo has few kinds of
        # post), else another procurement post.
        for roles in ([role], FALLBACK_ROLES):
            position = session.exec(
                select(Position)
                .join(Unit, col(Unit.id) == Position.unit_id)
                .where(
                    col(Position.role_code).in_(roles),
                    Unit.kind == UnitKind.procurement_unit,
                    col(Position.id).not_in(used),
                )
                .order_by(col(Unit.is_central).desc(), col(Position.code))
                .limit(1)
            ).first()
            if position is not None:
                chosen[stage] = position
                used.add(position.id)
                break
    return chosen


def _random_password() -> str:
    # Nobody signs in as the invented candidates or the approver: a password nobody knows.
    return crypto.new_token(24)


@dataclass
class Person:
    user: User
    # How well they do: questions right of the 8, and the panel's scores per member.
    right: int
    sift: tuple[int, int, int]
    interview: tuple[int, int, int]


class Builder:
    """Runs the demo competitions through the services, each step at its moment."""

    def __init__(self, session, settings, hr, candidate, panel, positions) -> None:
        self.session = session
        self.settings = settings
        self.hr = hr
        self.candidate = candidate
        self.panel: list[User] = panel
        self.positions: dict[str, Position] = positions
        self.today = clock.now()
        # The invented people's passwords are random and never used, so their hashes need no
        # cost: a costly hash each would add seconds to the first `merito up` for nothing.
        self.quick = settings.model_copy(update={"fast_password_hashing": True})
        self.approver = self._approver()
        self.people = self._people()

    # People --------------------------------------------------------------------------------

    def _approver(self) -> User:
        """A second HR person, who approves the notices HR drafts (an employee of the demo)."""
        linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
        head = self.session.exec(
            select(Employee)
            .join(Position, col(Position.id) == Employee.position_id)
            .where(
                Position.role_code == "head_of_unit",
                Employee.status == EmployeeStatus.active,
                col(Employee.id).not_in(linked),
            )
            .order_by(col(Employee.number))
            .limit(1)
        ).first()
        return auth_service.create_user(
            self.session,
            self.quick,
            email=f"aprobacion-convocatorias@{_email_domain()}",
            full_name=head.full_name if head else "Aprobación de convocatorias (demo)",
            password=_random_password(),
            roles=[Role.hr_planner],
            employee_id=head.id if head else None,
            locale="es",
            actor="merito demo",
            check_password=False,
        )

    def _people(self) -> list[User]:
        """Three employees (procurement staff) and three external candidates."""
        linked = select(User.employee_id).where(col(User.employee_id).is_not(None))
        employees = self.session.exec(
            select(Employee)
            .join(Position, col(Position.id) == Employee.position_id)
            .where(
                col(Position.role_code).in_(
                    ["procurement_officer", "technical_support", "contract_manager"]
                ),
                Employee.status == EmployeeStatus.active,
                col(Employee.id).not_in(linked),
                col(Employee.email).is_not(None),
            )
            .order_by(col(Employee.number))
            .limit(INTERNALS)
        ).all()
        people = [
            auth_service.create_user(
                self.session,
                self.quick,
                email=employee.email,
                full_name=employee.full_name,
                password=_random_password(),
                roles=[Role.employee],
                employee_id=employee.id,
                locale="es",
                actor="merito demo",
                check_password=False,
            )
            for employee in employees
        ]
        for first, last, email in EXTERNALS:
            user = auth_service.create_user(
                self.session,
                self.quick,
                email=email,
                full_name=f"{first} {last}",
                password=_random_password(),
                roles=[Role.candidate],
                locale="es",
                actor="merito demo",
                check_password=False,
            )
            self.session.add(
                CandidateAccount(
                    user_id=user.id,
                    first_name=first,
                    last_names=last,
                    email_verified_at=self.today - timedelta(days=90),
                )
            )
            people.append(user)
        self.session.flush()
        return people

    # Moments -------------------------------------------------------------------------------

    def _review_closes(self, published: datetime) -> datetime:
        tz = self.settings.time_zone
        closes = service.deadline_after(published, self.settings.vacancy_min_posting_days, tz)
        return service.deadline_after(closes, self.settings.vacancy_review_days, tz)

    def _published_for_test_at(self, opens: datetime) -> datetime:
        """Return a publication moment whose windows (and reviews) are over by `opens`."""
        published = opens - timedelta(days=20)
        while self._review_closes(published) >= opens - timedelta(hours=1):
            published -= timedelta(days=1)
        return published

    def _results_for_appointment_at(self, appointed: datetime) -> datetime:
        tz = self.settings.time_zone
        published = appointed - timedelta(days=7)
        while service.deadline_after(
            published, self.settings.vacancy_appeal_days, tz
        ) >= appointed - timedelta(hours=1):
            published -= timedelta(days=1)
        return published

    # Steps ---------------------------------------------------------------------------------

    def build(self) -> None:
        day = timedelta(days=1)
        today = self.today
        a, b, c, d = self.people[:4]
        e, f = self.people[4:6]
        me = self.candidate

        # Accepting applications: published two days ago; two people have applied.
        vacancy = self.publish("open", today - 2 * day)
        self.seat_panel(vacancy, today - 2 * day)
        for person in (a, e):
            self.apply(vacancy, person, today - day)
        # One of them asks for reasonable adjustments, for HR to decide.
        self.ask_adjustments(vacancy, e, today - day + timedelta(hours=1))

        # The knowledge test opened yesterday: the demo candidate can take it now.
        opens = today - day
        vacancy = self.publish("testing", self._published_for_test_at(opens))
        people = [Person(me, 0, (0, 0, 0), (0, 0, 0)), Person(b, 7, (3, 3, 3), (3, 3, 3))]
        people += [Person(f, 6, (2, 3, 2), (3, 2, 3))]
        self.run_to_test(vacancy, people, opens)
        self.take_tests(vacancy, people[1:], opens + timedelta(hours=2))

        # Interviews: the sift was locked two days ago; members 2 and 3 have interviewed.
        locked = today - 2 * day
        vacancy = self.publish("interview", self._published_for_test_at(locked - 6 * day))
        people = [
            Person(a, 7, (3, 3, 4), (3, 3, 3)),
            Person(c, 6, (3, 2, 3), (3, 3, 2)),
            Person(e, 8, (4, 3, 3), (4, 3, 4)),
            Person(f, 4, (2, 2, 2), (2, 2, 2)),  # below the test's pass mark
            Person(me, 7, (3, 3, 3), (0, 0, 0)),  # interviewed tomorrow (plan_interviews)
        ]
        self.run_to_interview(vacancy, people, locked)
        self.interview(vacancy, people[:-1], today - day, members=self.panel[1:])
        self.plan_interviews(vacancy, people[:-1], locked)
        self.answer_monitoring(vacancy, people)
        self.plan_sittings(self.vacancy_at("testing"), opens - day)

        # Merit list published yesterday: its appeal window is open; the demo candidate is on
        # it (second of three).
        published = today - day
        vacancy = self.publish("results", self._published_for_test_at(published - 10 * day))
        people = [
            Person(me, 7, (3, 3, 3), (3, 3, 3)),
            Person(b, 8, (4, 3, 4), (4, 4, 3)),
            Person(d, 6, (3, 2, 2), (2, 3, 2)),
            Person(e, 3, (2, 2, 2), (2, 2, 2)),  # below the test's pass mark
        ]
        self.run_to_interview(vacancy, people, published - 4 * day)
        self.interview(vacancy, people, published - 2 * day, members=self.panel)
        self.publish_results(vacancy, published)

        # Appointed ten days ago, the top of the list; the rest is the reserve list.
        appointed = today - 10 * day
        published = self._results_for_appointment_at(appointed)
        vacancy = self.publish("appointed", self._published_for_test_at(published - 10 * day))
        people = [
            Person(c, 8, (4, 4, 3), (4, 4, 4)),
            Person(a, 6, (3, 3, 2), (3, 2, 3)),
            Person(f, 7, (3, 3, 3), (3, 3, 3)),
        ]
        self.run_to_interview(vacancy, people, published - 4 * day)
        self.interview(vacancy, people, published - 2 * day, members=self.panel)
        self.publish_results(vacancy, published)
        with clock.frozen(appointed):
            top = service.remaining_order(self.session, vacancy)[0][1]
            service.propose_appointment(
                self.session, vacancy=vacancy, application=top, justification="", actor=self.hr
            )

    def publish(self, stage: str, moment: datetime) -> Vacancy:
        """Draft, approve and publish the competition of `stage` at `moment`."""
        position = self.positions[stage]
        session, settings = self.session, self.settings
        with clock.frozen(moment - timedelta(days=3)):
            vacancy = service.create_vacancy(session, settings, position=position, actor=self.hr)
            criteria = {
                c["competency"]: str(c["required_level"])
                for c in vacancy.criteria[:CRITERIA_PER_VACANCY]
            }
            data = NoticeInput(
                title=position.title,
                summary=SUMMARIES[stage],
                criteria=criteria,
                knowledge_domains=sorted({row[0] for row in BLUEPRINT}),
                blueprint=list(BLUEPRINT),
                test_minutes="30",
                eligibility=list(ELIGIBILITY),
                posting_days=str(settings.vacancy_min_posting_days),
            )
            service.update_draft(session, settings, vacancy=vacancy, data=data, actor=self.hr)
            for code in criteria:
                service.add_interview_question(
                    session,
                    vacancy=vacancy,
                    competency_code=code,
                    text=INTERVIEW_QUESTIONS.get(code, INTERVIEW_QUESTIONS["communication"]),
                    actor=self.hr,
                )
            service.submit_for_approval(session, settings, vacancy=vacancy, actor=self.hr)
        with clock.frozen(moment - timedelta(days=1)):
            service.approve(session, settings, vacancy=vacancy, actor=self.approver)
        with clock.frozen(moment):
            service.publish(session, settings, vacancy=vacancy, actor=self.hr)
        return vacancy

    def seat_panel(self, vacancy: Vacancy, moment: datetime) -> None:
        with clock.frozen(moment):
            for member in self.panel:
                service.appoint_panel_member(
                    self.session, vacancy=vacancy, user=member, actor=self.hr
                )

    def apply(self, vacancy: Vacancy, user: User, moment: datetime) -> Application:
        names = service.competency_names(self.session)
        evidence = {
            c["competency"]: (
                f"En mi puesto actual apliqué «{names[c['competency']].name_es}» al conducir "
                "tres procedimientos de compra de insumos médicos; documenté cada decisión en "
                "el expediente y los contratos se firmaron en tiempo."
            )
            for c in vacancy.criteria
        }
        answers = {q["key"]: q["pass_answer"] for q in vacancy.eligibility}
        with clock.frozen(moment):
            return service.apply(
                self.session,
                self.settings,
                vacancy=vacancy,
                user=user,
                data=ApplicationInput(answers, evidence),
            )

    def run_to_test(self, vacancy: Vacancy, people: list[Person], opens: datetime) -> None:
        """Seat the panel, take the applications and open the test at `opens`."""
        published = vacancy.published_at
        self.seat_panel(vacancy, published)
        for index, person in enumerate(people):
            self.apply(vacancy, person.user, published + timedelta(days=1, hours=index))
        with clock.frozen(opens):
            service.open_test(self.session, self.settings, vacancy=vacancy, actor=self.hr)

    def take_tests(self, vacancy: Vacancy, people: list[Person], moment: datetime) -> None:
        for person in people:
            application = service.application_of(self.session, vacancy, person.user)
            with clock.frozen(moment):
                attempt = service.start_test(
                    self.session, application=application, user=person.user
                )
                answers = {}
                for index, question in enumerate(service.questions_of(self.session, attempt)):
                    right = question.correct_option
                    wrong = (right + 1) % len(question.options)
                    answers[question.id] = right if index < person.right else wrong
            with clock.frozen(moment + timedelta(minutes=20)):
                service.submit(self.session, attempt=attempt, user=person.user, answers=answers)

    def run_to_interview(self, vacancy: Vacancy, people: list[Person], locked: datetime) -> None:
        """Run the test, the declarations and the sift; lock the sift at `locked`."""
        session, day = self.session, timedelta(days=1)
        opens = locked - 5 * day
        self.run_to_test(vacancy, people, opens)
        self.take_tests(vacancy, people, opens + timedelta(hours=2))
        with clock.frozen(opens + 2 * day):
            service.close_test(session, vacancy=vacancy, actor=self.hr)
        with clock.frozen(opens + 3 * day):
            for member in self.panel:
                lines = service.declaration_sheet(session, vacancy=vacancy, user=member)
                service.declare(
                    session,
                    vacancy=vacancy,
                    user=member,
                    decisions={
                        line.application.id: (False, "Sin relación personal ni laboral.")
                        for line in lines
                        if line.declaration is None
                    },
                )
        self._score(vacancy, people, Stage.sift, opens + 4 * day, self.panel)
        with clock.frozen(locked):
            service.lock_sift(session, vacancy=vacancy, actor=self.hr)

    # Calendar slots ------------------------------------------------------------------------

    def _local(self, days: int, hour: int, minute: int = 0) -> datetime:
        """Return `hour`:`minute` in the organisation's zone `days` after today, in UTC."""
        zone = clock.zone(self.settings.time_zone)
        local = (self.today.astimezone(zone) + timedelta(days=days)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        return local.astimezone(UTC)

    def _slot(self, vacancy, kind: str, start: datetime, minutes: int, where: tuple, places: int):
        place, link = where
        data = service.SlotInput(
            kind=kind,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(minutes=minutes)).isoformat(),
            place=place,
            video_link=link,
            capacity=str(places),
        )
        return service.create_slot(
            self.session, self.settings, vacancy=vacancy, data=data, actor=self.hr
        )

    def plan_interviews(self, vacancy: Vacancy, others: list[Person], locked: datetime) -> None:
        """Interview times: yesterday's, where the others were interviewed; the demo
        candidate's tomorrow, and free places the day after (to move to)."""
        session, settings = self.session, self.settings
        room = (INTERVIEW_ROOM, "")
        active = {a.user_id for a in service.active_applications(session, vacancy)}
        interviewed = [p.user for p in others if p.user.id in active]
        with clock.frozen(locked + timedelta(hours=1)):
            past = self._slot(vacancy, "interview", self._local(-1, 10), 90, room, len(interviewed))
            mine = self._slot(vacancy, "interview", self._local(1, 10), 60, room, 1)
            self._slot(vacancy, "interview", self._local(2, 12), 60, ("", INTERVIEW_LINK), 2)
            for user, slot in [(u, past) for u in interviewed] + [(self.candidate, mine)]:
                application = service.application_of(session, vacancy, user)
                service.book(
                    session,
                    settings,
                    vacancy=vacancy,
                    application=application,
                    slot=slot,
                    actor=user,
                )

    def plan_sittings(self, vacancy: Vacancy, moment: datetime) -> None:
        """Two sittings of the open knowledge test, tomorrow and the day after: the demo
        candidate has not chosen one yet."""
        with clock.frozen(moment):
            for days in (1, 2):
                self._slot(vacancy, "test", self._local(days, 9), 90, (SITTING_ROOM, ""), 20)

    def vacancy_at(self, stage: str) -> Vacancy:
        """Return the demo competition built for `stage`."""
        position = self.positions[stage]
        return self.session.exec(
            select(Vacancy).where(Vacancy.position_id == position.id).order_by(col(Vacancy.id))
        ).first()

    def interview(self, vacancy, people: list[Person], moment: datetime, *, members) -> None:
        self._score(vacancy, people, Stage.interview, moment, members)

    def _score(self, vacancy, people: list[Person], stage: Stage, moment, members) -> None:
        session = self.session
        active = {a.id for a in service.active_applications(session, vacancy)}
        with clock.frozen(moment):
            for person in people:
                application = service.application_of(session, vacancy, person.user)
                if application.id not in active:
                    continue
                values = person.sift if stage == Stage.sift else person.interview
                for member in members:
                    value = values[self.panel.index(member)]
                    service.record_scores(
                        session,
                        vacancy=vacancy,
                        application=application,
                        stage=stage,
                        scores={c["competency"]: (str(value), "") for c in vacancy.criteria},
                        rater=member,
                    )
                if len(members) == len(self.panel):
                    service.accept_suggested(
                        session,
                        vacancy=vacancy,
                        application=application,
                        stage=stage,
                        actor=members[0],
                    )

    def publish_results(self, vacancy: Vacancy, moment: datetime) -> None:
        with clock.frozen(moment):
            service.publish_results(self.session, self.settings, vacancy=vacancy, actor=self.hr)

    # Fairness: reasonable adjustments and equal-opportunity answers ------------------------

    def ask_adjustments(self, vacancy: Vacancy, user: User, moment: datetime) -> None:
        """A pending request: extra time and larger print, with the candidate's words."""
        application = service.application_of(self.session, vacancy, user)
        data = AdjustmentInput(
            kinds=["extra_time", "large_print"],
            extra_percent="25",
            details="Tengo baja visión: leo con lentes de aumento y más despacio que otras "
            "personas. Adjunto el dictamen de mi oftalmóloga si se requiere.",
        )
        with clock.frozen(moment):
            service.request_adjustment(self.session, application=application, user=user, data=data)

    def answer_monitoring(self, vacancy: Vacancy, people: list[Person]) -> None:
        """Everyone answers the optional questionnaire, so the statistics page has figures,
        and small cells show as suppressed."""
        answers = [
            {"sex": "woman", "age_band": "from_30", "disability": "no"},
            {"sex": "man", "age_band": "from_40", "disability": "no"},
            {"sex": "woman", "age_band": "under_30", "disability": "no"},
            {
                "sex": "woman",
                "age_band": "from_30",
                "disability": "no",
                "indigenous_language": "yes",
            },
            {"sex": "man", "age_band": "from_50", "disability": "no"},
        ]
        for person, given in zip(people, answers, strict=False):
            application = service.application_of(self.session, vacancy, person.user)
            service.answer_questionnaire(
                self.session,
                self.settings,
                application=application,
                user=person.user,
                answers=given,
            )


def _email_domain() -> str:
    return demo.EMAIL_DOMAIN
