"""The competition's rules from draft to publication: the notice, approval, amendments, panel.

Plain functions taking a Session and keyword arguments. Bad input raises VacancyError with a
translated message (and the form field), and nothing is written: callers commit only on success.
Every state change is audited in the same transaction. Other stages live beside this module:
`applications` (applying, screening), `testing` (question bank, the test), `scoring`
(conflicts, panel scores, consensus), `merit` (merit list, appeals, appointment) and `integrity`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.auth.permissions import Permission, Role
from backend.auth.service import roles_of
from backend.config import Settings
from backend.i18n import _
from backend.org import service as org_service
from backend.org.models import Employee, Position, Unit
from competency_framework import service as competency_service
from competency_framework.models import Importance

from . import clock, workdays
from .models import (
    Application,
    ApplicationStatus,
    BankQuestion,
    InterviewQuestion,
    KnowledgeDomain,
    PanelMember,
    TieBreak,
    Vacancy,
    VacancyAmendment,
    VacancyStatus,
)

MAX_TEXT = 2000
MAX_SUMMARY = 4000
MAX_ELIGIBILITY = 10
MAX_BLUEPRINT_ROWS = 12
MIN_PANEL = 3
MAX_PANEL = 9
# Statuses in which the notice is public.
PUBLIC_STATUSES = (
    VacancyStatus.published,
    VacancyStatus.testing,
    VacancyStatus.sift,
    VacancyStatus.interview,
    VacancyStatus.results,
    VacancyStatus.appointed,
)
# The fields of the notice; locked at publication, changed only by a formal amendment.
NOTICE_FIELDS = (
    "title",
    "summary",
    "criteria",
    "knowledge_domains",
    "weight_test",
    "weight_sift",
    "weight_interview",
    "weight_justification",
    "pass_mark_test",
    "pass_mark_sift",
    "pass_mark_interview",
    "tie_break",
    "panel_size",
    "blueprint",
    "test_minutes",
    "eligibility",
    "posting_days",
)


class VacancyError(ValueError):
    """A competition rule was broken. Message translated; `errors` maps form fields to messages."""

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        status_code: int = 422,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.status_code = status_code
        self.errors = errors or ({field: message} if field else {})


def now_or(now: datetime | None) -> datetime:
    """Return `now`, or the competition clock's current time."""
    return now if now is not None else clock.now()


def can(session: Session, user: User, permission: Permission) -> bool:
    """Return whether `user` holds `permission` through their roles."""
    from backend.auth.permissions import permissions_for

    return permission in permissions_for(roles_of(session, user))


def _text(value: Any, *, field: str, limit: int = MAX_TEXT, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise VacancyError(_("This field is required."), field=field)
    if len(text) > limit:
        raise VacancyError(
            _("Keep this under %(limit)s characters.", limit=f"{limit:,}"), field=field
        )
    return text


def require_reason(value: Any, *, field: str = "reason") -> str:
    """Return a written reason, or raise VacancyError when it is missing."""
    text = _text(value, field=field)
    if len(text) < 5:
        raise VacancyError(_("Give a written reason."), field=field)
    return text


# --- lookups ------------------------------------------------------------------------------------


def get_vacancy(session: Session, vacancy_id: int) -> Vacancy | None:
    return session.get(Vacancy, vacancy_id)


def hiring_unit(session: Session, vacancy: Vacancy) -> Unit | None:
    return session.get(Unit, vacancy.unit_id)


def position_of(session: Session, vacancy: Vacancy) -> Position | None:
    return session.get(Position, vacancy.position_id)


def list_vacancies(session: Session, *, statuses: tuple[str, ...] | None = None) -> list[Vacancy]:
    """Return vacancies (newest first), optionally only those in `statuses`."""
    statement = select(Vacancy).order_by(col(Vacancy.id).desc())
    if statuses:
        statement = statement.where(col(Vacancy.status).in_(statuses))
    return list(session.exec(statement))


def public_vacancies(session: Session) -> list[Vacancy]:
    """Return the vacancies on the public board, open windows first."""
    found = list_vacancies(session, statuses=PUBLIC_STATUSES)
    moment = clock.now()
    return sorted(found, key=lambda v: (not window_open(v, moment), -(v.id or 0)))


def open_for_applications(session: Session, now: datetime | None = None) -> int:
    """Return how many vacancies accept applications now (one count, no rows loaded)."""
    statement = (
        select(func.count())
        .select_from(Vacancy)
        .where(
            Vacancy.status == VacancyStatus.published,
            col(Vacancy.closes_at).is_not(None),
            col(Vacancy.closes_at) >= now_or(now),
        )
    )
    return session.exec(statement).one()


def window_open(vacancy: Vacancy, now: datetime | None = None) -> bool:
    """True while applications are accepted."""
    return (
        vacancy.status == VacancyStatus.published
        and vacancy.closes_at is not None
        and now_or(now) <= vacancy.closes_at
    )


def counts_by_status(session: Session) -> dict[str, int]:
    """Return {status: number of vacancies}."""
    rows = session.exec(select(Vacancy.status, func.count()).group_by(Vacancy.status)).all()
    return dict(rows)


def competency_names(session: Session) -> dict[str, Any]:
    """Return {code: Competency} for the framework."""
    return {c.code: c for c in competency_service.list_competencies(session)}


def domains(session: Session) -> list[KnowledgeDomain]:
    return list(session.exec(select(KnowledgeDomain).order_by(col(KnowledgeDomain.code))))


def amendments(session: Session, vacancy: Vacancy) -> list[VacancyAmendment]:
    return list(
        session.exec(
            select(VacancyAmendment)
            .where(VacancyAmendment.vacancy_id == vacancy.id)
            .order_by(col(VacancyAmendment.number))
        )
    )


def _record(
    session: Session,
    *,
    action: str,
    actor: Any,
    vacancy: Vacancy,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    audit.record(
        session,
        action=action,
        actor=actor,
        entity_type="vacancy",
        entity_id=vacancy.id,
        before=before,
        after=after,
    )


# --- the notice ---------------------------------------------------------------------------------


@dataclass
class NoticeInput:
    """What the vacancy form sends, unparsed (strings as typed)."""

    title: str = ""
    summary: str = ""
    # {competency code: required level as typed}; codes left out are not assessed
    criteria: dict[str, str] = field(default_factory=dict)
    knowledge_domains: list[str] = field(default_factory=list)
    weight_test: str = "1"
    weight_sift: str = "1"
    weight_interview: str = "1"
    weight_justification: str = ""
    pass_mark_test: str = "60"  # noqa: S105 - a percentage, not a password
    pass_mark_sift: str = "50"  # noqa: S105 - a percentage, not a password
    pass_mark_interview: str = "50"  # noqa: S105 - a percentage, not a password
    tie_break: str = TieBreak.test_score
    panel_size: str = "3"
    # [(domain code, difficulty or "", count)]
    blueprint: list[tuple[str, str, str]] = field(default_factory=list)
    test_minutes: str = "45"
    # [(question text, "yes"/"no")]
    eligibility: list[tuple[str, str]] = field(default_factory=list)
    posting_days: str = "10"


def _int(value: Any, *, field: str, low: int, high: int, message: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text.lstrip("-").isdigit():
        raise VacancyError(message, field=field)
    number = int(text)
    if not low <= number <= high:
        raise VacancyError(message, field=field)
    return number


def parse_notice(session: Session, settings: Settings, data: NoticeInput) -> dict[str, Any]:
    """Return the notice fields checked and normalised, or raise VacancyError (every problem)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def attempt(name: str, fn) -> None:
        try:
            values[name] = fn()
        except VacancyError as err:
            errors[err.field or name] = str(err)

    attempt("title", lambda: _text(data.title, field="title", limit=200, required=True))
    attempt("summary", lambda: _text(data.summary, field="summary", limit=MAX_SUMMARY))
    competencies = competency_names(session)

    def criteria() -> list[dict]:
        chosen = []
        for code, level in data.criteria.items():
            if code not in competencies:
                raise VacancyError(_("Unknown competency: %(code)s.", code=code), field="criteria")
            number = _int(
                level,
                field=f"level_{code}",
                low=1,
                high=4,
                message=_("Choose a required level from 1 to 4."),
            )
            chosen.append({"competency": code, "required_level": number})
        if not chosen:
            raise VacancyError(_("Choose at least one competency to assess."), field="criteria")
        order = {code: c.order for code, c in competencies.items()}
        return sorted(chosen, key=lambda c: order[c["competency"]])

    attempt("criteria", criteria)
    known_domains = {d.code for d in domains(session)}

    def domain_list() -> list[str]:
        picked = sorted({d.strip() for d in data.knowledge_domains if d.strip()})
        unknown = [d for d in picked if d not in known_domains]
        if unknown:
            raise VacancyError(
                _("Unknown knowledge domain: %(code)s.", code=unknown[0]),
                field="knowledge_domains",
            )
        if not picked:
            raise VacancyError(
                _("Choose at least one knowledge domain for the test."), field="knowledge_domains"
            )
        return picked

    attempt("knowledge_domains", domain_list)
    weight_message = _("A weight is a whole number from 1 to 100.")
    for stage in ("test", "sift", "interview"):
        attempt(
            f"weight_{stage}",
            lambda stage=stage: _int(
                getattr(data, f"weight_{stage}"),
                field=f"weight_{stage}",
                low=1,
                high=100,
                message=weight_message,
            ),
        )
    attempt(
        "weight_justification",
        lambda: _text(data.weight_justification, field="weight_justification"),
    )
    weights = [values.get(f"weight_{s}") for s in ("test", "sift", "interview")]
    if None not in weights and len(set(weights)) > 1 and not values.get("weight_justification"):
        errors["weight_justification"] = _(
            "The stages weigh the same unless you write why they should not."
        )
    if None not in weights and len(set(weights)) == 1:
        # Equal weights are the rule: store them as 1:1:1 so the notice reads the same.
        values.update(weight_test=1, weight_sift=1, weight_interview=1)
    pass_message = _("A pass mark is a percentage from 0 to 100.")
    for stage in ("test", "sift", "interview"):
        attempt(
            f"pass_mark_{stage}",
            lambda stage=stage: _int(
                getattr(data, f"pass_mark_{stage}"),
                field=f"pass_mark_{stage}",
                low=0,
                high=100,
                message=pass_message,
            ),
        )

    def tie_break() -> str:
        if data.tie_break not in TieBreak.__members__:
            raise VacancyError(_("Choose a tie-break rule."), field="tie_break")
        return data.tie_break

    attempt("tie_break", tie_break)
    attempt(
        "panel_size",
        lambda: _int(
            data.panel_size,
            field="panel_size",
            low=MIN_PANEL,
            high=MAX_PANEL,
            message=_(
                "A panel has from %(low)s to %(high)s members.", low=MIN_PANEL, high=MAX_PANEL
            ),
        ),
    )

    def blueprint() -> list[dict]:
        rows = []
        for index, (domain, difficulty, count) in enumerate(data.blueprint):
            if not domain.strip() and not str(count).strip():
                continue
            if domain not in known_domains:
                raise VacancyError(
                    _("Choose a knowledge domain for each row of the test."),
                    field=f"blueprint_domain_{index}",
                )
            if domain not in values.get("knowledge_domains", []):
                raise VacancyError(
                    _("The test can only draw from the knowledge domains of this vacancy."),
                    field=f"blueprint_domain_{index}",
                )
            level = None
            if str(difficulty).strip():
                level = _int(
                    difficulty,
                    field=f"blueprint_difficulty_{index}",
                    low=1,
                    high=3,
                    message=_("Difficulty is 1 (easy), 2 (medium) or 3 (hard)."),
                )
            number = _int(
                count,
                field=f"blueprint_count_{index}",
                low=1,
                high=100,
                message=_("Draw from 1 to 100 questions per row."),
            )
            rows.append({"domain": domain, "difficulty": level, "count": number})
        if not rows:
            raise VacancyError(
                _("The test blueprint needs at least one row."), field="blueprint_domain_0"
            )
        if len(rows) > MAX_BLUEPRINT_ROWS:
            raise VacancyError(_("Use at most 12 rows."), field="blueprint_domain_0")
        return rows

    attempt("blueprint", blueprint)
    attempt(
        "test_minutes",
        lambda: _int(
            data.test_minutes,
            field="test_minutes",
            low=5,
            high=240,
            message=_("The time limit is from 5 to 240 minutes."),
        ),
    )

    def eligibility() -> list[dict]:
        rows = []
        for index, (text, answer) in enumerate(data.eligibility):
            text = text.strip()
            if not text:
                continue
            if len(text) > 500:
                raise VacancyError(
                    _("Keep each question under 500 characters."),
                    field=f"eligibility_text_{index}",
                )
            if answer not in ("yes", "no"):
                raise VacancyError(
                    _("Choose the answer that meets the requirement."),
                    field=f"eligibility_answer_{index}",
                )
            rows.append({"key": f"q{len(rows) + 1}", "text": text, "pass_answer": answer})
        if len(rows) > MAX_ELIGIBILITY:
            raise VacancyError(
                _("Ask at most 10 eligibility questions."), field="eligibility_text_0"
            )
        return rows

    attempt("eligibility", eligibility)
    minimum = settings.vacancy_min_posting_days
    attempt(
        "posting_days",
        lambda: _int(
            data.posting_days,
            field="posting_days",
            low=minimum,
            high=60,
            message=_(
                "The posting period is at least %(min)s working days (at most 60).", min=minimum
            ),
        ),
    )
    if errors:
        raise VacancyError(
            _("Some details of the vacancy are missing or not valid."),
            errors=errors,
            field=next(iter(errors)),
        )
    return values


def notice_input_of(vacancy: Vacancy) -> NoticeInput:
    """Return the vacancy's notice as form input (to edit or amend it)."""
    return NoticeInput(
        title=vacancy.title,
        summary=vacancy.summary,
        criteria={c["competency"]: str(c["required_level"]) for c in vacancy.criteria},
        knowledge_domains=list(vacancy.knowledge_domains),
        weight_test=str(vacancy.weight_test),
        weight_sift=str(vacancy.weight_sift),
        weight_interview=str(vacancy.weight_interview),
        weight_justification=vacancy.weight_justification,
        pass_mark_test=str(vacancy.pass_mark_test),
        pass_mark_sift=str(vacancy.pass_mark_sift),
        pass_mark_interview=str(vacancy.pass_mark_interview),
        tie_break=vacancy.tie_break,
        panel_size=str(vacancy.panel_size),
        blueprint=[
            (r["domain"], str(r["difficulty"] or ""), str(r["count"])) for r in vacancy.blueprint
        ],
        test_minutes=str(vacancy.test_minutes),
        eligibility=[(q["text"], q["pass_answer"]) for q in vacancy.eligibility],
        posting_days=str(vacancy.posting_days),
    )


def weight_shares(vacancy: Vacancy) -> dict[str, float]:
    """Return each stage's share of the total (fractions summing to 1)."""
    total = vacancy.weight_test + vacancy.weight_sift + vacancy.weight_interview
    return {
        "test": vacancy.weight_test / total,
        "sift": vacancy.weight_sift / total,
        "interview": vacancy.weight_interview / total,
    }


def notice_document(session: Session, vacancy: Vacancy) -> dict[str, Any]:
    """Return the notice as published: everything a candidate is judged by."""
    position = position_of(session, vacancy)
    unit = hiring_unit(session, vacancy)
    shares = weight_shares(vacancy)
    return {
        "reference": vacancy.reference,
        "title": vacancy.title,
        "summary": vacancy.summary,
        "position": {
            "code": position.code if position else "",
            "grade": position.grade if position else "",
        },
        "hiring_unit": {"code": unit.code if unit else "", "name": unit.name if unit else ""},
        "competency_profile": {"key": vacancy.profile_key, "version": vacancy.profile_version},
        "criteria": vacancy.criteria,
        "knowledge_domains": vacancy.knowledge_domains,
        "weights": {
            "test": vacancy.weight_test,
            "sift": vacancy.weight_sift,
            "interview": vacancy.weight_interview,
            "shares_percent": {k: round(v * 100, 2) for k, v in shares.items()},
            "justification": vacancy.weight_justification,
        },
        "pass_marks_percent": {
            "test": vacancy.pass_mark_test,
            "sift": vacancy.pass_mark_sift,
            "interview": vacancy.pass_mark_interview,
        },
        "tie_break": vacancy.tie_break,
        "panel_size": vacancy.panel_size,
        "test_blueprint": {"questions": vacancy.blueprint, "minutes": vacancy.test_minutes},
        "eligibility": vacancy.eligibility,
        "open_to": ["internal", "external"],
        "posting_working_days": vacancy.posting_days,
        "closes_at": vacancy.closes_at.isoformat() if vacancy.closes_at else None,
    }


def canonical_notice(notice: dict[str, Any]) -> bytes:
    """Return the notice's canonical bytes (sorted keys, compact, UTF-8): what is hashed."""
    return json.dumps(notice, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def notice_hash(notice: dict[str, Any]) -> str:
    """Return the SHA-256 (hex) of the notice's canonical bytes."""
    return hashlib.sha256(canonical_notice(notice)).hexdigest()


# --- drafting -----------------------------------------------------------------------------------


def _next_reference(session: Session, moment: datetime) -> str:
    year = moment.year
    count = session.exec(
        select(func.count())
        .select_from(Vacancy)
        .where(col(Vacancy.reference).like(f"VAC-{year}-%"))
    ).one()
    return f"VAC-{year}-{count + 1:04d}"


def default_criteria(session: Session, position: Position) -> tuple[list[dict], str, int]:
    """Return the essential requirements of the position's competency profile (and its key)."""
    profile = competency_service.profile_for_position(session, position)
    if profile is None:
        return [], "", 0
    codes = {c.id: c for c in competency_service.list_competencies(session)}
    requirements = competency_service.requirements_of(session, profile)
    criteria = [
        {"competency": codes[cid].code, "required_level": r.level}
        for cid, r in sorted(requirements.items(), key=lambda kv: codes[kv[0]].order)
        if cid in codes and r.level > 0 and r.importance == Importance.essential
    ]
    return criteria, profile.key, profile.current_version


def create_vacancy(
    session: Session, settings: Settings, *, position: Position, actor: User
) -> Vacancy:
    """Create a draft vacancy for `position`, its criteria taken from its competency profile."""
    if position is None:
        raise VacancyError(_("Choose a position."), field="position", status_code=404)
    criteria, profile_key, profile_version = default_criteria(session, position)
    if not criteria:
        raise VacancyError(
            _(
                "This position has no competency profile with essential requirements. Give it a "
                "role profile first."
            ),
            field="position",
        )
    moment = clock.now()
    vacancy = Vacancy(
        reference=_next_reference(session, moment),
        position_id=position.id,
        unit_id=position.unit_id,
        title=position.title,
        profile_key=profile_key,
        profile_version=profile_version,
        criteria=criteria,
        posting_days=settings.vacancy_min_posting_days,
        created_by_id=actor.id,
        created_at=moment,
    )
    session.add(vacancy)
    session.flush()
    _record(
        session,
        action="vacancy.created",
        actor=actor,
        vacancy=vacancy,
        after={"reference": vacancy.reference, "position": position.code, "criteria": criteria},
    )
    return vacancy


def _notice_snapshot(vacancy: Vacancy) -> dict[str, Any]:
    return {name: getattr(vacancy, name) for name in NOTICE_FIELDS}


def update_draft(
    session: Session, settings: Settings, *, vacancy: Vacancy, data: NoticeInput, actor: User
) -> Vacancy:
    """Change a draft's notice fields; after publication this is refused (use `amend`)."""
    if vacancy.status not in (VacancyStatus.draft,):
        if vacancy.status in PUBLIC_STATUSES:
            raise VacancyError(
                _(
                    "The notice is locked since its publication. Change it through a formal "
                    "amendment with a reason."
                ),
                status_code=409,
            )
        raise VacancyError(
            _("Only a draft can be edited. Ask the approver to return it first."), status_code=409
        )
    values = parse_notice(session, settings, data)
    before = _notice_snapshot(vacancy)
    for name, value in values.items():
        setattr(vacancy, name, value)
    session.add(vacancy)
    after = _notice_snapshot(vacancy)
    if after != before:
        _record(
            session,
            action="vacancy.draft_changed",
            actor=actor,
            vacancy=vacancy,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return vacancy


def bank_shortfalls(session: Session, vacancy: Vacancy) -> list[dict[str, Any]]:
    """Return blueprint rows the question bank cannot fill (domain, difficulty, wanted, held)."""
    problems = []
    domain_ids = {d.code: d.id for d in domains(session)}
    wanted: dict[tuple[str, int | None], int] = {}
    for row in vacancy.blueprint:
        key = (row["domain"], row.get("difficulty"))
        wanted[key] = wanted.get(key, 0) + int(row["count"])
    for (domain, difficulty), count in wanted.items():
        statement = (
            select(func.count())
            .select_from(BankQuestion)
            .where(
                BankQuestion.domain_id == domain_ids.get(domain, -1),
                col(BankQuestion.is_active).is_(True),
            )
        )
        if difficulty is not None:
            statement = statement.where(BankQuestion.difficulty == difficulty)
        held = session.exec(statement).one()
        if held < count:
            problems.append(
                {"domain": domain, "difficulty": difficulty, "wanted": count, "held": held}
            )
    return problems


def _check_complete(session: Session, settings: Settings, vacancy: Vacancy) -> None:
    parse_notice(session, settings, notice_input_of(vacancy))
    shortfalls = bank_shortfalls(session, vacancy)
    if shortfalls:
        first = shortfalls[0]
        raise VacancyError(
            _(
                "The question bank holds %(held)s suitable questions of domain %(domain)s but the "
                "test draws %(wanted)s. Add questions or change the blueprint.",
                held=first["held"],
                domain=first["domain"],
                wanted=first["wanted"],
            ),
            status_code=409,
        )


def submit_for_approval(
    session: Session, settings: Settings, *, vacancy: Vacancy, actor: User
) -> Vacancy:
    """Send a complete draft to a second person for approval."""
    if vacancy.status != VacancyStatus.draft:
        raise VacancyError(_("Only a draft can be sent for approval."), status_code=409)
    _check_complete(session, settings, vacancy)
    vacancy.status = VacancyStatus.pending_approval
    vacancy.submitted_by_id = actor.id
    vacancy.submitted_at = clock.now()
    vacancy.returned_reason = ""
    session.add(vacancy)
    _record(
        session,
        action="vacancy.submitted",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.draft},
        after={"status": vacancy.status},
    )
    return vacancy


def approve(session: Session, settings: Settings, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Approve a vacancy: only someone other than its author and submitter may."""
    if vacancy.status != VacancyStatus.pending_approval:
        raise VacancyError(_("This vacancy is not awaiting approval."), status_code=409)
    if actor.id in (vacancy.created_by_id, vacancy.submitted_by_id):
        raise VacancyError(
            _("A second person must approve: you drafted or submitted this vacancy."),
            status_code=403,
        )
    if not can(session, actor, Permission.approve_vacancies):
        raise VacancyError(_("You do not have permission to do this."), status_code=403)
    _check_complete(session, settings, vacancy)
    vacancy.status = VacancyStatus.approved
    vacancy.approved_by_id = actor.id
    vacancy.approved_at = clock.now()
    session.add(vacancy)
    _record(
        session,
        action="vacancy.approved",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.pending_approval},
        after={"status": vacancy.status},
    )
    return vacancy


def return_to_draft(session: Session, *, vacancy: Vacancy, reason: str, actor: User) -> Vacancy:
    """Send a vacancy awaiting approval back to its author, with the reason."""
    if vacancy.status not in (VacancyStatus.pending_approval, VacancyStatus.approved):
        raise VacancyError(_("This vacancy is not awaiting approval."), status_code=409)
    if actor.id == vacancy.submitted_by_id and vacancy.status == VacancyStatus.pending_approval:
        # Authors may withdraw their own submission; that needs a reason too.
        pass
    reason = require_reason(reason)
    before = vacancy.status
    vacancy.status = VacancyStatus.draft
    vacancy.returned_reason = reason
    vacancy.approved_by_id = None
    vacancy.approved_at = None
    session.add(vacancy)
    _record(
        session,
        action="vacancy.returned",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": vacancy.status, "reason": reason},
    )
    return vacancy


def publish(session: Session, settings: Settings, *, vacancy: Vacancy, actor: User) -> Vacancy:
    """Publish an approved vacancy: the notice is locked and hashed, the window opens."""
    if vacancy.status != VacancyStatus.approved:
        raise VacancyError(_("Only an approved vacancy can be published."), status_code=409)
    _check_complete(session, settings, vacancy)
    moment = clock.now()
    vacancy.status = VacancyStatus.published
    vacancy.published_at = moment
    vacancy.published_by_id = actor.id
    vacancy.notice_changed_at = moment
    vacancy.closes_at = workdays.deadline_after(moment, vacancy.posting_days, settings.time_zone)
    document = notice_document(session, vacancy)
    vacancy.notice = document
    vacancy.notice_sha256 = notice_hash(document)
    session.add(vacancy)
    _record(
        session,
        action="vacancy.published",
        actor=actor,
        vacancy=vacancy,
        before={"status": VacancyStatus.approved},
        after={
            "status": vacancy.status,
            "notice_sha256": vacancy.notice_sha256,
            "closes_at": vacancy.closes_at,
        },
    )
    return vacancy


def amend(
    session: Session,
    settings: Settings,
    *,
    vacancy: Vacancy,
    data: NoticeInput,
    reason: str,
    actor: User,
) -> VacancyAmendment:
    """Publish a formal amendment to a locked notice; it reopens the application window.

    The window closes no earlier than `vacancy_amendment_min_days` working days after the
    amendment, so every candidate can react to the changed notice.
    """
    if vacancy.status != VacancyStatus.published:
        raise VacancyError(
            _("The notice can only be amended before the knowledge test opens."), status_code=409
        )
    reason = require_reason(reason)
    values = parse_notice(session, settings, data)
    # The posting period was fixed at publication; an amendment moves the closing date instead.
    values.pop("posting_days", None)
    changes = {
        name: {"before": getattr(vacancy, name), "after": value}
        for name, value in values.items()
        if getattr(vacancy, name) != value
    }
    if not changes:
        raise VacancyError(_("Nothing was changed in the notice."), field="title")
    for name, change in changes.items():
        setattr(vacancy, name, change["after"])
    shortfalls = bank_shortfalls(session, vacancy)
    if shortfalls:
        for name, change in changes.items():
            setattr(vacancy, name, change["before"])
        first = shortfalls[0]
        raise VacancyError(
            _(
                "The question bank holds %(held)s suitable questions of domain %(domain)s but the "
                "test draws %(wanted)s. Add questions or change the blueprint.",
                held=first["held"],
                domain=first["domain"],
                wanted=first["wanted"],
            ),
            status_code=409,
        )
    moment = clock.now()
    reopened_until = workdays.deadline_after(
        moment, settings.vacancy_amendment_min_days, settings.time_zone
    )
    closes_before = vacancy.closes_at
    vacancy.closes_at = max(closes_before or reopened_until, reopened_until)
    vacancy.notice_changed_at = moment
    previous = vacancy.notice_sha256
    document = notice_document(session, vacancy)
    vacancy.notice = document
    vacancy.notice_sha256 = notice_hash(document)
    number = len(amendments(session, vacancy)) + 1
    amendment = VacancyAmendment(
        vacancy_id=vacancy.id,
        number=number,
        reason=reason,
        changes=audit._plain(changes),
        previous_sha256=previous,
        notice_sha256=vacancy.notice_sha256,
        closes_at_before=closes_before,
        closes_at_after=vacancy.closes_at,
        published_by_id=actor.id,
        published_at=moment,
    )
    session.add(vacancy)
    session.add(amendment)
    session.flush()
    _record(
        session,
        action="vacancy.amended",
        actor=actor,
        vacancy=vacancy,
        before={"notice_sha256": previous, "closes_at": closes_before},
        after={
            "amendment": number,
            "reason": reason,
            "changes": changes,
            "notice_sha256": vacancy.notice_sha256,
            "closes_at": vacancy.closes_at,
        },
    )
    return amendment


def cancel(session: Session, *, vacancy: Vacancy, reason: str, actor: User) -> Vacancy:
    """Cancel a competition before anyone is appointed (the reason is published).

    Every applicant's outcome is then final and is announced as an event for the reporting
    channel's HR watch (`merit.announce_cancellation`).
    """
    from .merit import announce_cancellation

    if vacancy.status in (VacancyStatus.appointed, VacancyStatus.cancelled):
        raise VacancyError(_("This competition can no longer be cancelled."), status_code=409)
    reason = require_reason(reason)
    before = vacancy.status
    vacancy.status = VacancyStatus.cancelled
    vacancy.cancelled_at = clock.now()
    vacancy.cancel_reason = reason
    session.add(vacancy)
    announced = announce_cancellation(session, vacancy=vacancy, status_before=before)
    _record(
        session,
        action="vacancy.cancelled",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": vacancy.status, "reason": reason, "outcomes_announced": announced},
    )
    return vacancy


# --- the panel ----------------------------------------------------------------------------------


def panel_of(session: Session, vacancy: Vacancy) -> list[PanelMember]:
    return list(
        session.exec(
            select(PanelMember)
            .where(PanelMember.vacancy_id == vacancy.id)
            .order_by(col(PanelMember.id))
        )
    )


def membership(session: Session, vacancy: Vacancy, user: User) -> PanelMember | None:
    """Return the user's seat on the vacancy's panel, or None."""
    return session.exec(
        select(PanelMember).where(
            PanelMember.vacancy_id == vacancy.id, PanelMember.user_id == user.id
        )
    ).first()


def require_member(session: Session, vacancy: Vacancy, user: User) -> PanelMember:
    """Return the user's panel seat, or raise 403 for anyone not on this panel."""
    seat = membership(session, vacancy, user)
    if seat is None:
        raise VacancyError(_("You are not on the panel of this competition."), status_code=403)
    return seat


def panel_candidates(session: Session) -> list[User]:
    """Return active users holding the panel_member role (who may be appointed to panels)."""
    from backend.auth.models import UserRole

    return list(
        session.exec(
            select(User)
            .join(UserRole, col(UserRole.user_id) == User.id)
            .where(UserRole.role == Role.panel_member.value, col(User.is_active).is_(True))
            .order_by(col(User.full_name))
        )
    )


def panel_locked(session: Session, vacancy: Vacancy) -> bool:
    """True once assessment has begun: from then on the same panel assesses everyone."""
    return vacancy.status in (
        VacancyStatus.testing,
        VacancyStatus.sift,
        VacancyStatus.interview,
        VacancyStatus.results,
        VacancyStatus.appointed,
        VacancyStatus.cancelled,
    )


def appoint_panel_member(
    session: Session, *, vacancy: Vacancy, user: User, actor: User
) -> PanelMember:
    """Put a panel_member role holder on the vacancy's panel."""
    if panel_locked(session, vacancy):
        raise VacancyError(
            _(
                "The panel cannot change once assessment has begun: the same panel assesses "
                "everyone."
            ),
            status_code=409,
        )
    if Role.panel_member not in roles_of(session, user):
        raise VacancyError(
            _("Only people holding the panel member role can sit on a panel."), field="user_id"
        )
    if membership(session, vacancy, user) is not None:
        raise VacancyError(
            _("This person is already on the panel."), field="user_id", status_code=409
        )
    if len(panel_of(session, vacancy)) >= vacancy.panel_size:
        raise VacancyError(
            _("The panel already has the %(n)s members the notice states.", n=vacancy.panel_size),
            field="user_id",
            status_code=409,
        )
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    inside = False
    if employee is not None:
        inside = employee.unit_id in org_service.subtree_ids(session, vacancy.unit_id)
    seat = PanelMember(
        vacancy_id=vacancy.id,
        user_id=user.id,
        employee_id=employee.id if employee else None,
        unit_id=employee.unit_id if employee else None,
        outside_hiring_unit=not inside,
        appointed_by_id=actor.id,
        appointed_at=clock.now(),
    )
    session.add(seat)
    session.flush()
    _record(
        session,
        action="vacancy.panel_member_appointed",
        actor=actor,
        vacancy=vacancy,
        after={"user_id": user.id, "outside_hiring_unit": seat.outside_hiring_unit},
    )
    return seat


def remove_panel_member(
    session: Session, *, vacancy: Vacancy, seat: PanelMember, actor: User
) -> None:
    """Take someone off the panel before assessment begins."""
    if panel_locked(session, vacancy):
        raise VacancyError(
            _(
                "The panel cannot change once assessment has begun: the same panel assesses "
                "everyone."
            ),
            status_code=409,
        )
    from .models import ConflictDeclaration

    for row in session.exec(
        select(ConflictDeclaration).where(
            ConflictDeclaration.vacancy_id == vacancy.id,
            ConflictDeclaration.member_user_id == seat.user_id,
        )
    ):
        session.delete(row)
    session.delete(seat)
    _record(
        session,
        action="vacancy.panel_member_removed",
        actor=actor,
        vacancy=vacancy,
        before={"user_id": seat.user_id},
    )


def panel_problems(session: Session, vacancy: Vacancy) -> list[str]:
    """Return what keeps the panel from assessing (translated), or an empty list."""
    seats = panel_of(session, vacancy)
    problems = []
    if len(seats) < max(MIN_PANEL, vacancy.panel_size):
        problems.append(
            _(
                "The panel has %(have)s of the %(need)s members the notice states.",
                have=len(seats),
                need=vacancy.panel_size,
            )
        )
    if not any(s.outside_hiring_unit for s in seats):
        problems.append(_("At least one panel member must come from outside the hiring unit."))
    return problems


# --- interview questions ------------------------------------------------------------------------


def interview_questions(session: Session, vacancy: Vacancy) -> list[InterviewQuestion]:
    return list(
        session.exec(
            select(InterviewQuestion)
            .where(InterviewQuestion.vacancy_id == vacancy.id)
            .order_by(col(InterviewQuestion.order), col(InterviewQuestion.id))
        )
    )


def interview_locked(vacancy: Vacancy) -> bool:
    """True once interviews may begin: every candidate is then asked the same questions."""
    return vacancy.status in (
        VacancyStatus.interview,
        VacancyStatus.results,
        VacancyStatus.appointed,
        VacancyStatus.cancelled,
    )


def add_interview_question(
    session: Session, *, vacancy: Vacancy, competency_code: str, text: str, actor: User
) -> InterviewQuestion:
    """Add a structured-interview question for one of the vacancy's competencies."""
    if interview_locked(vacancy):
        raise VacancyError(
            _("Interviews have begun: every candidate is asked the same questions."),
            status_code=409,
        )
    if competency_code not in {c["competency"] for c in vacancy.criteria}:
        raise VacancyError(
            _("Choose one of the competencies this vacancy assesses."), field="competency"
        )
    text = _text(text, field="text", required=True)
    order = len(interview_questions(session, vacancy)) + 1
    question = InterviewQuestion(
        vacancy_id=vacancy.id, competency_code=competency_code, order=order, text=text
    )
    session.add(question)
    session.flush()
    _record(
        session,
        action="vacancy.interview_question_added",
        actor=actor,
        vacancy=vacancy,
        after={"question_id": question.id, "competency": competency_code, "text": text},
    )
    return question


def remove_interview_question(
    session: Session, *, vacancy: Vacancy, question: InterviewQuestion, actor: User
) -> None:
    if interview_locked(vacancy):
        raise VacancyError(
            _("Interviews have begun: every candidate is asked the same questions."),
            status_code=409,
        )
    session.delete(question)
    _record(
        session,
        action="vacancy.interview_question_removed",
        actor=actor,
        vacancy=vacancy,
        before={"question_id": question.id, "text": question.text},
    )


def missing_interview_questions(session: Session, vacancy: Vacancy) -> list[str]:
    """Return the vacancy's competency codes that have no interview question yet."""
    asked = {q.competency_code for q in interview_questions(session, vacancy)}
    return [c["competency"] for c in vacancy.criteria if c["competency"] not in asked]


# --- the stage ----------------------------------------------------------------------------------


def review_window_closes(settings: Settings, vacancy: Vacancy) -> datetime | None:
    """Return when screened-out candidates can no longer ask for a review."""
    if vacancy.closes_at is None:
        return None
    return workdays.deadline_after(
        vacancy.closes_at, settings.vacancy_review_days, settings.time_zone
    )


def active_applications(session: Session, vacancy: Vacancy) -> list[Application]:
    return list(
        session.exec(
            select(Application)
            .where(
                Application.vacancy_id == vacancy.id,
                Application.status == ApplicationStatus.active,
            )
            .order_by(col(Application.id))
        )
    )


def all_applications(session: Session, vacancy: Vacancy) -> list[Application]:
    return list(
        session.exec(
            select(Application)
            .where(Application.vacancy_id == vacancy.id)
            .order_by(col(Application.id))
        )
    )


def set_status(
    session: Session,
    *,
    vacancy: Vacancy,
    status: VacancyStatus,
    actor: Any,
    extra: dict | None = None,
) -> None:
    """Move the vacancy to `status` (audited)."""
    before = vacancy.status
    vacancy.status = status
    session.add(vacancy)
    _record(
        session,
        action=f"vacancy.{status.value}",
        actor=actor,
        vacancy=vacancy,
        before={"status": before},
        after={"status": status.value, **(extra or {})},
    )
