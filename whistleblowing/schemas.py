"""The reporting channel's inputs: forms parsed at the edge.

A route turns the posted form into one of these (`from_form`) and hands typed values to the
service, which checks the rules and says by field what is wrong. `values()` is what the form
shows again when it is refused (what was typed, as typed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator

from backend.deps import FieldError, form_id, form_ids, form_int, id_or_none
from backend.i18n import _

if TYPE_CHECKING:
    from whistleblowing.service.common import Upload

# The free-text answers of the report form.
REPORT_TEXTS = ("what", "when", "where", "who", "how_known", "identity", "form_token")


def _text(form: Any, key: str, default: str = "") -> str:
    value = form.get(key, default)
    return value if isinstance(value, str) else default


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass
class ReportForm:
    """The report form: online (anonymous) or entered by an investigator (`received_via`,
    `received_on`). `problems` are values refused while parsing, by field."""

    channel: str = ""
    what: str = ""
    when: str = ""
    where: str = ""
    who: str = ""
    how_known: str = ""
    identity: str = ""
    form_token: str = ""
    red_flags: list[str] = field(default_factory=list)
    others_know: str = "unsure"
    excluded: list[int] = field(default_factory=list)
    good_faith: bool = False
    received_via: str = ""
    received_on: str = ""
    channel_id: int | None = None
    received_day: date | None = None
    problems: dict[str, str] = field(default_factory=dict)
    # The channel questionnaires' fields as typed ("q-<channel id>-<question key>": value).
    questions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Any, *, staff: bool = False) -> ReportForm:
        """Return what the form (a multi-dict) sent. The anonymous form drops ids that name no
        record, as unknown ones are; the staff form refuses them by name."""
        parsed = cls(
            **{key: _text(form, key) for key in REPORT_TEXTS},
            channel=_text(form, "channel"),
            red_flags=[v for v in form.getlist("red_flags") if isinstance(v, str)],
            others_know=_text(form, "others_know", "unsure") or "unsure",
            good_faith=form.get("good_faith") == "yes",
            questions={
                key: value
                for key, value in form.items()
                if key.startswith("q-") and isinstance(value, str) and len(key) <= 40
            },
        )
        if not staff:
            parsed.channel_id = id_or_none(parsed.channel)
            found = (id_or_none(v) for v in form.getlist("excluded"))
            parsed.excluded = [i for i in found if i is not None]
            return parsed
        parsed.received_via = _text(form, "received_via")
        parsed.received_on = _text(form, "received_on")
        parsed.received_day = _day(parsed.received_on)
        if parsed.received_on and parsed.received_day is None:
            parsed.problems["received_on"] = _("Enter the day as YYYY-MM-DD.")
        try:
            parsed.excluded = form_ids(form.getlist("excluded"), field="excluded")
            parsed.channel_id = form_id(parsed.channel, field="channel")
        except FieldError as err:
            parsed.problems[err.field] = err.message
        return parsed

    def submitted(self) -> dict[str, Any]:
        """The typed answers, as the service's `Submission` takes them (files aside)."""
        answers = {key: getattr(self, key) for key in REPORT_TEXTS}
        return {
            **answers,
            "channel_id": self.channel_id,
            "red_flags": self.red_flags,
            "others_know": self.others_know,
            "excluded_user_ids": self.excluded,
            "good_faith": self.good_faith,
            "answers": self.answers(),
        }

    def answers(self) -> dict[str, str]:
        """What was typed for the chosen channel's questions, by question key."""
        prefix = f"q-{self.channel_id}-"
        return {
            name.removeprefix(prefix): value
            for name, value in self.questions.items()
            if self.channel_id is not None and name.startswith(prefix)
        }

    def values(self) -> dict[str, Any]:
        """What the form shows again when it is refused."""
        shown = {key: getattr(self, key) for key in REPORT_TEXTS}
        shown.update(
            channel=self.channel,
            red_flags=self.red_flags,
            others_know=self.others_know,
            excluded=self.excluded,
            good_faith=self.good_faith,
            received_via=self.received_via,
            received_on=self.received_on,
            questions=self.questions,
        )
        return shown


CHANNEL_TEXTS = ("code", "name_es", "name_en", "description_es", "description_en")


@dataclass
class ChannelForm:
    """The administrators' channel form. Refused numbers (the order, recipients that are not
    ids) raise FieldError while parsing, as the form's validation page."""

    code: str = ""
    name_es: str = ""
    name_en: str = ""
    description_es: str = ""
    description_en: str = ""
    is_active: bool = False
    order: int = 100
    recipients: list[int] = field(default_factory=list)
    lead: str = ""
    deputy: str = ""

    @classmethod
    def from_form(cls, form: Any) -> ChannelForm:
        """Return what the channel form (a multi-dict) sent."""
        return cls(
            **{key: _text(form, key) for key in CHANNEL_TEXTS},
            is_active=form.get("is_active") == "yes",
            order=form_int(_text(form, "order", "100") or "100", field="order"),
            recipients=form_ids(form.getlist("recipients"), field="recipients"),
            lead=_text(form, "lead"),
            deputy=_text(form, "deputy"),
        )

    def channel(self) -> dict[str, Any]:
        """The channel's own fields, as the service's `save_channel` takes them."""
        fields = {key: getattr(self, key) for key in CHANNEL_TEXTS}
        return {**fields, "is_active": self.is_active, "order": self.order}

    def values(self) -> dict[str, Any]:
        """What the form shows again when it is refused."""
        return {**self.channel(), "lead": self.lead, "deputy": self.deputy}


# --- retaliation complaints -------------------------------------------------------------------

# Act lines on the complaint form (the form works without JavaScript).
ACT_ROWS = 4


# A checkbox or radio button posted as "yes": ticked; anything else (or nothing): not ticked.
Ticked = Annotated[bool, BeforeValidator(lambda value: value == "yes")]


@dataclass
class AllegedAct:
    """One thing the complainant says was done to them."""

    kind: str
    on: date | None
    description: str = ""


@dataclass
class ComplaintInput:
    """What a complainant filled in."""

    acts: list[AllegedAct]
    narrative: str
    evidence: list[Upload] = field(default_factory=list)
    # Identified complaints: the report that is protected (its reference, or the day a report
    # was made elsewhere, e.g. to an external authority).
    report_reference: str = ""
    reported_on: date | None = None
    # Receipt complaints: optional name or contact details, sealed like everything else.
    identity: str = ""
    # The complainant confirmed acts dated before the protected report (they are questioned
    # once: such an act is usually not retaliation for it, but may be part of a longer story).
    keep_early_acts: bool = False


@dataclass
class ComplaintForm:
    """The complaint form as posted: the complaint, what to show again, and the days that
    could not be read (by field)."""

    data: ComplaintInput
    values: dict[str, Any]
    errors: dict[str, str]

    @staticmethod
    def blank() -> dict[str, Any]:
        """Return the values of an empty form."""
        return {
            "acts": [{"kind": "", "on": "", "text": ""} for _ in range(ACT_ROWS)],
            "narrative": "",
            "report_reference": "",
            "reported_on": "",
            "identity": "",
        }

    @classmethod
    def parse(cls, form: Any, evidence: list[Upload]) -> ComplaintForm:
        """Return the complaint a submitted form (a multi-dict) holds, with its files."""
        acts, rows, errors = [], [], {}
        for index in range(ACT_ROWS):
            kind, day, text = (
                _text(form, f"act_{index}{suffix}") for suffix in ("", "_on", "_text")
            )
            rows.append({"kind": kind, "on": day, "text": text})
            if kind:
                if day and _day(day) is None:
                    errors["acts"] = _("Enter the days as YYYY-MM-DD.")
                acts.append(AllegedAct(kind, _day(day), text.strip()))
        values = {"acts": rows} | {
            key: _text(form, key)
            for key in ("narrative", "report_reference", "reported_on", "identity")
        }
        reported_on = _day(values["reported_on"])
        if values["reported_on"] and reported_on is None:
            errors["reported_on"] = _("Enter the day as YYYY-MM-DD.")
        data = ComplaintInput(
            acts=acts,
            narrative=values["narrative"],
            evidence=evidence,
            report_reference=values["report_reference"],
            reported_on=reported_on,
            identity=values["identity"],
            keep_early_acts=form.get("keep_early_acts") == "yes",
        )
        return cls(data, values, errors)


class AssessmentForm(BaseModel):
    """The prima facie assessment: three findings and the reasons."""

    protected_report: Ticked = False
    detriment: Ticked = False
    timing: Ticked = False
    reason: str = ""


class MeasureForm(BaseModel):
    """An interim protective measure; the days as typed."""

    kind: str = ""
    details: str = ""
    starts_on: str = ""
    ends_on: str = ""

    @property
    def first_day(self) -> date | None:
        return _day(self.starts_on)

    @property
    def last_day(self) -> date | None:
        return _day(self.ends_on)

    @property
    def last_day_unreadable(self) -> bool:
        return bool(self.ends_on.strip()) and self.last_day is None

    def shown(self) -> dict[str, str]:
        """What the complaint's page shows again in the measure's form."""
        return {"form": "measure", **self.model_dump()}


class DeterminationForm(BaseModel):
    """Was there retaliation, and why."""

    established: Ticked = False
    reason: str = ""


class RemedyForm(BaseModel):
    kind: str = ""
    details: str = ""


class ClosingForm(BaseModel):
    """Closing a complaint; the months of HR watch after it as typed."""

    reason: str = ""
    withdrawn: Ticked = False
    monitoring_months: str = ""

    def months(self, default: int) -> int:
        """Return the months typed (`default` when blank); refuses what is not a number."""
        months = form_int(self.monitoring_months, field="monitoring_months")
        return default if months is None else months

    def shown(self) -> dict[str, str]:
        return {
            "form": "close",
            "close_reason": self.reason,
            "monitoring_months": self.monitoring_months,
        }


class WatchForm(BaseModel):
    """Putting an employee (their number) under HR watch since the day of the protected
    report; ending a watch posts the number alone."""

    employee: str = ""
    since: str = ""

    @property
    def since_day(self) -> date | None:
        return _day(self.since)


@dataclass
class MessageForm:
    """A message or a note on a complaint, with its files; `to_complainant`: an officer's
    message the complainant reads (else an internal note)."""

    text: str
    files: list[Upload] = field(default_factory=list)
    to_complainant: bool = False

    @classmethod
    def parse(cls, form: Any, files: list[Upload]) -> MessageForm:
        """Return the message a submitted form (a multi-dict) holds, with its files."""
        return cls(_text(form, "text"), files, form.get("kind") == "officer_message")


# --- external authorities on the channel page -------------------------------------------------

AUTHORITY_FIELDS = (
    "name_es",
    "name_en",
    "description_es",
    "description_en",
    "url",
    "phone",
    "email",
)


@dataclass
class AuthorityForm:
    """The administrators' form for a competent authority listed on the channel page."""

    values_typed: dict[str, str] = field(default_factory=dict)
    is_active: bool = False
    order: int = 100

    @classmethod
    def from_form(cls, form: Any) -> AuthorityForm:
        return cls(
            values_typed={key: _text(form, key) for key in AUTHORITY_FIELDS},
            is_active=form.get("is_active") == "yes",
            order=form_int(_text(form, "order", "100") or "100", field="order"),
        )

    def authority(self) -> dict[str, Any]:
        """The values, as the service's `save_authority` takes them."""
        return {**self.values_typed, "is_active": self.is_active, "order": self.order}

    def values(self) -> dict[str, Any]:
        """What the form shows again when it is refused."""
        return self.authority()
