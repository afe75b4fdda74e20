"""The question bank: knowledge domains and multiple-choice questions per competency."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import _

from ..models import (
    BankQuestion,
    KnowledgeDomain,
)
from ..schemas import QuestionInput
from .base import VacancyError, competency_names
from .testing import MAX_OPTIONS

# --- knowledge domains and the bank -------------------------------------------------------------


def create_domain(
    session: Session, *, code: str, name_es: str, name_en: str, actor: User
) -> KnowledgeDomain:
    """Add a knowledge domain to draw test questions from."""
    code = code.strip().lower()
    errors = {}
    if not code or not code.replace("_", "").replace("-", "").isalnum() or len(code) > 40:
        errors["code"] = _("Use a short code of letters, digits, - or _.")
    if not name_es.strip():
        errors["name_es"] = _("Enter the Spanish name.")
    if not name_en.strip():
        errors["name_en"] = _("Enter the English name.")
    if (
        not errors
        and session.exec(select(KnowledgeDomain).where(KnowledgeDomain.code == code)).first()
    ):
        errors["code"] = _("Another knowledge domain already has this code.")
    if errors:
        raise VacancyError(
            _("Some details are missing or not valid."), errors=errors, field=next(iter(errors))
        )
    domain = KnowledgeDomain(
        code=code, name_es=name_es.strip()[:200], name_en=name_en.strip()[:200]
    )
    session.add(domain)
    session.flush()
    audit.record(
        session,
        action="knowledge_domain.created",
        actor=actor,
        entity_type="knowledge_domain",
        entity_id=domain.id,
        after={"code": code},
    )
    return domain


def add_question(session: Session, *, data: QuestionInput, actor: User) -> BankQuestion:
    """Add a multiple-choice question to the bank."""
    errors: dict[str, str] = {}
    domain = session.exec(
        select(KnowledgeDomain).where(KnowledgeDomain.code == data.domain)
    ).first()
    if domain is None:
        errors["domain"] = _("Choose a knowledge domain.")
    competency_id = None
    if data.competency:
        competency = competency_names(session).get(data.competency)
        if competency is None:
            errors["competency"] = _("Unknown competency: %(code)s.", code=data.competency)
        else:
            competency_id = competency.id
    if data.difficulty not in ("1", "2", "3"):
        errors["difficulty"] = _("Difficulty is 1 (easy), 2 (medium) or 3 (hard).")
    stem = data.stem.strip()
    if not stem or len(stem) > 2000:
        errors["stem"] = _("Write the question (up to 2,000 characters).")
    options = [o.strip() for o in data.options if o.strip()]
    if len(options) < 2 or len(options) > MAX_OPTIONS:
        errors["options"] = _("Give from 2 to 6 answer options.")
    elif len(set(options)) != len(options):
        errors["options"] = _("Two answer options are the same.")
    correct = data.correct.strip()
    if not correct.isdigit() or not 1 <= int(correct) <= len(options):
        errors["correct"] = _("Say which option is correct.")
    if errors:
        raise VacancyError(
            _("The question is not complete."), errors=errors, field=next(iter(errors))
        )
    question = BankQuestion(
        domain_id=domain.id,
        competency_id=competency_id,
        difficulty=int(data.difficulty),
        stem=stem,
        options=options,
        correct_option=int(correct) - 1,
        created_by_id=actor.id,
    )
    session.add(question)
    session.flush()
    audit.record(
        session,
        action="bank_question.created",
        actor=actor,
        entity_type="bank_question",
        entity_id=question.id,
        after={"domain": domain.code, "difficulty": question.difficulty},
    )
    return question


def bank_question(session: Session, question_id: int) -> BankQuestion:
    """Return the bank's question `question_id`, or refuse (404)."""
    question = session.get(BankQuestion, question_id)
    if question is None:
        raise VacancyError(_("This question does not exist."), status_code=404)
    return question


def retire_question(session: Session, *, question: BankQuestion, actor: User) -> BankQuestion:
    """Stop drawing a question in future tests (tests already drawn keep it)."""
    question.is_active = False
    session.add(question)
    audit.record(
        session,
        action="bank_question.retired",
        actor=actor,
        entity_type="bank_question",
        entity_id=question.id,
    )
    return question


def bank(session: Session, *, domain_id: int | None = None) -> list[BankQuestion]:
    statement = select(BankQuestion).order_by(col(BankQuestion.domain_id), col(BankQuestion.id))
    if domain_id is not None:
        statement = statement.where(BankQuestion.domain_id == domain_id)
    return list(session.exec(statement))


def bank_counts(session: Session) -> dict[tuple[int, int], int]:
    """Return {(domain_id, difficulty): active questions}."""
    rows = session.exec(
        select(BankQuestion.domain_id, BankQuestion.difficulty, func.count())
        .where(col(BankQuestion.is_active).is_(True))
        .group_by(BankQuestion.domain_id, BankQuestion.difficulty)
    ).all()
    return {(d, level): n for d, level, n in rows}
