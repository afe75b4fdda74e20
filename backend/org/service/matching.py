"""Units and positions of an import file found by code, by name, or by a close name.

A value matched by its code or its exact name (or a close match someone confirmed before and
the mapping remembers) is taken as it is. A close match (accents, case, abbreviations, a typo)
is kept aside to be confirmed before anything is written; a value that matches nothing, or
several things equally well, is a row problem naming the closest candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from backend.i18n import _
from backend.org.mapping import Candidate, Matcher
from backend.org.models import Position, Unit

KINDS = ("unit_code", "position_code")


@dataclass
class CloseMatch:
    """A value of the file that is close to, but not exactly, a unit's or position's name."""

    field: str  # unit_code | position_code
    value: str
    code: str
    label: str
    rows: int = 0
    first_line: int = 0

    @property
    def key(self) -> str:
        return f"{self.field}:{self.value}"


@dataclass
class Resolver:
    """The unit and position matchers of one check, and the close matches they found."""

    units: Matcher
    positions: Matcher
    close: dict[tuple[str, str], CloseMatch] = field(default_factory=dict)

    def resolve(
        self, kind: str, value: str, line: int, *, unit_id: int | None = None
    ) -> tuple[int | None, str]:
        """Return (id, problem message or "") for a unit or position value of one row."""
        matcher = self.units if kind == "unit_code" else self.positions
        found = matcher.match(value, unit_id=unit_id)
        if found.candidate is not None:
            if not found.exact:
                key = (kind, value)
                close = self.close.get(key)
                if close is None:
                    close = self.close[key] = CloseMatch(
                        kind, value, found.candidate.code, found.candidate.label, first_line=line
                    )
                close.rows += 1
            return found.candidate.id, ""
        if found.ambiguous:
            return None, _(
                "Several match equally well: %(candidates)s. Write the code instead.",
                candidates="; ".join(found.ambiguous),
            )
        if kind == "unit_code":
            message = _("No unit has this code or name.")
        else:
            message = _("No position has this code or title.")
        if found.closest:
            message += " " + _("Closest: %(candidates)s.", candidates="; ".join(found.closest))
        return None, message


def resolver(session: Session, remembered: dict[str, dict[str, str]] | None = None) -> Resolver:
    """Return matchers over every unit and position, with the mapping's remembered matches."""
    remembered = remembered or {}
    units = [
        Candidate(id, code, name)
        for id, code, name in session.exec(select(Unit.id, Unit.code, Unit.name)).all()
    ]
    positions = [
        Candidate(id, code, title, unit_id)
        for id, code, title, unit_id in session.exec(
            select(Position.id, Position.code, Position.title, Position.unit_id)
        ).all()
    ]
    return Resolver(
        Matcher(units, remembered.get("unit_code")),
        Matcher(positions, remembered.get("position_code")),
    )
