"""The competitions' inputs and outputs: forms parsed at the edge, and the JSON API's shapes.

A route turns the posted form into one of these (`from_form`) and hands it to the service; the
service checks the rules (a weight out of range, a pass mark over 100…) and says by field what
is wrong. The `*Out` models are what `/api/v1` answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .models import TieBreak

# Rows the notice form offers for the test's blueprint and the eligibility questions.
BLUEPRINT_ROWS = 6
ELIGIBILITY_ROWS = 6


def _text(form: Mapping[str, Any], key: str, default: str = "") -> str:
    return str(form.get(key, default))


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

    @classmethod
    def from_form(cls, form: Any) -> NoticeInput:
        """Return what the vacancy form (a multi-dict) sent."""
        assessed = [key[len("assess_") :] for key in form if key.startswith("assess_")]
        return cls(
            title=_text(form, "title"),
            summary=_text(form, "summary"),
            criteria={code: _text(form, "level_" + code) for code in assessed},
            knowledge_domains=[str(v) for v in form.getlist("knowledge_domains")],
            weight_test=_text(form, "weight_test"),
            weight_sift=_text(form, "weight_sift"),
            weight_interview=_text(form, "weight_interview"),
            weight_justification=_text(form, "weight_justification"),
            pass_mark_test=_text(form, "pass_mark_test"),
            pass_mark_sift=_text(form, "pass_mark_sift"),
            pass_mark_interview=_text(form, "pass_mark_interview"),
            tie_break=_text(form, "tie_break"),
            panel_size=_text(form, "panel_size"),
            blueprint=[
                (
                    _text(form, f"blueprint_domain_{n}"),
                    _text(form, f"blueprint_difficulty_{n}"),
                    _text(form, f"blueprint_count_{n}"),
                )
                for n in range(BLUEPRINT_ROWS)
            ],
            test_minutes=_text(form, "test_minutes"),
            eligibility=[
                (
                    _text(form, f"eligibility_text_{n}"),
                    _text(form, f"eligibility_answer_{n}", "yes"),
                )
                for n in range(ELIGIBILITY_ROWS)
            ],
            posting_days=_text(form, "posting_days"),
        )


@dataclass
class QuestionInput:
    domain: str = ""
    competency: str = ""
    difficulty: str = "2"
    stem: str = ""
    options: list[str] = field(default_factory=list)
    correct: str = ""

    @classmethod
    def from_form(cls, form: Any) -> QuestionInput:
        """Return what the bank's question form (a multi-dict) sent: up to six options."""
        return cls(
            domain=_text(form, "domain"),
            competency=_text(form, "competency"),
            difficulty=_text(form, "difficulty"),
            stem=_text(form, "stem"),
            options=[_text(form, f"option_{n}") for n in range(1, 7)],
            correct=_text(form, "correct"),
        )


@dataclass
class ApplicationInput:
    """What the application form sends: eligibility answers and evidence per competency."""

    answers: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(
        cls, form: Any, *, eligibility: list[dict], criteria: list[dict]
    ) -> ApplicationInput:
        """Return what the application form sent for the vacancy's questions and criteria."""
        return cls(
            answers={q["key"]: _text(form, f"answer_{q['key']}") for q in eligibility},
            evidence={
                c["competency"]: _text(form, f"evidence_{c['competency']}") for c in criteria
            },
        )


class RegistrationForm(BaseModel):
    """An external candidate registering (the public form)."""

    first_name: str = ""
    last_names: str = ""
    email: str = ""
    password: str = ""
    password_again: str = ""

    def values(self) -> dict[str, str]:
        """What the form shows again when refused (never the passwords)."""
        return {"first_name": self.first_name, "last_names": self.last_names, "email": self.email}


# --- the JSON API -------------------------------------------------------------------------------


class VacancySummaryOut(BaseModel):
    id: int
    reference: str
    title: str
    status: str
    open: bool
    closes_at: str | None
    notice_sha256: str


class NoticeOut(BaseModel):
    reference: str
    status: str
    notice_sha256: str
    notice: dict
    amendments: list[dict]


class MeritEntryOut(BaseModel):
    rank: int | None
    application_id: int
    candidate: str
    internal: bool
    test: float | None
    sift: float | None
    interview: float | None
    total: float | None
    out_stage: str


class MeritListOut(BaseModel):
    reference: str
    version: int
    sha256: str
    entries: list[MeritEntryOut]


class FlagOut(BaseModel):
    code: str
    severity: str
    detail: str
    member_user_id: int | None


class CompetitionFlagsOut(BaseModel):
    vacancy_id: int
    reference: str
    status: str
    flags: list[FlagOut]


def declarations_from_form(form: Any) -> tuple[dict[int, tuple[bool, str]], dict[str, str]]:
    """Return a member's conflict declarations ({application id: (conflicted, note)}) and what
    was typed, from the declarations form (`conflict_<id>` yes/no, `note_<id>`)."""
    decisions: dict[int, tuple[bool, str]] = {}
    values: dict[str, str] = {}
    for key in form:
        if key.startswith("conflict_") and key[len("conflict_") :].isdigit():
            application_id = int(key[len("conflict_") :])
            choice = _text(form, key)
            note = _text(form, f"note_{application_id}")
            values[key], values[f"note_{application_id}"] = choice, note
            if choice in ("yes", "no"):
                decisions[application_id] = (choice == "yes", note)
    return decisions, values


RELATIONS = ("former_colleague", "acquaintance", "other")


def relations_from_form(form: Any) -> dict[int, str]:
    """Return {application id: relation} a member declared without a conflict (`relation_<id>`:
    former_colleague, acquaintance, other; anything else is no relation)."""
    found = {}
    for key in form:
        if key.startswith("relation_") and key[len("relation_") :].isdigit():
            value = _text(form, key)
            if value in RELATIONS:
                found[int(key[len("relation_") :])] = value
    return found


def scores_from_form(form: Any, codes: list[str]) -> dict[str, tuple[str, str]]:
    """Return {competency code: (score, note) as typed} from a member's score sheet."""
    return {code: (_text(form, f"score_{code}"), _text(form, f"note_{code}")) for code in codes}


def _option(value: Any) -> int | None:
    text = str(value or "").strip()
    # ASCII only: str.isdigit() takes "²", which int() refuses.
    return int(text) if text.isascii() and text.isdigit() else None


def test_answers_from_form(form: Any, question_ids: list[int]) -> dict[int, int]:
    """Return {question id: option chosen} from the test page (`q_<id>`); unanswered or
    unreadable choices are left out."""
    answers: dict[int, int] = {}
    for question_id in question_ids:
        chosen = _option(form.get(f"q_{question_id}"))
        if chosen is not None:
            answers[question_id] = chosen
    return answers


@dataclass
class AdjustmentInput:
    """A candidate's request for reasonable adjustments, as typed (the service checks it)."""

    kinds: list[str] = field(default_factory=list)
    extra_minutes: str = ""
    extra_percent: str = ""
    details: str = ""

    @classmethod
    def from_form(cls, form: Any) -> AdjustmentInput:
        return cls(
            kinds=[str(k) for k in form.getlist("kinds")],
            extra_minutes=_text(form, "extra_minutes").strip(),
            extra_percent=_text(form, "extra_percent").strip(),
            details=_text(form, "details"),
        )


@dataclass
class DecisionInput:
    """HR's decision on a request for adjustments, as typed."""

    decision: str = ""
    granted_kinds: list[str] = field(default_factory=list)
    granted_minutes: str = ""
    reason: str = ""

    @classmethod
    def from_form(cls, form: Any) -> DecisionInput:
        return cls(
            decision=_text(form, "decision"),
            granted_kinds=[str(k) for k in form.getlist("granted_kinds")],
            granted_minutes=_text(form, "granted_minutes").strip(),
            reason=_text(form, "reason"),
        )
