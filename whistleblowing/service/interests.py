"""Whether a text names a person or touches someone's declared interests: who is kept out
of a report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.org import service as org_service
from whistleblowing.models import (
    DeclaredInterest,
)

# Words that are part of names but say nothing about who is meant ("María de la Cruz").
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "do"})


def _words(text: str) -> list[str]:
    """Return the words of `text`, lower-case and without accents (for matching names)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.findall(r"\w+", plain)


def _significant_words(text: str) -> list[str]:
    """Return the words of `text` that can tell a name apart: no particles, no initials (so
    "María de la Cruz" and "Juan P. Pérez" read as "maría cruz" and "juan pérez")."""
    return [w for w in _words(text) if w not in _NAME_PARTICLES and len(w) > 1]


def _mentions(words: Sequence[str], forms: Iterable[tuple[str, ...]]) -> bool:
    """Return whether any of the word sequences `forms` occurs in `words`."""
    for form in forms:
        size = len(form)
        if size and any(tuple(words[i : i + size]) == form for i in range(len(words) - size + 1)):
            return True
    return False


def _name_forms(full_name: str) -> set[tuple[str, ...]]:
    """Return the ways a person's name may be written: in full either way round, or the given
    name next to one of the surnames (empty for a name of fewer than two words)."""
    parts = _significant_words(full_name)
    if len(parts) < 2:
        return set()
    forms = {tuple(parts), tuple(reversed(parts))}
    for surname in parts[1:]:
        forms |= {(parts[0], surname), (surname, parts[0])}
    return forms


def names_person(text: str, *, full_name: str, email: str = "") -> bool:
    """Return whether `text` names the person: their full name (either order), their given
    name next to one of their surnames, or their email address.

    Deliberately generous: a person wrongly matched only loses access to one report, while a
    person named and missed would read a report about themselves.
    """
    if email and email.casefold() in text.casefold():
        return True
    return _mentions(_significant_words(text), _name_forms(full_name))


def named_in(texts: Sequence[str], people: Iterable[User]) -> set[int]:
    """Return the ids of the people that any of `texts` names."""
    joined = "\n".join(texts)
    return {u.id for u in people if names_person(joined, full_name=u.full_name, email=u.email)}


def interest_forms(term: str) -> set[tuple[str, ...]]:
    """Return how a declared interest may appear in a report: its words in order or in reverse
    ("Pérez Juan"), ignoring accents, capitals, particles and initials."""
    words = _significant_words(term)
    return {tuple(words), tuple(reversed(words))} if words else set()


def _interest_labels(session: Session, register: DeclaredInterest) -> list[str]:
    """Return what an investigator declared: their terms and the names of their units."""
    labels = list(register.terms)
    for unit_id in register.unit_ids:
        unit = org_service.get_unit(session, unit_id)
        if unit is not None:
            labels.append(unit.name)
    return labels


_DECLARED = select(DeclaredInterest).where(
    col(DeclaredInterest.user_id).in_(bindparam("user_ids", expanding=True))
)


def interests_touched(
    session: Session, texts: Sequence[str], people: Iterable[User]
) -> dict[int, list[str]]:
    """Return, for each of `people` whose declared interests (terms, or their units' names)
    `texts` mention, the interests mentioned.

    Runs on the report's plain text while it is in memory at submission (and on the decrypted
    text when someone is given the case later); nothing of the match is stored in clear.
    Generous like `names_person`: a wrong match costs one investigator one report.
    """
    people = {u.id: u for u in people}
    if not people:
        return {}
    words = _significant_words("\n".join(texts))
    touched: dict[int, list[str]] = {}
    for register in session.exec(_DECLARED, params={"user_ids": list(people)}).all():
        found = [
            label
            for label in _interest_labels(session, register)
            if _mentions(words, interest_forms(label))
        ]
        if found:
            touched[register.user_id] = found
    return touched
