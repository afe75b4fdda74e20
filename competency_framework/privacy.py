"""What the competencies domain holds about a person, for their data export (`privacy.export`).

Every rating recorded for the employee (self-assessments, supervisors' ratings, imports,
training results) and their current rating per competency. Who recorded a rating stays out:
that is another person's data. Ratings are the employee's standing record for their
employment, so the domain declares no retention rule of its own.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.privacy import service as privacy
from backend.privacy.contracts import ExportPart, ExportSubject
from competency_framework.models import Competency, CurrentRating, RatingEntry


def export(session: Session, person: ExportSubject) -> list[ExportPart]:
    if person.employee_id is None:
        return []
    codes = dict(session.exec(select(Competency.id, Competency.code)).all())
    entries = session.exec(
        select(RatingEntry)
        .where(RatingEntry.employee_id == person.employee_id)
        .order_by(col(RatingEntry.id))
    ).all()
    current = session.exec(
        select(CurrentRating).where(CurrentRating.employee_id == person.employee_id)
    ).all()
    history = privacy.record_rows(list(entries), drop=("recorded_by_id",))
    latest = privacy.record_rows(list(current))
    for row in (*history, *latest):
        row["competency"] = codes.get(row.get("competency_id"), "")
    return [
        ExportPart("competencies/rating_history.csv", history),
        ExportPart("competencies/current_ratings.csv", latest),
    ]
