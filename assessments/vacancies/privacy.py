"""The vacancies domain's part of privacy: a person's applications in their data export
(`privacy.export`) and the retention of unsuccessful candidates' data (`privacy.retention`).

Export: the candidate's account details, applications, written evidence, tests taken,
appeals and requests for reasonable adjustments; not the panel's individual scores or notes
(other people's data) nor the test's seed.

Retention: once a competition has ended (appointed or cancelled) and its reserve list has
expired, an unsuccessful application is anonymised after its period (default 2 years): the
name becomes the application's anonymous code, the written evidence is deleted and what the
candidate wrote (eligibility answers, review grounds, reasons, appeal grounds, the details of
an adjustment request and HR's reason) is blanked. The
merit list, scores and decisions stay, so the competition can still be defended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, delete, select

from assessments.vacancies.models import (
    AdjustmentRequest,
    Appeal,
    Application,
    ApplicationEvidence,
    ApplicationStatus,
    CandidateAccount,
    TestAttempt,
    Vacancy,
    VacancyStatus,
)
from backend.i18n import N_, _
from backend.privacy import service as privacy
from backend.privacy.contracts import DueRecord, ExportPart, ExportSubject, RetentionRule

BATCH = 500


def export(session: Session, person: ExportSubject) -> list[ExportPart]:
    applications = session.exec(
        select(Application)
        .where(Application.user_id == person.user_id)
        .order_by(col(Application.id))
    ).all()
    if not applications and session.get(CandidateAccount, person.user_id) is None:
        return []
    ids = [a.id for a in applications]
    titles = dict(session.exec(select(Vacancy.id, Vacancy.title)).all())
    rows = privacy.record_rows(list(applications), drop=("supervisor_employee_id",))
    for row in rows:
        row["vacancy"] = titles.get(row.get("vacancy_id"), "")
    account = session.get(CandidateAccount, person.user_id)
    parts = [ExportPart("vacancies/applications.csv", rows)]
    if account is not None:
        parts.append(
            ExportPart(
                "vacancies/candidate_account.json",
                privacy.record_rows([account], drop=("token_expires_at",))[0],
            )
        )
    evidence = session.exec(
        select(ApplicationEvidence).where(col(ApplicationEvidence.application_id).in_(ids))
    ).all()
    attempts = session.exec(
        select(TestAttempt).where(col(TestAttempt.application_id).in_(ids))
    ).all()
    appeals = session.exec(select(Appeal).where(col(Appeal.application_id).in_(ids))).all()
    adjustments = session.exec(
        select(AdjustmentRequest).where(col(AdjustmentRequest.application_id).in_(ids))
    ).all()
    parts += [
        ExportPart("vacancies/evidence.csv", privacy.record_rows(list(evidence))),
        ExportPart(
            "vacancies/tests.csv",
            privacy.record_rows(list(attempts), drop=("seed", "question_ids")),
        ),
        ExportPart(
            "vacancies/appeals.csv",
            privacy.record_rows(list(appeals), drop=("reviewer_id", "decided_by_id")),
        ),
        ExportPart(
            "vacancies/adjustments.csv",
            privacy.record_rows(list(adjustments), drop=("decided_by_id",)),
        ),
    ]
    return parts


def _ended():
    return func.coalesce(Vacancy.appointed_at, Vacancy.cancelled_at)


def due_applications(session: Session, cutoff: date) -> list[DueRecord]:
    limit = datetime.combine(cutoff, time.min, tzinfo=UTC)
    rows = session.exec(
        select(Application.id, Application.anonymous_code, Vacancy.title, _ended())
        .join(Vacancy, col(Vacancy.id) == Application.vacancy_id)
        .where(
            col(Vacancy.status).in_((VacancyStatus.appointed, VacancyStatus.cancelled)),
            _ended() < limit,
            or_(col(Vacancy.reserve_valid_until).is_(None), Vacancy.reserve_valid_until < limit),
            Application.status != ApplicationStatus.appointed,
            Application.candidate_name != Application.anonymous_code,
        )
        .order_by(col(Application.id))
        .limit(BATCH)
    ).all()
    return [
        DueRecord(str(i), _("Application %(code)s to %(vacancy)s", code=code, vacancy=title), ended)
        for i, code, title, ended in rows
    ]


def anonymise_applications(session: Session, keys: Sequence[str]) -> int:
    ids = [int(k) for k in keys]
    if not ids:
        return 0
    session.exec(
        delete(ApplicationEvidence).where(col(ApplicationEvidence.application_id).in_(ids))
    )
    session.execute(
        update(Application)
        .where(col(Application.id).in_(ids))
        .values(
            candidate_name=Application.anonymous_code,
            candidate_surnames="",
            eligibility_answers={},
            review_grounds="",
            declined_reason="",
        )
    )
    session.execute(update(Appeal).where(col(Appeal.application_id).in_(ids)).values(grounds=""))
    # What a candidate wrote about their needs (it may describe their health), and the answer.
    session.execute(
        update(AdjustmentRequest)
        .where(col(AdjustmentRequest.application_id).in_(ids))
        .values(details="", decision_reason="")
    )
    return len(ids)


def retention_rules() -> list[RetentionRule]:
    return [
        RetentionRule(
            record_type="vacancies.unsuccessful_candidates",
            label=N_("Unsuccessful candidates' applications"),
            counted_from=N_("the end of the competition (or of its reserve list)"),
            default_months=24,
            action="anonymise",
            due=due_applications,
            act=anonymise_applications,
        )
    ]
