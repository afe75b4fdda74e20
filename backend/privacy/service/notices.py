"""Privacy notices: one per purpose, versioned; publishing adds a version, none is changed."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.i18n import _, get_locale
from backend.privacy.models import NoticePurpose, PrivacyNotice
from backend.privacy.schemas import NoticeInput
from backend.privacy.service.common import PrivacyError

TITLE_MAX = 200
BODY_MAX = 20000


def purpose_of(value: str) -> NoticePurpose:
    """Return the purpose named in an address, or refuse with 404."""
    try:
        return NoticePurpose(value)
    except ValueError:
        raise PrivacyError(_("There is no such privacy notice."), status_code=404) from None


def current_notice(session: Session, purpose: str) -> PrivacyNotice | None:
    """Return the notice in force for `purpose` (its newest version), or None."""
    return session.exec(
        select(PrivacyNotice)
        .where(PrivacyNotice.purpose == purpose)
        .order_by(col(PrivacyNotice.version).desc())
        .limit(1)
    ).first()


def notice_versions(session: Session, purpose: str) -> list[PrivacyNotice]:
    """Every version of a purpose's notice, newest first."""
    return list(
        session.exec(
            select(PrivacyNotice)
            .where(PrivacyNotice.purpose == purpose)
            .order_by(col(PrivacyNotice.version).desc())
        ).all()
    )


def notice_version(session: Session, purpose: str, version: int) -> PrivacyNotice:
    """Return one version of a purpose's notice, or refuse with 404."""
    found = session.exec(
        select(PrivacyNotice).where(
            PrivacyNotice.purpose == purpose, PrivacyNotice.version == version
        )
    ).first()
    if found is None:
        raise PrivacyError(_("There is no such privacy notice."), status_code=404)
    return found


def current_notices(session: Session) -> dict[str, PrivacyNotice | None]:
    """The notice in force for every purpose."""
    return {purpose.value: current_notice(session, purpose) for purpose in NoticePurpose}


def notice_text(notice: PrivacyNotice) -> tuple[str, list[str]]:
    """The notice's title and paragraphs in the reader's language."""
    spanish = get_locale() == "es"
    title = notice.title_es if spanish else notice.title_en
    body = notice.body_es if spanish else notice.body_en
    paragraphs = [part.strip() for part in body.replace("\r\n", "\n").split("\n\n")]
    return title, [part for part in paragraphs if part]


def _problems(data: NoticeInput) -> dict[str, str]:
    problems: dict[str, str] = {}
    if data.purpose not in {p.value for p in NoticePurpose}:
        problems["purpose"] = _("Choose what the notice is for.")
    for name in ("title_es", "title_en"):
        value = getattr(data, name)
        if not value:
            problems[name] = _("Write the title.")
        elif len(value) > TITLE_MAX:
            problems[name] = _("At most %(max)s characters.", max=TITLE_MAX)
    for name in ("body_es", "body_en"):
        value = getattr(data, name)
        if not value:
            problems[name] = _("Write the notice.")
        elif len(value) > BODY_MAX:
            problems[name] = _("At most %(max)s characters.", max=BODY_MAX)
    return problems


def publish_notice(session: Session, *, data: NoticeInput, actor) -> PrivacyNotice:
    """Publish the next version of a purpose's notice (audited); the older stay readable."""
    problems = _problems(data)
    if problems:
        raise PrivacyError(next(iter(problems.values())), errors=problems)
    latest = session.exec(
        select(func.max(PrivacyNotice.version)).where(PrivacyNotice.purpose == data.purpose)
    ).one()
    notice = PrivacyNotice(
        purpose=data.purpose,
        version=(latest or 0) + 1,
        title_es=data.title_es,
        title_en=data.title_en,
        body_es=data.body_es,
        body_en=data.body_en,
        published_at=clock.now(),
        published_by_id=getattr(actor, "id", None),
    )
    session.add(notice)
    session.flush()
    audit.record(
        session,
        action="privacy.notice_published",
        actor=actor,
        entity_type="privacy_notice",
        entity_id=notice.id,
        after={"purpose": notice.purpose, "version": notice.version},
    )
    return notice
