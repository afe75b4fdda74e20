"""Channel questionnaires: the questions an administrator adds to a channel, asked on the
report form of that channel, answered by the reporter and sealed with the report.

A questionnaire is versioned: every change publishes a new `ChannelQuestionnaire` row and
earlier versions are never changed. A report records the version it was filed with
(`Report.questionnaire_version`) and seals, with its answers, the questions as they were
asked (both languages), so it is always shown with the questions its reporter saw.

A question may depend on an earlier one ("ask only if question 2 was answered Yes"): the form
works without JavaScript, so the server decides what was asked. An answer to a question whose
condition is not met is dropped, never sealed, and a required question counts as required only
when it is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import _
from whistleblowing.models import ChannelQuestionnaire, QuestionKind, ReportChannel
from whistleblowing.service.common import ReportingError

MAX_QUESTIONS = 30
MAX_QUESTION_TEXT = 300
MAX_OPTIONS = 12
MAX_OPTION_TEXT = 120
MAX_ANSWER = 2000
# Questions others may depend on: their answers are a short list.
CONDITIONAL_KINDS = (QuestionKind.choice.value, QuestionKind.yes_no.value)


@dataclass
class QuestionInput:
    """A question as the administrator typed it. `options` has one answer a line, "Spanish |
    English"; `show_if` is "" (always asked) or "<question key>=<answer key>"."""

    kind: str = QuestionKind.text.value
    text_es: str = ""
    text_en: str = ""
    required: bool = False
    options: str = ""
    show_if: str = ""

    @classmethod
    def of(cls, question: Mapping[str, Any]) -> QuestionInput:
        """Return the form values of a stored question (to edit it)."""
        condition = question.get("show_if")
        return cls(
            kind=question["kind"],
            text_es=question["text"]["es"],
            text_en=question["text"]["en"],
            required=bool(question.get("required")),
            options="\n".join(
                f"{o['label']['es']} | {o['label']['en']}" for o in question.get("options", [])
            ),
            show_if=f"{condition['question']}={condition['answer']}" if condition else "",
        )


def yes_no_options() -> list[dict[str, Any]]:
    """Return the answers of a yes/no question, as options (their words in both languages)."""
    return [
        {"key": "yes", "label": {"es": "Sí", "en": "Yes"}},
        {"key": "no", "label": {"es": "No", "en": "No"}},
    ]


def options_of(question: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the answers a choice or yes/no question offers (none for the others)."""
    if question["kind"] == QuestionKind.yes_no.value:
        return yes_no_options()
    return list(question.get("options", []))


# --- reading ------------------------------------------------------------------------------------


# Read by every submission's check: built once.
_CURRENT = (
    select(ChannelQuestionnaire)
    .where(ChannelQuestionnaire.channel_id == bindparam("channel_id"))
    .order_by(col(ChannelQuestionnaire.version).desc())
    .limit(1)
)


def current_questionnaire(session: Session, channel_id: int) -> ChannelQuestionnaire | None:
    """Return the channel's newest questionnaire version (None: it never had questions)."""
    return session.exec(_CURRENT, params={"channel_id": channel_id}).first()


def questionnaire_versions(session: Session, channel_id: int) -> list[ChannelQuestionnaire]:
    """Return every version of the channel's questionnaire, newest first."""
    return list(
        session.exec(
            select(ChannelQuestionnaire)
            .where(ChannelQuestionnaire.channel_id == channel_id)
            .order_by(col(ChannelQuestionnaire.version).desc())
        ).all()
    )


def form_questions(questions: list[dict], channel_id: int) -> list[dict]:
    """Return the questions as the report form shows them: each with its form `field`, its
    `answers` (yes/no included) and, when it depends on another, that question's words and
    the answer's (`condition`)."""
    by_key = {q["key"]: q for q in questions}
    shown = []
    for question in questions:
        condition = question.get("show_if")
        depends = by_key.get(condition["question"]) if condition else None
        words = next(
            (
                o["label"]
                for o in (options_of(depends) if depends else [])
                if o["key"] == condition["answer"]
            ),
            None,
        )
        shown.append(
            {
                **question,
                "field": field_name(channel_id, question["key"]),
                "answers": options_of(question),
                "condition": {"question": depends["text"], "answer": words}
                if depends and words
                else None,
            }
        )
    return shown


def current_questions(session: Session, channel_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Return the questions each channel asks now, as the form shows them (`form_questions`),
    by channel id (channels asking none left out)."""
    ids = list(channel_ids)
    if not ids:
        return {}
    newest = (
        select(ChannelQuestionnaire.channel_id, func.max(ChannelQuestionnaire.version))
        .where(col(ChannelQuestionnaire.channel_id).in_(ids))
        .group_by(ChannelQuestionnaire.channel_id)
    )
    wanted = set(session.exec(newest).all())
    rows = session.exec(
        select(ChannelQuestionnaire).where(col(ChannelQuestionnaire.channel_id).in_(ids))
    ).all()
    return {
        row.channel_id: form_questions(list(row.questions), row.channel_id)
        for row in rows
        if (row.channel_id, row.version) in wanted and row.questions
    }


def condition_choices(
    questions: list[dict], *, before: str | None = None
) -> list[tuple[str, dict]]:
    """Return what a question may depend on: ("<key>=<answer>", {question, answer}) for every
    answer of the choice and yes/no questions before `before` (all of them when None)."""
    choices = []
    for question in questions:
        if question["key"] == before:
            break
        if question["kind"] in CONDITIONAL_KINDS:
            for option in options_of(question):
                choices.append(
                    (
                        f"{question['key']}={option['key']}",
                        {"question": question["text"], "answer": option["label"]},
                    )
                )
    return choices


# --- publishing ---------------------------------------------------------------------------------


def _next_key(session: Session, channel_id: int) -> str:
    """Return a key no version of the channel's questionnaire ever used."""
    used = [
        int(q["key"][1:])
        for row in questionnaire_versions(session, channel_id)
        for q in row.questions
        if q["key"][1:].isdigit()
    ]
    return f"q{max(used, default=0) + 1}"


def _parse_options(text: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    options = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        spanish, _sep, english = (part.strip() for part in line.partition("|"))
        if not spanish or not english:
            errors["options"] = _(
                "Write each answer on its own line, in Spanish and English: Sí | Yes."
            )
            return []
        if len(spanish) > MAX_OPTION_TEXT or len(english) > MAX_OPTION_TEXT:
            errors["options"] = _(
                "An answer is too long (at most %(n)s characters).", n=MAX_OPTION_TEXT
            )
            return []
        options.append({"key": str(len(options) + 1), "label": {"es": spanish, "en": english}})
    if len(options) < 2:
        errors["options"] = _("Give at least two answers to choose from.")
    elif len(options) > MAX_OPTIONS:
        errors["options"] = _("Give at most %(n)s answers.", n=MAX_OPTIONS)
    return options


def _build_question(data: QuestionInput, key: str, earlier: list[dict]) -> dict[str, Any]:
    """Return the stored question for what was typed; refuses, by field, what is wrong."""
    errors: dict[str, str] = {}
    if data.kind not in QuestionKind.__members__:
        errors["kind"] = _("Choose the kind of answer.")
    for name in ("text_es", "text_en"):
        text = getattr(data, name).strip()
        if not text:
            errors[name] = _("Write the question in both languages.")
        elif len(text) > MAX_QUESTION_TEXT:
            errors[name] = _(
                "This text is too long (at most %(n)s characters).", n=MAX_QUESTION_TEXT
            )
    options = _parse_options(data.options, errors) if data.kind == QuestionKind.choice.value else []
    show_if = None
    if data.show_if:
        allowed = dict(condition_choices(earlier))
        if data.show_if not in allowed:
            errors["show_if"] = _("Choose an answer to an earlier question from the list.")
        else:
            question, _sep, answer = data.show_if.partition("=")
            show_if = {"question": question, "answer": answer}
    if errors:
        raise ReportingError(next(iter(errors.values())), errors=errors)
    return {
        "key": key,
        "kind": data.kind,
        "text": {"es": data.text_es.strip(), "en": data.text_en.strip()},
        "required": data.required,
        "options": options,
        "show_if": show_if,
    }


def _check_conditions(questions: list[dict]) -> None:
    """Refuse a questionnaire where a question depends on one that is not before it, or on
    an answer that question no longer offers."""
    for index, question in enumerate(questions):
        condition = question.get("show_if")
        if not condition:
            continue
        allowed = {value for value, _label in condition_choices(questions[:index])}
        if f"{condition['question']}={condition['answer']}" not in allowed:
            raise ReportingError(
                _(
                    "Another question is asked only after an answer this change would remove: "
                    "change that question first."
                ),
                field="questions",
                status_code=409,
            )


def _publish(
    session: Session, *, channel: ReportChannel, actor: User, questions: list[dict], today: date
) -> ChannelQuestionnaire:
    _check_conditions(questions)
    current = current_questionnaire(session, channel.id)
    version = ChannelQuestionnaire(
        channel_id=channel.id,
        version=(current.version if current else 0) + 1,
        questions=questions,
        published_on=today,
        published_by_id=actor.id,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        action="report_channel.questionnaire_published",
        actor=actor,
        entity_type="report_channel",
        entity_id=channel.code,
        before={"version": current.version, "questions": len(current.questions)}
        if current
        else None,
        after={"version": version.version, "questions": len(questions)},
    )
    return version


def _questions_now(session: Session, channel: ReportChannel) -> list[dict]:
    current = current_questionnaire(session, channel.id)
    return [dict(q) for q in current.questions] if current else []


def add_question(
    session: Session, *, channel: ReportChannel, actor: User, data: QuestionInput, today: date
) -> ChannelQuestionnaire:
    """Add a question at the end of the channel's questionnaire: publishes a new version."""
    questions = _questions_now(session, channel)
    if len(questions) >= MAX_QUESTIONS:
        raise ReportingError(
            _("A channel asks at most %(n)s questions.", n=MAX_QUESTIONS), status_code=409
        )
    questions.append(_build_question(data, _next_key(session, channel.id), questions))
    return _publish(session, channel=channel, actor=actor, questions=questions, today=today)


def _index_of(questions: list[dict], key: str) -> int:
    for index, question in enumerate(questions):
        if question["key"] == key:
            return index
    raise ReportingError(_("This question does not exist."), status_code=404)


def edit_question(
    session: Session,
    *,
    channel: ReportChannel,
    actor: User,
    key: str,
    data: QuestionInput,
    today: date,
) -> ChannelQuestionnaire:
    """Change one question: publishes a new version (reports keep the version they had)."""
    questions = _questions_now(session, channel)
    index = _index_of(questions, key)
    changed = _build_question(data, key, questions[:index])
    if changed == questions[index]:
        raise ReportingError(_("Nothing was changed."), field="text_es", status_code=409)
    questions[index] = changed
    return _publish(session, channel=channel, actor=actor, questions=questions, today=today)


def remove_question(
    session: Session, *, channel: ReportChannel, actor: User, key: str, today: date
) -> ChannelQuestionnaire:
    """Stop asking a question: publishes a new version without it."""
    questions = _questions_now(session, channel)
    del questions[_index_of(questions, key)]
    return _publish(session, channel=channel, actor=actor, questions=questions, today=today)


# --- answering ----------------------------------------------------------------------------------


def field_name(channel_id: int, key: str) -> str:
    """Return the report form's field of a channel's question."""
    return f"q-{channel_id}-{key}"


def _clean(question: dict, raw: str) -> tuple[str, str | None]:
    """Return (the answer as stored, the problem or None) for what was typed."""
    value = raw.strip()
    if not value:
        return "", None
    kind = question["kind"]
    if kind == QuestionKind.text.value:
        if len(value) > MAX_ANSWER:
            return "", _("This text is too long (at most %(n)s characters).", n=MAX_ANSWER)
        return value, None
    if kind == QuestionKind.date.value:
        try:
            return date.fromisoformat(value).isoformat(), None
        except ValueError:
            return "", _("Enter the day as YYYY-MM-DD.")
    if value not in {o["key"] for o in options_of(question)}:
        return "", _("Choose one of the answers.")
    return value, None


def check_answers(
    questions: list[dict], typed: Mapping[str, str], *, channel_id: int
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (the answers to the questions asked, by key; the problems, by form field).

    `typed` holds what the form sent, by question key. A question is asked when it has no
    condition, or when the question it depends on was asked and got the answer named; what
    was typed for a question not asked is dropped.
    """
    answers: dict[str, str] = {}
    asked: set[str] = set()
    errors: dict[str, str] = {}
    for question in questions:
        condition = question.get("show_if")
        if condition and (
            condition["question"] not in asked
            or answers.get(condition["question"]) != condition["answer"]
        ):
            continue
        key = question["key"]
        asked.add(key)
        value, problem = _clean(question, str(typed.get(key, "")))
        if problem:
            errors[field_name(channel_id, key)] = problem
        elif not value and question.get("required"):
            errors[field_name(channel_id, key)] = _("Answer this question.")
        answers[key] = value
    return answers, errors


def sealed_answers(questionnaire: ChannelQuestionnaire, answers: Mapping[str, str]) -> dict:
    """Return what the report seals of its questionnaire: the version, and every question
    asked as it was worded, with its answer (and the answer's words, for a choice)."""
    asked = []
    for question in questionnaire.questions:
        if question["key"] not in answers:
            continue
        value = answers[question["key"]]
        words = next(
            (o["label"] for o in options_of(question) if o["key"] == value and value), None
        )
        asked.append(
            {
                "key": question["key"],
                "kind": question["kind"],
                "question": question["text"],
                "answer": value,
                "answer_words": words,
            }
        )
    return {"version": questionnaire.version, "answers": asked}
