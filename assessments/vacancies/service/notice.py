"""The notice: parsing and checking what the vacancy form sends, the canonical document and
its SHA-256 (published, and compared by amendments).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from backend import crypto
from backend.config import Settings
from backend.i18n import _

from ..models import (
    TieBreak,
    Vacancy,
)
from ..schemas import NoticeInput
from .base import (
    MAX_BLUEPRINT_ROWS,
    MAX_ELIGIBILITY,
    MAX_PANEL,
    MAX_SUMMARY,
    MIN_PANEL,
    VacancyError,
    clean_text,
    competency_names,
    domains,
    hiring_unit,
    position_of,
)

# --- the notice ---------------------------------------------------------------------------------


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

    attempt("title", lambda: clean_text(data.title, field="title", limit=200, required=True))
    attempt("summary", lambda: clean_text(data.summary, field="summary", limit=MAX_SUMMARY))
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
        lambda: clean_text(data.weight_justification, field="weight_justification"),
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
    return crypto.sha256_hex(canonical_notice(notice))
