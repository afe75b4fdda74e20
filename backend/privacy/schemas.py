"""What the privacy pages accept, parsed at the edge (forms are trimmed; the service checks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoticeInput:
    """A new version of a privacy notice, in both languages."""

    purpose: str
    title_es: str
    title_en: str
    body_es: str
    body_en: str

    @classmethod
    def parse(cls, **fields: str) -> NoticeInput:
        return cls(**{name: (value or "").strip() for name, value in fields.items()})


@dataclass(frozen=True)
class ArcoInput:
    """A person's ARCO request: which right, about what, and the details."""

    kind: str
    subject: str
    details: str

    @classmethod
    def parse(cls, **fields: str) -> ArcoInput:
        return cls(**{name: (value or "").strip() for name, value in fields.items()})


@dataclass(frozen=True)
class ArcoAnswerInput:
    """HR's answer: the decision, its reason and, where the request asked for it, the change.

    `first_name`/`last_name`: the corrected name of a rectification; `close_account`: a granted
    cancellation closes the person's account.
    """

    decision: str
    answer: str
    first_name: str = ""
    last_name: str = ""
    close_account: bool = False

    @classmethod
    def parse(
        cls, *, decision: str, answer: str, first_name: str, last_name: str, close_account: str
    ) -> ArcoAnswerInput:
        return cls(
            decision=(decision or "").strip(),
            answer=(answer or "").strip(),
            first_name=(first_name or "").strip(),
            last_name=(last_name or "").strip(),
            close_account=close_account in {"1", "on", "true", "yes"},
        )
